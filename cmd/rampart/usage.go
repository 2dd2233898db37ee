package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// runUsage reads the usage counters through the admin API:
// `rampart usage [--admin ADDR] [--since DUR | --from T --to T]
// [--granularity hour|day|month|total] [--by key,team,model] [--key K]
// [--team T] [--model M] [--json]`. The admin token, when the admin
// listener needs one, comes from RAMPART_ADMIN_TOKEN.
func runUsage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("usage", stderr)
	admin := fs.String("admin", "127.0.0.1:9090", "admin listener address (host:port or URL)")
	since := fs.Duration("since", 24*time.Hour, "the last DUR, such as 1h or 720h (ignored with --from)")
	from := fs.String("from", "", "start, RFC 3339 (inclusive, rounded down to the hour)")
	to := fs.String("to", "", "end, RFC 3339 (exclusive; default now)")
	gran := fs.String("granularity", "day", "hour, day, month or total")
	by := fs.String("by", "", "group by key, team and/or model, comma separated")
	key := fs.String("key", "", "only this API key id (or principal)")
	team := fs.String("team", "", "only this team")
	model := fs.String("model", "", "only this model")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *since <= 0 && *from == "" {
		return errors.New("--since must be positive")
	}
	q := url.Values{"granularity": {*gran}}
	if *from != "" {
		q.Set("from", *from)
	} else {
		q.Set("from", time.Now().Add(-*since).UTC().Format(time.RFC3339))
	}
	for name, v := range map[string]string{"to": *to, "group_by": *by, "key": *key, "team": *team, "model": *model} {
		if v != "" {
			q.Set(name, v)
		}
	}
	base := *admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/v1/usage?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if tok := os.Getenv("RAMPART_ADMIN_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("admin API answered %d: %s", resp.StatusCode, e.Error.Message)
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var out struct {
		Usage []struct {
			Bucket           *time.Time `json:"bucket"`
			Key              string     `json:"key"`
			Team             string     `json:"team"`
			Model            string     `json:"model"`
			Requests         int64      `json:"requests"`
			Errors           int64      `json:"errors"`
			PromptTokens     int64      `json:"prompt_tokens"`
			CachedTokens     int64      `json:"cached_tokens"`
			CompletionTokens int64      `json:"completion_tokens"`
			ReasoningTokens  int64      `json:"reasoning_tokens"`
			TotalTokens      int64      `json:"total_tokens"`
			Cost             float64    `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PERIOD\tKEY\tTEAM\tMODEL\tREQUESTS\tERRORS\tPROMPT\tCACHED\tCOMPLETION\tREASONING\tTOTAL\tCOST")
	for _, r := range out.Usage {
		period := "total"
		if r.Bucket != nil {
			period = r.Bucket.UTC().Format(periodLayout(*gran))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.6f\n", period, dash(r.Key), dash(r.Team), dash(r.Model),
			r.Requests, r.Errors, r.PromptTokens, r.CachedTokens, r.CompletionTokens, r.ReasoningTokens, r.TotalTokens, r.Cost)
	}
	return tw.Flush()
}

// periodLayout formats a bucket of the given granularity.
func periodLayout(granularity string) string {
	switch granularity {
	case "hour":
		return "2006-01-02T15Z"
	case "month":
		return "2006-01"
	}
	return "2006-01-02"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
