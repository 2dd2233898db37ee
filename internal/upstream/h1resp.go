package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httputil"
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// An HTTP/1.1 answer's head is parsed here rather than by
// http.ReadResponse: the gateway forwards no upstream header, so only the
// few it acts on are kept, which spares a header map of every upstream
// header on every request. The chunked transfer coding is decoded here too,
// so that a body can be read in place (see chunkedBody).

var (
	errMalformedAnswer = errors.New("upstream sent a malformed HTTP answer")
	errHeaderTooLarge  = errors.New("upstream response header too large")
)

// answer is a parsed answer head and its body.
type answer struct {
	resp  *http.Response
	reuse bool // the connection may carry another request afterwards
}

// connBuf is what the answer parser and the bodies read from: the
// connection's connReader, or a bufio.Reader, which has the same methods.
type connBuf interface {
	Read(p []byte) (int, error)
	ReadSlice(delim byte) ([]byte, error)
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
	Buffered() int
}

// readAnswer reads one answer's status line and header from br, skipping
// interim (1xx) answers, and sets up its body. maxHeader bounds the bytes
// of the head.
func readAnswer(br connBuf, maxHeader int) (answer, error) {
	budget := maxHeader
	for {
		a, interim, err := readHead(br, &budget)
		if err != nil || !interim {
			return a, err
		}
	}
}

