package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const (
	// stopGrace is how long a child gets to exit after SIGTERM before it
	// is killed.
	stopGrace = 5 * time.Second
	// pollInterval is the pause between two readiness probes.
	pollInterval = 20 * time.Millisecond
	// logTailBytes is how much of a child's log an error message quotes.
	logTailBytes = 2048
)

// child is a rampart process started by the benchmark. Its stdout and
// stderr go to a file rather than a pipe, so that the benchmark spends no
// CPU draining them while it measures and the child never blocks on a full
// pipe.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// startChild starts bin with args, logging to dir/name.log. The child is
// terminated when ctx is cancelled; the caller must call stop in any case.
func startChild(ctx context.Context, dir, name, bin string, args ...string) (*child, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logFile.Close() // The child holds its own descriptor.
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childSysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// pid returns the child's process ID.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to exit with SIGTERM, kills it after stopGrace and
// waits for it. It is safe to call on a child that already exited.
func (c *child) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// failure wraps err with the child's exit status, if it exited, and the
// tail of its log, which usually says why it failed.
func (c *child) failure(err error) error {
	select {
	case <-c.exited:
		err = fmt.Errorf("%w (%s exited: %v)", err, c.name, c.waitErr)
	default:
	}
	return fmt.Errorf("%s: %w; log tail:\n%s", c.name, err, c.logTail())
}

// logTail returns the last logTailBytes of the child's log.
func (c *child) logTail() string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > logTailBytes {
		_, _ = f.Seek(st.Size()-logTailBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, logTailBytes))
	return string(b)
}

// errNotReady reports a child that did not become ready in time.
var errNotReady = errors.New("not ready before the deadline")

// waitUntil calls probe every pollInterval until it reports true, the child
// exits, ctx is cancelled or timeout passes.
func (c *child) waitUntil(ctx context.Context, timeout time.Duration, probe func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for range int(timeout/pollInterval) + 1 {
		if probe(ctx) {
			return nil
		}
		select {
		case <-c.exited:
			return c.failure(errors.New("exited before it was ready"))
		case <-ctx.Done():
			if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return c.failure(errNotReady)
		case <-ticker.C:
		}
	}
	return c.failure(errNotReady)
}

// httpOK reports whether a GET of url, with the given bearer token when not
// empty, answers 200.
func httpOK(ctx context.Context, client *http.Client, url, token string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode == http.StatusOK
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago. Another process could take it before the gateway binds it;
// the gateway then fails to start and the benchmark reports its log.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}
