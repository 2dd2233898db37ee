package upstream

import (
	"context"
	"net"
)

// dialAside connects on a goroutine of its own and waits for it.
//
// The caller is the client connection's goroutine, which lives as long as
// the stream it relays. Connecting is the deepest call chain of a request
// (about 7 KiB of stack below the handler); made on that goroutine it
// would double its stack to 16 KiB for the rest of the connection's life,
// that is 8 KiB more for every open stream. Made aside, that stack is
// freed as soon as the connection is up. It costs a goroutine start per
// new connection, not per request.
func dialAside(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := d.DialContext(ctx, network, addr)
		done <- result{c, err}
	}()
	// DialContext honours ctx, so waiting for it never outlives the
	// caller's cancellation for long, and never leaks a connection.
	r := <-done
	return r.c, r.err
}
