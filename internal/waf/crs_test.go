package waf

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	crstests "github.com/corazawaf/coraza-coreruleset/v4/tests"
	"github.com/corazawaf/coraza/v3/types"
	schema "github.com/coreruleset/ftw-tests-schema/v2/types"
	"github.com/coreruleset/ftw-tests-schema/v2/types/overrides"
	"github.com/coreruleset/go-ftw/v2/config"
	"github.com/coreruleset/go-ftw/v2/output"
	"github.com/coreruleset/go-ftw/v2/runner"
	"github.com/coreruleset/go-ftw/v2/test"
	"github.com/rs/zerolog"
)

// minPassRate is the share of the regression tests that must pass.
const minPassRate = 0.996

// excludedDirs are the test folders not run at all, with the reason.
var excludedDirs = []struct{ dir, reason string }{
	// The stage never inspects response bodies or headers: it would have to
	// buffer SSE streams (see docs/waf.md), so the RESPONSE-* rules are not
	// even loaded.
	{"RESPONSE-", "response inspection is out of scope by design"},
}

// excludedTests are single regression tests ignored, each with its reason.
// Most are inherited from Coraza's own run of the suite: net/http answers
// some malformed requests itself before any handler, so the WAF never sees
// them.
var excludedTests = []struct{ id, reason string }{
	{"920100-4", "invalid request line: net/http answers 400 before the WAF"},
	{"920100-5", "invalid request line: net/http answers 400 before the WAF"},
	{"920100-8", "net/http accepts a colon in the path, the test expects Apache's 400"},
	{"920290-1", "net/http answers 400 to an empty Host header before the WAF"},
	{"920290-4", "net/http answers 400 to a missing Host header before the WAF"},
	{"920430-5", "net/http rejects the protocol version before the WAF"},
	{"920430-8", "net/http answers 505 to HTTP/3.0 before the WAF"},
	{"920280-3", "net/http answers 505 to HTTP/0.9 before the WAF; the test expects Apache's 400"},
	{"920430-3", "net/http answers 505 to HTTP/0.9 before the WAF; the test expects Apache's 400"},
	{"920430-9", "net/http answers 505 to HTTP/0.8 before the WAF; the test expects Apache's 400"},
	{"930110-7", "CRS issue coreruleset/coreruleset#3736"},
	{"932200-13", "known Coraza difference, ignored by Coraza's own run"},
}

// retargeted are tests whose expectation is replaced rather than ignored:
// they describe Apache's answer, while the stage rightly matches a rule.
// They must pass with the new expectation: these rules must be in the log.
var retargeted = []struct {
	rule, test uint
	expectIDs  []uint
	reason     string
}{
	{920270, 4, []uint{920270}, "Apache answers 400 to a NUL byte in the URI; the rule matches"},
	{920272, 5, []uint{920272}, "Apache answers 400; the rule matches"},
	{920274, 1, []uint{920274}, "Apache answers 400 to the Host header; the rule matches"},
	{920610, 2, []uint{920610}, "Apache answers 400 to a raw fragment in the URI; the rule matches"},
	{920620, 1, []uint{920620}, "Apache joins two Content-Type headers into one; net/http keeps both and the rule rightly matches"},
	{922130, 1, []uint{200003}, "Coraza's strict multipart parser flags the body (rule 200003) before 922130 runs"},
	{922130, 2, []uint{200003}, "Coraza's strict multipart parser flags the body (rule 200003) before 922130 runs"},
	{922130, 7, []uint{200003}, "Coraza's strict multipart parser flags the body (rule 200003) before 922130 runs"},
}

// platformOverrides turns retargeted into go-ftw's platform overrides.
func platformOverrides() config.PlatformOverrides {
	po := config.PlatformOverrides{OverridesMap: map[uint][]*overrides.TestOverride{}}
	for _, r := range retargeted {
		o := &overrides.TestOverride{RuleId: r.rule, TestIds: []uint{r.test}, Reason: r.reason}
		o.Output.Log.ExpectIds = r.expectIDs
		po.TestOverrides = append(po.TestOverrides, *o)
		po.OverridesMap[r.rule] = append(po.OverridesMap[r.rule], o)
	}
	return po
}

// crsLog is the log go-ftw reads: Coraza's error log line of every matched
// rule that logs, written at once so that go-ftw finds its markers.
type crsLog struct {
	t  testing.TB
	mu sync.Mutex
	f  *os.File
}

func (l *crsLog) match(m types.MatchedRule) {
	line := m.ErrorLog() + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.f, line); err != nil {
		l.t.Errorf("write log: %v", err)
	}
}

// crsHandler is the backend of the suite: the WAF stage, then a 200.
func crsHandler(t testing.TB, w *WAF) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, "read body", http.StatusBadRequest)
			return
		}
		start := time.Now()
		if _, err := w.Inspect(r.Context(), r, body); err != nil {
			t.Errorf("inspect %s: %v", r.URL, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Logf("slow inspection: %s %.80s, %d body bytes: %v", r.Method, r.RequestURI, len(body), d)
		}
		rw.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(rw, "ok")
	})
}

