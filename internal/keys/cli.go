package keys

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/store"
)

const cliUsage = `Usage:
  rampart keys create --name NAME [--team TEAM] [--models a,b] [--expires 720h] [-c FILE | --data DIR | --db FILE]
  rampart keys list [-c FILE | --data DIR | --db FILE]
  rampart keys revoke ID [-c FILE | --data DIR | --db FILE]
  rampart keys rotate ID [-c FILE | --data DIR | --db FILE]

With -c the store is the one the configuration file names (store.postgres,
store.sqlite or its data folder); otherwise DIR/rampart.db (default DIR:
rampart-data) unless --db names the file. A new key is printed once and
cannot be shown again.
`

// Run is the `rampart keys` command: create, list, revoke and rotate keys in
// the local store. Keys are printed only by create and rotate, once.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, cliUsage)
		return errors.New("missing subcommand")
	}
	cmd, ok := map[string]func(context.Context, *cliEnv) error{
		"create": cliCreate, "list": cliList, "revoke": cliRevoke, "rotate": cliRotate,
	}[args[0]]
	if !ok {
		if h := args[0]; h == "-h" || h == "--help" || h == "help" {
			fmt.Fprint(stderr, cliUsage)
			return flag.ErrHelp
		}
		fmt.Fprint(stderr, cliUsage)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
	env := &cliEnv{args: args[1:], stdout: stdout, stderr: stderr}
	env.flags = flag.NewFlagSet("rampart keys "+args[0], flag.ContinueOnError)
	env.flags.SetOutput(stderr)
	env.flags.StringVar(&env.data, "data", "rampart-data", "data folder; the store is DIR/rampart.db")
	env.flags.StringVar(&env.db, "db", "", "SQLite file of the store (overrides --data)")
	env.flags.StringVar(&env.config, "c", "", "configuration file whose store to use (PostgreSQL included)")
	return cmd(ctx, env)
}

// cliEnv is the state of one `rampart keys` invocation.
type cliEnv struct {
	args           []string
	flags          *flag.FlagSet
	data, db       string
	config         string
	stdout, stderr io.Writer
	positional     []string
}

// parse reads the flags, which may come before or after positional
// arguments (`revoke ID --data DIR` as well as `revoke --data DIR ID`).
func (e *cliEnv) parse(positional int) error {
	args := e.args
	for {
		if err := e.flags.Parse(args); err != nil {
			return err
		}
		args = e.flags.Args()
		if len(args) == 0 {
			break
		}
		e.positional = append(e.positional, args[0])
		args = args[1:]
	}
	if len(e.positional) != positional {
		e.flags.Usage()
		return fmt.Errorf("expected %d argument(s), got %d", positional, len(e.positional))
	}
	return nil
}

// open opens the store and a Service over it. Only create may make a new
// SQLite store: list, revoke and rotate on a path that has none report it,
// since a new empty store there means the path is not the gateway's.
func (e *cliEnv) open(ctx context.Context, create bool) (*Service, func(), error) {
	dsn, path := "", e.db
	if e.config != "" {
		cfg, err := config.Load(e.config)
		if err != nil {
			return nil, nil, fmt.Errorf("%s", config.FormatErrors(err))
		}
		dsn, path = cfg.Store.Postgres, cfg.SQLitePath()
	} else if path == "" {
		path = filepath.Join(e.data, "rampart.db")
	}
	if dsn == "" && !create {
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("no key store at %s (%w): name the gateway's store with -c FILE, --data DIR or --db FILE", path, err)
		}
	}
	st, err := store.Open(ctx, dsn, path)
	if err != nil {
		return nil, nil, err
	}
	return NewService(st.Keys(), Options{}), func() { _ = st.Close() }, nil
}

func cliCreate(ctx context.Context, e *cliEnv) error {
	var in CreateInput
	var models string
	e.flags.StringVar(&in.Name, "name", "", "name of the key (required)")
	e.flags.StringVar(&in.Team, "team", "", "team of the key")
	e.flags.StringVar(&models, "models", "", "comma-separated models (globs) the key may use; empty: all")
	e.flags.DurationVar(&in.ExpiresIn, "expires", 0, "lifetime, such as 720h; 0: never expires")
	if err := e.parse(0); err != nil {
		return err
	}
	if in.Name == "" {
		e.flags.Usage()
		return errors.New("--name is required")
	}
	in.Models = splitList(models)
	svc, done, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	key, rec, err := svc.Create(ctx, in)
	if err != nil {
		return err
	}
	printKey(e.stdout, key, rec)
	return nil
}

func cliRotate(ctx context.Context, e *cliEnv) error {
	if err := e.parse(1); err != nil {
		return err
	}
	svc, done, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	key, rec, err := svc.Rotate(ctx, e.positional[0])
	if err != nil {
		return err
	}
	printKey(e.stdout, key, rec)
	fmt.Fprintf(e.stdout, "revoked: %s\n", e.positional[0])
	return nil
}

func cliRevoke(ctx context.Context, e *cliEnv) error {
	if err := e.parse(1); err != nil {
		return err
	}
	svc, done, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.Revoke(ctx, e.positional[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked: %s\n", e.positional[0])
	return nil
}

func cliList(ctx context.Context, e *cliEnv) error {
	if err := e.parse(0); err != nil {
		return err
	}
	svc, done, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	all, err := svc.List(ctx)
	if err != nil {
		return err
	}
	printTable(e.stdout, all, time.Now())
	return nil
}

// printKey shows a new key once, with its id.
func printKey(w io.Writer, key string, rec *store.KeyRecord) {
	fmt.Fprintf(w, "API key: %s\n", key)
	fmt.Fprintf(w, "id: %s\n", rec.ID)
	fmt.Fprintln(w, "Store the key now: it cannot be shown again.")
}

// printTable lists keys without their secrets or hashes.
func printTable(w io.Writer, all []*store.KeyRecord, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTEAM\tMODELS\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, dash(k.Name), dash(k.Team),
			dash(strings.Join(k.Models, ",")), Status(k, now), stamp(&k.CreatedAt),
			stamp(k.ExpiresAt), stamp(k.LastUsedAt))
	}
	_ = tw.Flush()
}

// Status is active, revoked or expired.
func Status(k *store.KeyRecord, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	}
	return "active"
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
