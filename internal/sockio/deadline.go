package sockio

import (
	"errors"
	"os"
	"sync"
	"time"
)

// deadline is one direction's deadline of a Conn, set on the socket only
// when an operation is about to wait for it.
//
// An HTTP server moves a connection's read deadline several times for every
// request (idle, header, body, none while the handler runs), and a client
// sets and clears one around every call. Each move re-arms a runtime timer,
// and a timer that becomes a processor's earliest wakes a thread to watch
// it: on a gateway serving one request at a time, most of those moves cost
// a context switch, for deadlines that almost never fire, because the bytes
// are already there when the read is made.
//
// So Set only records the deadline. A read or write that finds the socket
// ready never looks at it, beyond failing as net.Conn does once it has
// passed. One that must wait sets it on the socket first, unless the socket
// already holds an earlier one: that one then wakes the wait early, and the
// wait re-arms itself with the deadline in force and goes on. A deadline in
// the past, or one set while an operation waits, is set at once, so that it
// interrupts the wait as net.Conn's does.
type deadline struct {
	set func(time.Time) error // the socket's own setter

	mu      sync.Mutex
	want    time.Time // the deadline in force, as the user set it
	applied time.Time // the deadline the socket holds
	waiting bool      // an operation waits, or is about to, in the poller
}

// Set records t as the deadline, and sets it on the socket when it must
// take effect at once: when it has passed already, or when an operation is
// waiting and t is earlier than what the socket holds.
func (d *deadline) Set(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = t
	if d.waiting && d.mustApply() || !t.IsZero() && !t.After(time.Now()) {
		return d.apply()
	}
	return nil
}

// mustApply reports whether a wait with the socket's deadline could outlast
// the deadline in force. A socket deadline earlier than the one in force
// does no harm: it ends the wait early, and retry re-arms it.
func (d *deadline) mustApply() bool {
	switch {
	case d.want.Equal(d.applied), d.want.IsZero():
		return false
	case d.applied.IsZero():
		return true
	}
	return d.want.Before(d.applied)
}

func (d *deadline) apply() error {
	d.applied = d.want
	return d.set(d.want)
}

// sync sets the deadline in force on the socket, for an operation that
// waits without calling beforeWait.
func (d *deadline) sync() {
	d.mu.Lock()
	if !d.want.Equal(d.applied) {
		_ = d.apply()
	}
	d.mu.Unlock()
}

// expired reports whether the deadline in force has passed while the
// socket does not know it yet: the operation must fail as net.Conn's does,
// even though the socket would not make it wait.
func (d *deadline) expired() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.want.IsZero() && !d.want.Equal(d.applied) && !d.want.After(time.Now())
}

// beforeWait is called when an operation found the socket not ready and is
// about to wait in the poller: from now on a new deadline takes effect at
// once, and the socket gets the one in force unless it holds an earlier one.
func (d *deadline) beforeWait() {
	d.mu.Lock()
	d.waiting = true
	if d.mustApply() {
		_ = d.apply()
	}
	d.mu.Unlock()
}

// done is called when an operation that called beforeWait has returned.
func (d *deadline) done() {
	d.mu.Lock()
	d.waiting = false
	d.mu.Unlock()
}

// retry reports whether an operation that failed with err should be made
// again: it timed out on a socket deadline that was earlier than the one in
// force, which has not passed. The socket then gets the deadline in force.
func (d *deadline) retry(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.want.Equal(d.applied) || !d.want.IsZero() && !d.want.After(time.Now()) {
		return false
	}
	_ = d.apply()
	return true
}
