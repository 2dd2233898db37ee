package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
)

// An HTTP/1.1 answer's head is parsed here rather than by
// http.ReadResponse: the gateway forwards no upstream header, so only the
// few it acts on are kept, which spares a header map of every upstream
// header on every request. The chunked transfer coding is decoded by
// net/http's own reader.

var (
	errMalformedAnswer = errors.New("upstream sent a malformed HTTP answer")
	errHeaderTooLarge  = errors.New("upstream response header too large")
)

// answer is a parsed answer head and its body.
type answer struct {
	resp  *http.Response
	reuse bool // the connection may carry another request afterwards
}

// readAnswer reads one answer's status line and header from br, skipping
// interim (1xx) answers, and sets up its body. maxHeader bounds the bytes
// of the head.
func readAnswer(br *bufio.Reader, maxHeader int) (answer, error) {
	budget := maxHeader
	for {
		a, interim, err := readHead(br, &budget)
		if err != nil || !interim {
			return a, err
		}
	}
}

// line reads one header line without its CR LF, charging it to budget.
func line(br *bufio.Reader, budget *int) ([]byte, error) {
	l, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errHeaderTooLarge
		}
		if err == io.EOF && len(l) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if *budget -= len(l); *budget < 0 {
		return nil, errHeaderTooLarge
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

func readHead(br *bufio.Reader, budget *int) (a answer, interim bool, err error) {
	l, err := line(br, budget)
	if err != nil {
		return a, false, err
	}
	// HTTP/1.1 200 OK
	if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) || (l[7] != '0' && l[7] != '1') ||
		l[8] != ' ' || (len(l) > 12 && l[12] != ' ') {
		return a, false, fmt.Errorf("%w: status line %q", errMalformedAnswer, clipBytes(l, 64))
	}
	code := 0
	for _, c := range l[9:12] {
		if c < '0' || c > '9' {
			return a, false, fmt.Errorf("%w: status line %q", errMalformedAnswer, clipBytes(l, 64))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return a, false, fmt.Errorf("%w: status %d", errMalformedAnswer, code)
	}
	http11 := l[7] == '1'
	resp := &http.Response{StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: -1}
	if !http11 {
		resp.Proto, resp.ProtoMinor = "HTTP/1.0", 0
	}
	resp.Status = string(l[9:])
	var (
		chunked, closeConn, keepAlive, haveLength bool
		length                                    int64
	)
	for {
		l, err = line(br, budget)
		if err != nil {
			return a, false, err
		}
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return a, false, fmt.Errorf("%w: folded header line", errMalformedAnswer)
		}
		i := bytes.IndexByte(l, ':')
		if i <= 0 {
			return a, false, fmt.Errorf("%w: header line without a colon", errMalformedAnswer)
		}
		name, value := l[:i], bytes.TrimSpace(l[i+1:])
		switch {
		case asciiEqualFold(name, "Content-Type"):
			resp.Header = setHeader(resp.Header, "Content-Type", value)
		case asciiEqualFold(name, "Retry-After"):
			resp.Header = setHeader(resp.Header, "Retry-After", value)
		case asciiEqualFold(name, "Content-Length"):
			n, perr := strconv.ParseInt(string(value), 10, 64)
			if perr != nil || n < 0 || (haveLength && n != length) {
				return a, false, fmt.Errorf("%w: Content-Length %q", errMalformedAnswer, clipBytes(value, 32))
			}
			length, haveLength = n, true
		case asciiEqualFold(name, "Transfer-Encoding"):
			if !asciiEqualFold(value, "chunked") || chunked {
				return a, false, fmt.Errorf("%w: Transfer-Encoding %q", errMalformedAnswer, clipBytes(value, 32))
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.TrimSpace(tok)
				closeConn = closeConn || asciiEqualFold(tok, "close")
				keepAlive = keepAlive || asciiEqualFold(tok, "keep-alive")
			}
		}
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return a, true, nil
	}
	a.resp = resp
	a.reuse = !closeConn && (http11 || keepAlive)
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified || code == http.StatusSwitchingProtocols:
		resp.ContentLength = 0
		resp.Body = http.NoBody
		a.reuse = a.reuse && code != http.StatusSwitchingProtocols
	case chunked:
		// A length next to chunked coding is a framing attack; the
		// coding wins and the connection is not trusted afterwards.
		a.reuse = a.reuse && !haveLength
		resp.TransferEncoding = []string{"chunked"}
		resp.Body = &chunkedBody{br: br, cr: httputil.NewChunkedReader(br), budget: *budget}
	case haveLength:
		resp.ContentLength = length
		if length == 0 {
			resp.Body = http.NoBody
		} else {
			resp.Body = &lengthBody{r: br, n: length}
		}
	default:
		// The body runs until the connection closes.
		a.reuse = false
		resp.Body = io.NopCloser(br)
	}
	return a, false, nil
}

func setHeader(h http.Header, k string, v []byte) http.Header {
	if h == nil {
		h = make(http.Header, 2)
	}
	h[k] = []string{string(v)}
	return h
}

// asciiEqualFold compares b with the ASCII string s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// lengthBody is a body of a known length.
type lengthBody struct {
	r io.Reader
	n int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n > 0 && err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if b.n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}

func (b *lengthBody) Close() error { return nil }

// chunkedBody decodes a chunked body and consumes its trailer, so that
// the connection is positioned at the next answer.
type chunkedBody struct {
	br     *bufio.Reader
	cr     io.Reader
	budget int
	done   bool
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.cr.Read(p)
	if err == io.EOF {
		// Trailer fields, if any, then the empty line.
		for {
			l, lerr := line(b.br, &b.budget)
			if lerr != nil {
				if lerr == io.EOF {
					lerr = io.ErrUnexpectedEOF
				}
				return n, lerr
			}
			if len(l) == 0 {
				break
			}
		}
		b.done = true
	}
	return n, err
}

func (b *chunkedBody) Close() error { return nil }
