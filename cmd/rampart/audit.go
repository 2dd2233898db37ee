package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// runAudit reads the audit trail from the store:
// `rampart audit [-c FILE | --data DIR | --db FILE] [--request-id ID] [--since DUR]
// [--principal P] [--model M] [--status N] [--limit N] [--newest] [--jsonl]`.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", stderr)
	data := fs.String("data", "rampart-data", "data folder; the store is DIR/rampart.db")
	db := fs.String("db", "", "SQLite file of the store (overrides --data)")
	cfgFile := fs.String("c", "", "configuration file whose store to read (PostgreSQL included)")
	var f store.AuditFilter
	fs.StringVar(&f.RequestID, "request-id", "", "the record of this request (its X-Request-Id)")
	since := fs.Duration("since", 0, "only records of the last DUR, such as 1h")
	fs.StringVar(&f.PrincipalID, "principal", "", "only this principal id")
	fs.StringVar(&f.Model, "model", "", "only this model, requested or served")
	fs.IntVar(&f.Status, "status", 0, "only this HTTP status")
	fs.IntVar(&f.Limit, "limit", 100, "at most N records (up to 1000)")
	fs.BoolVar(&f.Newest, "newest", false, "newest records first (the default is oldest first)")
	jsonl := fs.Bool("jsonl", false, "print JSON lines instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *since < 0 {
		return errors.New("--since must not be negative")
	}
	if *since > 0 {
		f.From = time.Now().Add(-*since)
	}
	dsn, path := "", *db
	if *cfgFile != "" {
		cfg, err := loadConfig(*cfgFile, stderr)
		if err != nil {
			return err
		}
		dsn, path = cfg.Store.Postgres, cfg.SQLitePath()
	} else if path == "" {
		path = filepath.Join(*data, "rampart.db")
	}
	if dsn == "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("audit: no store at %s: %w", path, err)
		}
	}
	st, err := store.Open(ctx, dsn, path)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, next, err := st.Audit().Query(ctx, f)
	if err != nil {
		return err
	}
	if next != "" {
		// Said on stderr, so that --jsonl output stays records only.
		order := "newest"
		if f.Newest {
			order = "oldest"
		}
		fmt.Fprintf(stderr, "audit: more records match than the %d shown; raise --limit (up to 1000) or narrow the filter (the %s ones are not shown)\n", len(recs), order)
	}
	if *jsonl {
		enc := json.NewEncoder(stdout)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST ID\tPRINCIPAL\tMODEL\tUPSTREAM\tSTATUS\tOUTCOME\tTOKENS\tDURATION")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n",
			r.Time.UTC().Format(time.RFC3339), r.RequestID, r.Principal.ID, r.ModelRequested,
			r.Upstream, r.Status, r.Outcome, r.Usage.TotalTokens, r.Duration.Round(time.Millisecond))
	}
	return tw.Flush()
}
