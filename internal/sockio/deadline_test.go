//go:build linux

package sockio

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// The deadline tests run each case on a wrapped connection and on a plain
// *net.TCPConn, and want the same outcome from both: a Conn's deadlines,
// which reach the socket only when an operation waits, behave as
// net.Conn's.

type readOutcome struct {
	data    string
	timeout bool
}

func (o readOutcome) String() string {
	if o.timeout {
		return "timeout"
	}
	return "data " + o.data
}

// readOnce reads once and classifies the result; any error other than a
// timeout fails the test.
func readOnce(t *testing.T, c net.Conn) readOutcome {
	t.Helper()
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	switch {
	case err == nil:
		return readOutcome{data: string(buf[:n])}
	case errors.Is(err, os.ErrDeadlineExceeded):
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("timeout error %v is not a net.Error with Timeout()", err)
		}
		checkOp(t, err, "read")
		return readOutcome{timeout: true}
	}
	t.Fatalf("read: %v", err)
	return readOutcome{}
}

// both runs f on a wrapped connection and on a plain one; f gets the end
// under test and its peer.
func both(t *testing.T, f func(t *testing.T, c net.Conn, peer *net.TCPConn)) {
	t.Run("sockio", func(t *testing.T) {
		t.Parallel()
		c, peer := pair(t)
		f(t, c, peer)
	})
	t.Run("net", func(t *testing.T) {
		t.Parallel()
		c, peer := pair(t)
		f(t, c.TCPConn, peer)
	})
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// waitForBytes polls until c's peer has sent n bytes that c has not read:
// a read then finds them without waiting.
func waitForBytes(t *testing.T, c *Conn, n int) {
	t.Helper()
	buf := make([]byte, n)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		var got int
		err := c.rc.Read(func(fd uintptr) bool {
			got, _, _ = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return true
		})
		if err == nil && got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d bytes did not arrive", n)
}

func TestReadDeadlines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		run  func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome
		want readOutcome
	}{
		{"data before a future deadline", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			c.SetReadDeadline(time.Now().Add(time.Minute))
			write(t, peer, "a")
			return readOnce(t, c)
		}, readOutcome{data: "a"}},
		{"no data times out at the deadline, not before", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			start := time.Now()
			c.SetReadDeadline(start.Add(60 * time.Millisecond))
			o := readOnce(t, c)
			if el := time.Since(start); el < 60*time.Millisecond {
				t.Errorf("timed out after %v, before the deadline", el)
			}
			return o
		}, readOutcome{timeout: true}},
		{"a passed deadline fails a read although data waits", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			write(t, peer, "b")
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			time.Sleep(40 * time.Millisecond) // the deadline passes, unused
			return readOnce(t, c)
		}, readOutcome{timeout: true}},
		{"a past deadline then none: the next read gets data", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			c.SetReadDeadline(time.Unix(1, 0))
			if o := readOnce(t, c); !o.timeout {
				t.Errorf("read with a past deadline: %v, want timeout", o)
			}
			c.SetReadDeadline(time.Time{})
			write(t, peer, "c")
			return readOnce(t, c)
		}, readOutcome{data: "c"}},
		{"a later deadline after a wait with an earlier one", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			// The first read waits with a 50 ms deadline on the socket;
			// the second deadline is later, and the socket's earlier one
			// must not cut the second read short.
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			go func() { time.Sleep(10 * time.Millisecond); write(t, peer, "d") }()
			if o := readOnce(t, c); o.data != "d" {
				t.Errorf("first read: %v, want data d", o)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			go func() { time.Sleep(150 * time.Millisecond); write(t, peer, "e") }()
			return readOnce(t, c)
		}, readOutcome{data: "e"}},
		{"deadline cleared while a read waits", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			go func() {
				time.Sleep(10 * time.Millisecond)
				c.SetReadDeadline(time.Time{})
				time.Sleep(140 * time.Millisecond)
				write(t, peer, "f")
			}()
			return readOnce(t, c)
		}, readOutcome{data: "f"}},
		{"a past deadline ends a waiting read", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			c.SetReadDeadline(time.Now().Add(time.Minute))
			go func() { time.Sleep(20 * time.Millisecond); c.SetReadDeadline(time.Unix(1, 0)) }()
			start := time.Now()
			o := readOnce(t, c)
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("read ended after %v", el)
			}
			return o
		}, readOutcome{timeout: true}},
		{"an earlier deadline set while a read waits", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			go func() { time.Sleep(20 * time.Millisecond); c.SetReadDeadline(time.Now().Add(30 * time.Millisecond)) }()
			return readOnce(t, c)
		}, readOutcome{timeout: true}},
		{"SetDeadline sets the read deadline", func(t *testing.T, c net.Conn, peer *net.TCPConn) readOutcome {
			c.SetDeadline(time.Now().Add(30 * time.Millisecond))
			return readOnce(t, c)
		}, readOutcome{timeout: true}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			both(t, func(t *testing.T, c net.Conn, peer *net.TCPConn) {
				if got := tc.run(t, c, peer); got != tc.want {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// TestReadDeadlineReachesSocketOnlyToWait checks the point of the lazy
// deadline: reads that find data leave the socket's deadline alone, and a
// read that waits sets it.
func TestReadDeadlineReachesSocketOnlyToWait(t *testing.T) {
	t.Parallel()
	c, peer := pair(t)
	write(t, peer, "ab")
	waitForBytes(t, c, 2)
	d := time.Now().Add(time.Hour)
	c.SetReadDeadline(d)
	if o := readOnce(t, c); o.data != "ab" {
		t.Fatalf("read %v", o)
	}
	c.rd.mu.Lock()
	applied := c.rd.applied
	c.rd.mu.Unlock()
	if !applied.IsZero() {
		t.Fatalf("a read that found data set the socket's deadline to %v", applied)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if o := readOnce(t, c); !o.timeout {
		t.Fatalf("read %v, want timeout", o)
	}
	c.rd.mu.Lock()
	applied, want := c.rd.applied, c.rd.want
	c.rd.mu.Unlock()
	if !applied.Equal(want) {
		t.Fatalf("after a wait the socket holds %v, want %v", applied, want)
	}
}

// TestWriteDeadlines: a write to a peer that does not read waits, and ends
// at its deadline, or at an earlier one set meanwhile; a passed deadline
// fails a write the socket would take.
func TestWriteDeadlines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		run  func(c net.Conn) error
	}{
		{"deadline lowered while a write waits", func(c net.Conn) error {
			c.SetWriteDeadline(time.Now().Add(time.Minute))
			go func() { time.Sleep(50 * time.Millisecond); c.SetWriteDeadline(time.Now()) }()
			_, err := c.Write(make([]byte, 64<<20))
			return err
		}},
		{"a passed deadline fails a small write", func(c net.Conn) error {
			c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
			time.Sleep(40 * time.Millisecond)
			_, err := c.Write([]byte("x"))
			return err
		}},
		{"a later deadline after a wait with an earlier one", func(c net.Conn) error {
			c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
			if _, err := c.Write(make([]byte, 64<<20)); !errors.Is(err, os.ErrDeadlineExceeded) {
				return errors.New("first write did not time out")
			}
			// Only the timeout stops the second write: the socket's
			// passed deadline must not fail it at once.
			start := time.Now()
			c.SetWriteDeadline(start.Add(150 * time.Millisecond))
			_, err := c.Write(make([]byte, 64<<20))
			if time.Since(start) < 150*time.Millisecond {
				return errors.New("second write ended before its deadline")
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			both(t, func(t *testing.T, c net.Conn, _ *net.TCPConn) {
				err := tc.run(c)
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
				}
				checkOp(t, err, "write")
			})
		})
	}
}