// loadCRSTests reads the regression tests of the embedded suite, minus the
// excluded folders, keeping one test in every `every` of each file.
func loadCRSTests(t testing.TB, every int) ([]*test.FTWTest, int) {
	t.Helper()
	var tests []*test.FTWTest
	n := 0
	err := fs.WalkDir(crstests.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" || excludedDir(p) {
			return err
		}
		data, err := fs.ReadFile(crstests.FS, p)
		if err != nil {
			return err
		}
		ft, err := test.GetTestFromYaml(data, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		ft.Tests = sample(ft.Tests, every)
		n += len(ft.Tests)
		tests = append(tests, ft)
		return nil
	})
	if err != nil {
		t.Fatalf("load tests: %v", err)
	}
	return tests, n
}

func excludedDir(p string) bool {
	for _, e := range excludedDirs {
		if strings.HasPrefix(p, e.dir) {
			return true
		}
	}
	return false
}

// sample keeps one test in every `every`, and under sampling only tests
// with small inputs: a 64 KB body at paranoia level 4 takes seconds of CPU,
// a minute under the race detector.
func sample(tests []schema.Test, every int) []schema.Test {
	if every <= 1 {
		return tests
	}
	var out []schema.Test
	for i, tc := range tests {
		if i%every == 0 && inputSize(tc) <= maxSampledInput {
			out = append(out, tc)
		}
	}
	return out
}

// maxSampledInput bounds the URI and body of a sampled test, in bytes.
const maxSampledInput = 2048

func inputSize(tc schema.Test) int {
	n := 0
	for _, st := range tc.Stages {
		in := st.Input
		if in.URI != nil {
			n = max(n, len(*in.URI))
		}
		if in.Data != nil {
			n = max(n, len(*in.Data))
		}
		n = max(n, len(in.EncodedRequest))
	}
	return n
}

// crsEvery is how many tests of a file share one run: all of them normally,
// a sample under the race detector unless RAMPART_CRS_FULL=1 or the crsfull
// build tag asks for the whole suite.
func crsEvery() int {
	if crsFull || os.Getenv("RAMPART_CRS_FULL") == "1" || !raceEnabled {
		return 1
	}
	return 6
}

// TestCRSRegression runs the Core Rule Set regression suite shipped in the
// coraza-coreruleset module through go-ftw's runner against the stage
// behind a loopback listener, detection-only with log markers, the way
// Coraza's testing/coreruleset does.
func TestCRSRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("the CRS regression suite is long; run without -short")
	}
	logPath := filepath.Join(t.TempDir(), "waf.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // after the server's clean-up, which is registered later
	log := &crsLog{t: t, f: f}
	w, err := newWAF(Config{
		Enabled:     true,
		Mode:        ModeDetect,
		Paranoia:    4,
		InspectBody: ScopeFull,
		AllFamilies: true,
		BodyLimit:   13107200,
		SetupFiles:  []string{filepath.Join("testdata", "crs-regression.conf")},
	}, slog.New(slog.DiscardHandler), log.match)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := serve(t, crsHandler(t, w))

	tests, n := loadCRSTests(t, crsEvery())
	stats := runFTW(t, s.URL, logPath, tests)

	ran := len(stats.Success) + len(stats.Failed)
	rate := float64(len(stats.Success)) / float64(max(ran, 1))
	t.Logf("CRS regression: %d tests loaded (one in %d), %d run, %d passed, %d failed, %d ignored, %d skipped: pass rate %.2f%%",
		n, crsEvery(), ran, len(stats.Success), len(stats.Failed), len(stats.Ignored), len(stats.Skipped), 100*rate)
	if len(stats.Failed) > 0 {
		t.Logf("failed: %v", stats.Failed)
	}
	if ran < n/2 {
		t.Fatalf("only %d of %d tests ran", ran, n)
	}
	if rate < minPassRate {
		t.Errorf("pass rate %.2f%% is below %.2f%%", 100*rate, 100*minPassRate)
	}
}

// runFTW runs the tests with go-ftw against the server at rawURL.
func runFTW(t testing.TB, rawURL, logPath string, tests []*test.FTWTest) *runner.RunStats {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Hostname()
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	cfg := config.NewDefaultConfig()
	cfg.LogFile = logPath
	cfg.TestOverride.Overrides.DestAddr = &host
	cfg.TestOverride.Overrides.Port = &port
	cfg.TestOverride.Ignore = make(map[*config.FTWRegexp]string, len(excludedTests))
	for _, e := range excludedTests {
		re, err := config.NewFTWRegexp("^" + e.id + "$")
		if err != nil {
			t.Fatal(err)
		}
		cfg.TestOverride.Ignore[re] = e.reason
	}
	rc := config.NewRunnerConfiguration(cfg)
	rc.ReadTimeout = 20 * time.Second
	rc.PlatformOverrides = platformOverrides()
	var out bytes.Buffer
	res, err := runner.Run(rc, tests, output.NewOutput("quiet", &out))
	if err != nil {
		t.Fatalf("go-ftw: %v\n%s", err, out.String())
	}
	return res.Stats
}
