package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"time"
)

func runKill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return killVerb(ctx, "kill", args, stdout, stderr)
}

func runRevive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return killVerb(ctx, "revive", args, stdout, stderr)
}

// killVerb flips the kill switch through the admin API:
// `rampart kill TARGET [--reason TEXT] [--force] [--admin ADDR]` and
// `rampart revive TARGET [--admin ADDR]`. The admin token, when the admin
// listener needs one, comes from RAMPART_ADMIN_TOKEN.
func killVerb(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(verb, stderr)
	admin := fs.String("admin", "127.0.0.1:9090", "admin listener address (host:port or URL)")
	reason, force := "", false
	if verb == "kill" {
		fs.StringVar(&reason, "reason", "", "why, recorded with the kill")
		fs.BoolVar(&force, "force", false, "kill a target that names no upstream, route or model of the gateway's configuration")
	}
	// The target may come before or after the flags.
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if target == "" {
		target = fs.Arg(0)
	}
	if target == "" {
		return fmt.Errorf("usage: rampart %s TARGET (an upstream, a model, a route or \"*\")", verb)
	}
	base := *admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	kr := map[string]any{"target": target, "reason": reason, "actor": actor()}
	if force {
		kr["force"] = true
	}
	body, _ := json.Marshal(kr)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/v1/"+verb, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok := os.Getenv("RAMPART_ADMIN_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if verb == "kill" && resp.StatusCode == http.StatusAccepted {
		// In force on that instance, not saved to the store yet.
		var a struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(out, &a)
		fmt.Fprintf(stdout, "killed %s on this instance only\n", target)
		return fmt.Errorf("the kill of %s is not saved: %s", target, a.Message)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(out, &e)
		return fmt.Errorf("admin API answered %d: %s", resp.StatusCode, e.Error.Message)
	}
	if verb == "kill" {
		fmt.Fprintf(stdout, "killed %s\n", target)
	} else {
		fmt.Fprintf(stdout, "revived %s\n", target)
	}
	return nil
}

// actor names who flipped the switch, for the record.
func actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return "cli:" + name + "@" + host
}
