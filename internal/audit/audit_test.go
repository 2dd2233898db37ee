package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/store"
)

// childEnv makes the test binary act as a writer process for the kill -9
// test.
const childEnv = "RAMPART_AUDIT_CHILD_DB"

func TestMain(m *testing.M) {
	if db := os.Getenv(childEnv); db != "" {
		runChild(db)
		return
	}
	os.Exit(m.Run())
}

// runChild writes records and prints each acknowledged ID, then waits to be
// killed.
func runChild(db string) {
	st, err := store.OpenSQLite(context.Background(), db)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	w, err := New(st.Audit(), Options{
		SpoolPath: db + ".spool", Batch: 64, FlushInterval: 5 * time.Millisecond,
		OnCommit: func(ids []string) {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				fmt.Fprintln(out, "ack", id)
			}
			_ = out.Flush()
		},
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		w.Record(rec(fmt.Sprintf("child-%07d", i)))
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
}

func rec(id string) *record.Record {
	r := &record.Record{ID: id, Start: time.Now(), Status: 200, Outcome: "ok",
		Principal: record.Principal{Kind: "api_key", ID: "k1"}, ModelRequested: "m"}
	r.AddVerdict(record.Verdict{Stage: "dlp", Rule: "email", Action: "mask"})
	return r
}

func openStore(t testing.TB) (store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, dir
}

func count(t *testing.T, st store.Store) int {
	t.Helper()
	n, cursor := 0, ""
	for range 1000 {
		rs, next, err := st.Audit().Query(t.Context(), store.AuditFilter{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(rs)
		if next == "" {
			break
		}
		cursor = next
	}
	return n
}

func TestKill9KeepsAcknowledgedRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for len(acked) < 2000 && time.Now().Before(deadline) && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked = append(acked, id)
		}
	}
	// Killed while it keeps writing: batches are in flight.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
	_ = cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("the child acknowledged only %d records", len(acked))
	}
	st, err := store.OpenSQLite(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range acked {
		rs, _, err := st.Audit().Query(t.Context(), store.AuditFilter{RequestID: id})
		if err != nil || len(rs) != 1 {
			t.Fatalf("acknowledged record %s lost after kill -9: %v %v", id, rs, err)
		}
	}
	t.Logf("%d acknowledged records all found after kill -9", len(acked))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestCloseFlushesEverything(t *testing.T) {
	t.Parallel()
	st, dir := openStore(t)
	w, err := New(st.Audit(), Options{SpoolPath: filepath.Join(dir, "s"), FlushInterval: time.Hour, Batch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		w.Record(rec("r" + strconv.Itoa(i)))
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st); n != 300 {
		t.Fatalf("%d records after Close, want 300", n)
	}
	if s := w.Stats(); s.Written != 300 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// gated blocks Insert until open is closed, and fails while failing is set.
type gated struct {
	store.AuditStore
	open    chan struct{}
	failing atomic.Bool
}

func (g *gated) Insert(ctx context.Context, rs []*store.AuditRecord) error {
	<-g.open
	if g.failing.Load() {
		return errors.New("store down")
	}
	return g.AuditStore.Insert(ctx, rs)
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{PolicySpool, PolicyRefuse} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			st, dir := openStore(t)
			g := &gated{AuditStore: st.Audit(), open: make(chan struct{})}
			w, err := New(g, Options{SpoolPath: filepath.Join(dir, "s"), Queue: 4, Batch: 2,
				FlushInterval: time.Millisecond, Policy: policy})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := range 50 {
				w.Record(rec("r" + strconv.Itoa(i)))
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Record blocked for %v while the store was stuck", d)
			}
			if s := w.Stats(); s.Spooled == 0 || s.Dropped != 0 {
				t.Fatalf("stats %+v: want records spooled, none dropped", s)
			}
			if got, want := w.Healthy(), policy == PolicySpool; got != want {
				t.Fatalf("Healthy() = %v under %s with a full queue", got, policy)
			}
			close(g.open)
			deadline := time.Now().Add(10 * time.Second)
			for !w.Healthy() && time.Now().Before(deadline) {
				w.Record(rec("late" + strconv.Itoa(int(time.Now().UnixNano()))))
				time.Sleep(5 * time.Millisecond)
			}
			if !w.Healthy() {
				t.Fatal("the writer never recovered")
			}
			if err := w.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			s := w.Stats()
			if n := count(t, st); uint64(n) != s.Written || n < 50 || s.Dropped != 0 {
				t.Fatalf("%d records stored, stats %+v", n, s)
			}
		})
	}
}

