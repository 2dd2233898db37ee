package scan

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/go-json-experiment/json"
)

// job is one line on its way from the reader through a worker to the
// writer.
type job struct {
	n    int
	line []byte
	long bool
	// out has room for the result, so a worker never waits for the
	// writer.
	out chan any
}

// stream reads lines from in, judges them on one worker per CPU and writes
// the results to out in input order, flushing after every line when
// flushEach is set. It returns the first read or write error, or ctx's
// error when ctx ends first.
func (j *judge) stream(ctx context.Context, in io.Reader, out io.Writer, flushEach bool) error {
	ctx, cancel := context.WithCancel(ctx)
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *job)
	// The writer takes jobs in input order from order, whose capacity
	// bounds the lines in flight and so the memory used.
	order := make(chan *job, 2*workers)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	// The reader is not in the wait group: a read from a terminal or an
	// idle pipe cannot be interrupted, and an interrupted scan must still
	// return. It ends at the next line or at end of input.
	go func() { readErr <- readLines(ctx, in, work, order) }()
	for range workers {
		wg.Go(func() { j.work(ctx, work) })
	}
	return write(ctx, out, order, readErr, flushEach)
}

// readLines sends every line of in to both channels and closes them at the
// end of input or on the first read error, which it returns.
func readLines(ctx context.Context, in io.Reader, work, order chan<- *job) error {
	defer close(work)
	defer close(order)
	lr := newLineReader(in, MaxLineBytes)
	for {
		line, long, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		jb := &job{n: lr.n, line: append([]byte(nil), line...), long: long, out: make(chan any, 1)}
		for _, ch := range [...]chan<- *job{order, work} {
			select {
			case ch <- jb:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// work judges jobs until work is closed or ctx ends.
func (j *judge) work(ctx context.Context, work <-chan *job) {
	for {
		select {
		case jb, ok := <-work:
			if !ok {
				return
			}
			jb.out <- j.line(ctx, jb.n, jb.line, jb.long)
		case <-ctx.Done():
			return
		}
	}
}

// write encodes the results in the order of jobs until order is closed,
// then returns the reader's error.
func write(ctx context.Context, out io.Writer, order <-chan *job, readErr <-chan error, flushEach bool) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	for {
		var jb *job
		var ok bool
		select {
		case jb, ok = <-order:
		case <-ctx.Done():
			return flushAfter(bw, ctx.Err())
		}
		if !ok {
			return flushAfter(bw, <-readErr)
		}
		var res any
		select {
		case res = <-jb.out:
		case <-ctx.Done():
			return flushAfter(bw, ctx.Err())
		}
		if err := json.MarshalWrite(bw, res); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if err := bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if flushEach {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
	}
}

// flushAfter writes out what is buffered and returns err, or the flush
// error when err is nil.
func flushAfter(bw *bufio.Writer, err error) error {
	if ferr := bw.Flush(); ferr != nil && err == nil {
		return fmt.Errorf("write output: %w", ferr)
	}
	return err
}