// line reads one header line without its CR LF, charging it to budget.
func line(br connBuf, budget *int) ([]byte, error) {
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

func readHead(br connBuf, budget *int) (a answer, interim bool, err error) {
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
		contentType, retryAfter                   string
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
		if !validFieldName(l[:i]) {
			// Whitespace before the colon (RFC 9112 section 5.1) or any
			// other byte outside a token: the field would be misread by
			// one reader or another, so the answer is refused.
			return a, false, fmt.Errorf("%w: header name %q", errMalformedAnswer, clipBytes(l[:i], 32))
		}
		name, value := l[:i], bytes.TrimSpace(l[i+1:])
		switch {
		case asciiEqualFold(name, "Content-Type"):
			contentType = internContentType(value)
		case asciiEqualFold(name, "Retry-After"):
			retryAfter = string(value)
		case asciiEqualFold(name, "Content-Length"):
			n, perr := strconv.ParseInt(string(value), 10, 64)
			if perr != nil || n < 0 || (haveLength && n != length) {
				return a, false, fmt.Errorf("%w: Content-Length %q", errMalformedAnswer, clipBytes(value, 32))
			}
			length, haveLength = n, true
		case asciiEqualFold(name, "Transfer-Encoding"):
			// HTTP/1.0 has no transfer codings: RFC 9112 section 6.1 has
			// such an answer's framing treated as faulty (net/http would
			// read its body to the end of the connection instead), so the
			// answer is refused rather than guessed at.
			if !http11 || !asciiEqualFold(value, "chunked") || chunked {
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
	resp.Header = answerHeader(contentType, retryAfter)
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
		resp.Body = &chunkedBody{br: br, budget: *budget}
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
		resp.Body = closeBody{r: br}
	}
	return a, false, nil
}

// validFieldName reports whether name is an RFC 9110 token.
func validFieldName(name []byte) bool {
	for _, c := range name {
		if !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// sharedHeaders are the headers of the usual answers, JSON or an event
// stream without Retry-After: such an answer gets one of these shared maps
// instead of a map of its own. Nothing modifies an answer's header.
var sharedHeaders = func() map[string]http.Header {
	m := map[string]http.Header{}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8",
		"text/event-stream", "text/event-stream; charset=utf-8"} {
		m[ct] = http.Header{"Content-Type": {ct}}
	}
	return m
}()

// internContentType returns v as a string, without allocating when it is
// one of the usual content types.
func internContentType(v []byte) string {
	if h, ok := sharedHeaders[string(v)]; ok {
		return h["Content-Type"][0]
	}
	return string(v)
}

// answerHeader returns the header kept of an answer: its content type and
// Retry-After, the only fields Rampart reads; nil when it has neither.
func answerHeader(contentType, retryAfter string) http.Header {
	if retryAfter == "" {
		if contentType == "" {
			return nil
		}
		if h, ok := sharedHeaders[contentType]; ok {
			return h
		}
	}
	h := make(http.Header, 2)
	if contentType != "" {
		h["Content-Type"] = []string{contentType}
	}
	if retryAfter != "" {
		h["Retry-After"] = []string{retryAfter}
	}
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

// The answer bodies below are also read in place: Peek hands out the bytes
// that the connection's read buffer already holds, so a caller that parses
// them (the SSE relay) needs no read buffer of its own, and Buffered tells
// it when a Peek would have to wait for the network.

// peekBuffered returns up to limit bytes that br holds, filling it once
// when it holds none. A fill that reads nothing returns its error.
func peekBuffered(br connBuf, limit int64) ([]byte, error) {
	n := br.Buffered()
	if n == 0 {
		if _, err := br.Peek(1); err != nil {
			return nil, err
		}
		n = br.Buffered()
	}
	p, _ := br.Peek(int(min(int64(n), limit)))
	return p, nil
}

// lengthBody is a body of a known length.
type lengthBody struct {
	r connBuf
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

// Peek returns the buffered bytes of the body, reading once if none are.
// They stay valid until the next read.
func (b *lengthBody) Peek() ([]byte, error) {
	if b.n <= 0 {
		return nil, io.EOF
	}
	p, err := peekBuffered(b.r, b.n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return p, err
}

// Advance consumes n bytes of what Peek returned.
func (b *lengthBody) Advance(n int) {
	_, _ = b.r.Discard(n)
	b.n -= int64(n)
}

// Buffered reports how many bytes Peek returns without reading.
func (b *lengthBody) Buffered() int {
	return int(min(b.n, int64(b.r.Buffered())))
}

func (b *lengthBody) Close() error { return nil }

// closeBody is a body that runs until the connection closes.
type closeBody struct {
	r connBuf
}

func (b closeBody) Read(p []byte) (int, error) { return b.r.Read(p) }

// Peek returns the buffered bytes of the body, reading once if none are.
func (b closeBody) Peek() ([]byte, error) { return peekBuffered(b.r, math.MaxInt64) }

// Advance consumes n bytes of what Peek returned.
func (b closeBody) Advance(n int) { _, _ = b.r.Discard(n) }

// Buffered reports how many bytes Peek returns without reading.
func (b closeBody) Buffered() int { return b.r.Buffered() }

func (b closeBody) Close() error { return nil }

// The chunked transfer coding is decoded here, by the rules of
// net/http/internal's chunked reader: a chunk-size line must end in CR LF
// with no other CR, is at most maxChunkLine bytes, has a hex size of at
// most 16 digits and may carry extensions after a ';', which are dropped;
// chunk data must be followed by CR LF; and a sender whose framing far
// outweighs its data is cut off. After the last chunk the trailer fields
// are read, and dropped, up to the empty line, so that the connection is
// positioned at the next answer.

// maxChunkLine bounds a chunk-size line, as net/http does.
const maxChunkLine = 4096

var (
	errChunkMalformed = errors.New("malformed chunked encoding")
	errChunkBareLF    = errors.New("chunked line ends with bare LF")
	errChunkCR        = errors.New("invalid CR in chunked line")
	errChunkEmptySize = errors.New("empty hex number for chunk length")
	errChunkBadSize   = errors.New("invalid byte in chunk length")
	errChunkTooLarge  = errors.New("http chunk length too large")
	errChunkOverhead  = errors.New("chunked encoding contains too much non-data")
)

// chunkedBody decodes a chunked body.
type chunkedBody struct {
	br       connBuf
	n        uint64 // unread data bytes of the current chunk
	excess   int64  // framing bytes beyond what the data allows
	budget   int    // header bytes left for the trailer
	err      error  // io.EOF after the trailer, or what ended the body
	checkEnd bool   // the CR LF after a chunk's data is due
	trailer  bool   // the last chunk was read; trailer lines are due
}

// Read reads data like net/http's chunked reader: once it has some, it
// returns rather than wait for framing or data not yet buffered.
func (b *chunkedBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && b.err == nil {
		if b.n == 0 {
			if b.frame(n == 0); b.n == 0 {
				break
			}
		}
		if n > 0 && b.br.Buffered() == 0 {
			break
		}
		q := p[n:]
		if uint64(len(q)) > b.n {
			q = q[:b.n]
		}
		m, err := b.br.Read(q)
		n += m
		b.n -= uint64(m)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
		} else if b.n == 0 {
			b.checkEnd = true
		}
	}
	if n == 0 || b.err == io.EOF {
		return n, b.err
	}
	return n, nil
}

// Peek returns the buffered data of the current chunk, first reading the
// framing before it and, when no data is buffered, reading once. The bytes
// stay valid until the next read.
func (b *chunkedBody) Peek() ([]byte, error) {
	if b.n == 0 {
		b.frame(true)
	}
	if b.err != nil {
		return nil, b.err
	}
	p, err := peekBuffered(b.br, int64(min(b.n, math.MaxInt64)))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		b.err = err
	}
	return p, err
}

// Advance consumes n bytes of what Peek returned.
func (b *chunkedBody) Advance(n int) {
	if n <= 0 {
		return
	}
	_, _ = b.br.Discard(n)
	if b.n -= uint64(n); b.n == 0 {
		b.checkEnd = true
	}
}

// Buffered reports how many data bytes Peek returns without reading: it
// reads past any framing that is wholly buffered, and reports 0 if that
// leaves none.
func (b *chunkedBody) Buffered() int {
	if b.n == 0 {
		b.frame(false)
	}
	if b.err != nil {
		return 0
	}
	return int(min(b.n, uint64(b.br.Buffered())))
}

func (b *chunkedBody) Close() error { return nil }

// frame reads framing until chunk data is due or the body ends. Unless wait
// is set it stops, rather than read, at framing that is not wholly buffered.
func (b *chunkedBody) frame(wait bool) {
	for b.n == 0 && b.err == nil {
		switch {
		case b.checkEnd:
			if !wait && b.br.Buffered() < 2 {
				return
			}
			p, err := b.br.Peek(2)
			if err != nil {
				b.fail(err)
				return
			}
			if p[0] != '\r' || p[1] != '\n' {
				b.err = errChunkMalformed
				return
			}
			_, _ = b.br.Discard(2)
			b.checkEnd = false
		case b.trailer:
			if !wait && !b.lineBuffered() {
				return
			}
			l, err := line(b.br, &b.budget)
			if err != nil {
				b.fail(err)
				return
			}
			if len(l) == 0 {
				b.err = io.EOF
			}
		default:
			if !wait && !b.lineBuffered() {
				return
			}
			b.chunkHeader()
		}
	}
}

// lineBuffered reports whether a whole line is buffered.
func (b *chunkedBody) lineBuffered() bool {
	p, _ := b.br.Peek(b.br.Buffered())
	return bytes.IndexByte(p, '\n') >= 0
}

// fail ends the body with a read error; the framing promised more bytes.
func (b *chunkedBody) fail(err error) {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	b.err = err
}

// chunkHeader reads a chunk-size line.
func (b *chunkedBody) chunkHeader() {
	p, err := b.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			err = httputil.ErrLineTooLong
		}
		b.fail(err)
		return
	}
	// RFC 9112 lets a header line end in a bare LF, but not a chunk line.
	if i := bytes.IndexByte(p, '\r'); i < 0 {
		b.err = errChunkBareLF
		return
	} else if i != len(p)-2 {
		b.err = errChunkCR
		return
	}
	p = p[:len(p)-2]
	if len(p) >= maxChunkLine {
		b.err = httputil.ErrLineTooLong
		return
	}
	b.excess += int64(len(p)) + 2 // the line, and the CR LF after the data
	for len(p) > 0 && (p[len(p)-1] == ' ' || p[len(p)-1] == '\t') {
		p = p[:len(p)-1]
	}
	p, _, _ = bytes.Cut(p, []byte(";"))
	n, err := parseChunkSize(p)
	if err != nil {
		b.err = err
		return
	}
	// One byte per chunk is legitimate streaming; long extensions on tiny
	// chunks are not. Allow 16 bytes of framing per chunk plus twice its
	// data, as net/http does.
	b.excess = max(b.excess-16-2*int64(n), 0)
	if b.excess > 16<<10 {
		b.err = errChunkOverhead
		return
	}
	if n == 0 {
		b.trailer = true
		return
	}
	b.n = n
}

// parseChunkSize parses a chunk size in hex.
func parseChunkSize(v []byte) (uint64, error) {
	if len(v) == 0 {
		return 0, errChunkEmptySize
	}
	var n uint64
	for i, c := range v {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errChunkBadSize
		}
		if i == 16 {
			return 0, errChunkTooLarge
		}
		n = n<<4 | uint64(c)
	}
	return n, nil
}