func TestStoreFailureSpoolsAndReplays(t *testing.T) {
	t.Parallel()
	st, dir := openStore(t)
	g := &gated{AuditStore: st.Audit(), open: make(chan struct{})}
	close(g.open)
	g.failing.Store(true)
	spoolPath := filepath.Join(dir, "s")
	w, err := New(g, Options{SpoolPath: spoolPath, Batch: 10, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		w.Record(rec("r" + strconv.Itoa(i)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Spooled < 40 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if s := w.Stats(); s.Spooled != 40 {
		t.Fatalf("stats %+v: want 40 spooled", s)
	}
	if n := count(t, st); n != 0 {
		t.Fatalf("%d records stored while the store was failing", n)
	}
	g.failing.Store(false)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st); n != 40 {
		t.Fatalf("%d records after recovery, want 40", n)
	}
	// A new writer on the same spool replays nothing twice.
	w2, err := New(st.Audit(), Options{SpoolPath: spoolPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st); n != 40 {
		t.Fatalf("%d records after a second replay, want 40", n)
	}
}

func TestSpoolReplayedAtStartup(t *testing.T) {
	t.Parallel()
	st, dir := openStore(t)
	spoolPath := filepath.Join(dir, "s")
	sp, err := openSpool(spoolPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.append([]*store.AuditRecord{FromRecord(rec("a")), FromRecord(rec("b"))}, true); err != nil {
		t.Fatal(err)
	}
	_ = sp.close()
	// A torn line, as a crash mid-write leaves it, is skipped.
	f, _ := os.OpenFile(spoolPath, os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString(`{"request_id":"c","ti`)
	_ = f.Close()
	w, err := New(st.Audit(), Options{SpoolPath: spoolPath})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(t, st) < 2 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if n := count(t, st); n != 2 {
		t.Fatalf("%d records replayed, want 2", n)
	}
	_ = w.Close(t.Context())
}

func TestFromRecordKeepsNoCredential(t *testing.T) {
	t.Parallel()
	r := rec("x")
	r.Principal.Scopes = []string{"admin"}
	r.Principal.Models = []string{"secret-model-*"}
	a := FromRecord(r)
	if a.RequestID != "x" || a.Principal.ID != "k1" || len(a.Verdicts) != 1 || a.Verdicts[0].Rule != "email" {
		t.Fatalf("fields lost: %+v", a)
	}
}

func FuzzParseSpoolLine(f *testing.F) {
	f.Add([]byte(`{"request_id":"a","time":"2026-01-01T00:00:00Z","status":200}`))
	f.Add([]byte(`{"request_id":""}`))
	f.Add([]byte(`{"request_id":"c","ti`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSpoolLine(b)
		if err == nil && r.RequestID == "" {
			t.Fatal("accepted a record without an id")
		}
	})
}

func BenchmarkRecord(b *testing.B) {
	st, dir := openStore(b)
	w, err := New(st.Audit(), Options{SpoolPath: filepath.Join(dir, "s"), Queue: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	r := rec("bench")
	b.ReportAllocs()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		w.Record(r)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	if len(lat) > 0 {
		slicesSort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	}
	_ = w.Close(context.Background())
}

func BenchmarkSustained(b *testing.B) {
	st, dir := openStore(b)
	w, err := New(st.Audit(), Options{SpoolPath: filepath.Join(dir, "s"), Queue: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		w.Record(rec("s" + strconv.Itoa(i)))
		i++
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "records/s")
	if s := w.Stats(); s.Dropped != 0 || s.Spooled != 0 {
		b.Fatalf("stats %+v", s)
	}
}

func slicesSort(d []time.Duration) { slices.Sort(d) }

// BenchmarkSustainedWithContent is BenchmarkSustained with captured
// content: a 2 KB prompt and a 1 KB answer per record.
func BenchmarkSustainedWithContent(b *testing.B) {
	st, dir := openStore(b)
	w, err := New(st.Audit(), Options{SpoolPath: filepath.Join(dir, "s"), Queue: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	prompt, answer := strings.Repeat("user: masked prompt text ", 80), strings.Repeat("answer text ", 85)
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		r := rec("c" + strconv.Itoa(i))
		r.Content = &record.Content{Prompt: prompt, Response: answer}
		w.Record(r)
		i++
	}
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(i)/time.Since(start).Seconds(), "records/s")
	if s := w.Stats(); s.Dropped != 0 || s.Spooled != 0 {
		b.Fatalf("stats %+v", s)
	}
}
