package openai

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// DefaultMaxDepth is the nesting limit used when Limits.MaxDepth is zero.
const DefaultMaxDepth = 64

// linearKeys is how many member names of one object are checked for
// duplicates by a linear search before the scanner switches to a map, which
// keeps an object with thousands of members from costing quadratic time.
const linearKeys = 32

// pathSeg is one step of the path to the value being read, kept so that an
// error can name its param ("messages[2].role") without building strings on
// the happy path.
type pathSeg struct {
	name  []byte
	index int // -1 for an object member
}

// objFrame is the state of one object being read.
type objFrame struct {
	base int // where this object's names start in scanner.keys
	n    int // members read so far
	set  map[string]struct{}
}

// arrFrame is the state of one array being read.
type arrFrame struct{ n int }

// scanner is a validating, single-pass JSON reader over a byte slice. It
// rejects everything jsontext rejects by default (invalid UTF-8, lone
// surrogate escapes, duplicate names) and enforces a nesting limit.
type scanner struct {
	b        []byte
	i        int
	depth    int
	maxDepth int
	keyStart int // offset of the opening quote of the last member name
	keys     [][]byte
	path     []pathSeg
	// text, when set, is an immutable copy of b that strString slices.
	text string
	// scratch holds the decoded form of the last escaped string read by
	// strScratch.
	scratch []byte
	// where is the noun used in syntax errors: "request body" or "response".
	where string
}

var scannerPool = sync.Pool{New: func() any {
	return &scanner{keys: make([][]byte, 0, 64), path: make([]pathSeg, 0, 16)}
}}

func getScanner(b []byte, maxDepth int) *scanner {
	s := scannerPool.Get().(*scanner)
	s.reset(b, maxDepth)
	return s
}

func putScanner(s *scanner) {
	// Drop references into the caller's buffer before the scanner is reused.
	clear(s.keys[:cap(s.keys)])
	clear(s.path[:cap(s.path)])
	s.b, s.text = nil, ""
	if cap(s.scratch) > 64<<10 {
		// Do not keep a huge buffer alive for the next, probably small, body.
		s.scratch = nil
	}
	scannerPool.Put(s)
}

func (s *scanner) reset(b []byte, maxDepth int) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	s.b, s.i, s.depth, s.maxDepth, s.keyStart = b, 0, 0, maxDepth, 0
	s.keys, s.path = s.keys[:0], s.path[:0]
	s.where = "request body"
	s.text = ""
}

// param renders the path to the current value, such as messages[2].role.
func (s *scanner) param() string {
	var sb strings.Builder
	for _, p := range s.path {
		if p.index >= 0 {
			fmt.Fprintf(&sb, "[%d]", p.index)
			continue
		}
		if p.name == nil {
			break
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(paramName(p.name))
	}
	return sb.String()
}

func (s *scanner) fail(code, msg string) error {
	return apierr.BadParam(s.param(), code, msg)
}

func (s *scanner) failf(code, format string, args ...any) error {
	return s.fail(code, fmt.Sprintf(format, args...))
}

// typeErr reports that the current value has the wrong type.
func (s *scanner) typeErr(want string) error {
	p := s.param()
	return apierr.BadParam(p, CodeInvalidType, fmt.Sprintf("'%s' must be %s", p, want))
}

// valueErr reports that the current value is out of range.
func (s *scanner) valueErr(want string) error {
	p := s.param()
	return apierr.BadParam(p, CodeInvalidValue, fmt.Sprintf("'%s' must be %s", p, want))
}

func (s *scanner) eof() error {
	return s.failf(CodeInvalidJSON, "the %s is not valid JSON: unexpected end of input", s.where)
}

func (s *scanner) unexpected() error {
	if s.i >= len(s.b) {
		return s.eof()
	}
	return s.failf(CodeInvalidJSON, "the %s is not valid JSON: unexpected %s at offset %d",
		s.where, describeByte(s.b[s.i]), s.i)
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		// Compact JSON, the usual case: every whitespace byte is at most
		// a space.
		if c := s.b[s.i]; c > ' ' {
			return c
		}
	}
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// value validates and skips one value of any type.
func (s *scanner) value() error {
	switch c := s.peek(); c {
	case '{':
		return s.skipObject()
	case '[':
		return s.skipArray()
	case '"':
		_, _, _, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			_, err := s.number()
			return err
		}
		return s.unexpected()
	}
}

// null consumes a null literal if one is next and reports whether it did.
func (s *scanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.unexpected()
	}
	s.i += len(lit)
	return nil
}

// boolean reads true, false, or null (as false) and reports whether the
// value had one of those types.
func (s *scanner) boolean() (v, ok bool, err error) {
	switch s.peek() {
	case 't':
		return true, true, s.literal("true")
	case 'f':
		return false, true, s.literal("false")
	case 'n':
		return false, true, s.literal("null")
	}
	return false, false, nil
}

func (s *scanner) skipObject() error {
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	for {
		_, ok, err := s.member(&o)
		if err != nil || !ok {
			return err
		}
		if err := s.value(); err != nil {
			return err
		}
	}
}

func (s *scanner) skipArray() error {
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return err
	}
	for {
		ok, err := s.elem(&a)
		if err != nil || !ok {
			return err
		}
		if err := s.value(); err != nil {
			return err
		}
	}
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > s.maxDepth {
		// Name only the top-level member: the full path would be as deep as
		// the nesting.
		s.path = s.path[:min(len(s.path), 1)]
		return s.failf(CodeTooDeep, "the %s is nested more than %d levels deep", s.where, s.maxDepth)
	}
	return nil
}

// openObject consumes '{'; the caller has checked that it is next.
func (s *scanner) openObject(o *objFrame) error {
	s.i++
	*o = objFrame{base: len(s.keys)}
	s.path = append(s.path, pathSeg{index: -1})
	return s.enter()
}

// openArray consumes '['; the caller has checked that it is next.
func (s *scanner) openArray(a *arrFrame) error {
	s.i++
	a.n = 0
	s.path = append(s.path, pathSeg{index: 0})
	return s.enter()
}

func (s *scanner) leave() {
	s.i++
	s.depth--
	s.path = s.path[:len(s.path)-1]
}

// member reads the next member name of o and the colon after it, leaving the
// scanner at the start of the value. It returns ok=false after the closing
// brace.
func (s *scanner) member(o *objFrame) (name []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.leave()
		s.keys = s.keys[:o.base]
		return nil, false, nil
	}
	if o.n > 0 {
		if c != ',' {
			return nil, false, s.unexpected()
		}
		s.i++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, s.unexpected()
	}
	s.keyStart = s.i
	start, end, esc, err := s.str()
	if err != nil {
		return nil, false, err
	}
	name = s.b[start:end]
	if esc {
		name = appendUnescaped(nil, name)
	}
	s.path[len(s.path)-1].name = name
	if err := s.addKey(o, name); err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.unexpected()
	}
	s.i++
	s.ws()
	o.n++
	return name, true, nil
}

// elem moves to the next element of a, returning ok=false after the
// closing bracket.
func (s *scanner) elem(a *arrFrame) (bool, error) {
	c := s.peek()
	if c == ']' {
		s.leave()
		return false, nil
	}
	if a.n > 0 {
		if c != ',' {
			return false, s.unexpected()
		}
		s.i++
		s.ws()
	}
	s.path[len(s.path)-1].index = a.n
	a.n++
	return true, nil
}

// addKey records name as a member of o, failing if o already has it.
func (s *scanner) addKey(o *objFrame, name []byte) error {
	if o.set != nil {
		if _, dup := o.set[string(name)]; dup {
			return s.dupErr()
		}
		o.set[string(name)] = struct{}{}
		return nil
	}
	for _, k := range s.keys[o.base:] {
		if bytes.Equal(k, name) {
			return s.dupErr()
		}
	}
	s.keys = append(s.keys, name)
	if len(s.keys)-o.base > linearKeys {
		o.set = make(map[string]struct{}, 2*linearKeys)
		for _, k := range s.keys[o.base:] {
			o.set[string(k)] = struct{}{}
		}
		s.keys = s.keys[:o.base]
	}
	return nil
}

func (s *scanner) dupErr() error {
	p := s.param()
	return apierr.BadParam(p, CodeDuplicateKey, fmt.Sprintf("'%s' appears more than once", p))
}

// strSafe marks the bytes that need no attention inside a string.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Constants for safePrefix's word-at-a-time test.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = ones * '"'
	slash  = ones * '\\'
)

// safePrefix returns the length of a prefix of b, a multiple of 8, in which
// every byte is printable ASCII other than '"' and '\\'. It tests eight bytes
// at a time, which is what makes long message contents cheap to scan.
func safePrefix(b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		v := binary.LittleEndian.Uint64(b[n:])
		ctl := v - ones*0x20 // the high bit is set in bytes below 0x20 (or >= 0xa0)
		q := v ^ quotes
		bs := v ^ slash
		// haszero(q) | haszero(bs): the high bit is set where a byte was zero.
		special := (q-ones)&^q | (bs-ones)&^bs
		if (ctl|special|v)&highs != 0 {
			return n
		}
		n += 8
	}
	return n
}

// str reads a string whose opening quote is next and returns the span of
// its contents and whether it has escapes.
func (s *scanner) str() (start, end int, esc bool, err error) {
	b := s.b
	i := s.i + 1
	start = i
	for {
		i += safePrefix(b[i:])
		for i < len(b) && strSafe[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return 0, 0, false, s.eof()
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return start, i, esc, nil
		case c == '\\':
			esc = true
			n, err := s.escape(i)
			if err != nil {
				return 0, 0, false, err
			}
			i += n
		case c < 0x20:
			s.i = i
			return 0, 0, false, s.failf(CodeInvalidJSON,
				"the %s is not valid JSON: unescaped control character 0x%02x in a string at offset %d", s.where, c, i)
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				s.i = i
				return 0, 0, false, s.failf(CodeInvalidUTF8, "the %s contains invalid UTF-8 at offset %d", s.where, i)
			}
			i += n
		}
	}
}

// escape validates the escape sequence at b[i] and returns its length.
func (s *scanner) escape(i int) (int, error) {
	b := s.b
	if i+1 >= len(b) {
		return 0, s.eof()
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(b[i+2:])
		if !ok {
			s.i = i
			return 0, s.failf(CodeInvalidJSON, "the %s is not valid JSON: bad \\u escape at offset %d", s.where, i)
		}
		if !utf16.IsSurrogate(r) {
			return 6, nil
		}
		if r < 0xdc00 && len(b) >= i+12 && b[i+6] == '\\' && b[i+7] == 'u' {
			if r2, ok := hex4(b[i+8:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
				return 12, nil
			}
		}
		s.i = i
		return 0, s.failf(CodeInvalidUTF8, "the %s contains an unpaired surrogate escape at offset %d", s.where, i)
	}
	s.i = i
	return 0, s.failf(CodeInvalidJSON, "the %s is not valid JSON: bad escape at offset %d", s.where, i)
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnescaped appends the decoded form of a validated string body.
func appendUnescaped(dst, src []byte) []byte {
	for len(src) > 0 {
		j := bytes.IndexByte(src, '\\')
		if j < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:j]...)
		src = src[j:]
		switch c := src[1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(src[2:])
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(src[8:])
				r = utf16.DecodeRune(r, r2)
				src = src[6:]
			}
			dst = utf8.AppendRune(dst, r)
			src = src[6:]
			continue
		default:
			dst = append(dst, c)
		}
		src = src[2:]
	}
	return dst
}

// strScratch reads a string value and returns its decoded bytes without
// allocating: a slice of the input when it has no escapes, else of the
// scanner's scratch buffer, valid until the next call.
func (s *scanner) strScratch() ([]byte, error) {
	start, end, esc, err := s.str()
	if err != nil {
		return nil, err
	}
	if esc {
		s.scratch = appendUnescaped(s.scratch[:0], s.b[start:end])
		return s.scratch, nil
	}
	return s.b[start:end], nil
}

// strString reads a string value as a Go string. Without escapes, and when
// the scanner has an immutable copy of its input, the result is a substring
// of that copy and costs no allocation.
func (s *scanner) strString() (string, error) {
	start, end, esc, err := s.str()
	if err != nil {
		return "", err
	}
	if esc {
		s.scratch = appendUnescaped(s.scratch[:0], s.b[start:end])
		return string(s.scratch), nil
	}
	if len(s.text) == len(s.b) && len(s.b) > 0 {
		return s.text[start:end], nil
	}
	return string(s.b[start:end]), nil
}

// number reads a number and reports whether it is written as an integer
// (no fraction, no exponent).
func (s *scanner) number() (isInt bool, err error) {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return false, s.unexpected()
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return false, s.unexpected()
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return false, s.unexpected()
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return isInt, nil
}

// maxInt is the largest integer Rampart accepts for a count it decides on.
const maxInt = 1<<31 - 1

// integer reads a number written as an integer. tooBig reports a value
// beyond maxInt (or below -maxInt); the value is then clamped.
func (s *scanner) integer() (v int, isInt, tooBig bool, err error) {
	start := s.i
	isInt, err = s.number()
	if err != nil || !isInt {
		return 0, isInt, false, err
	}
	digits := s.b[start:s.i]
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	for _, c := range digits {
		v = v*10 + int(c-'0')
		if v > maxInt {
			tooBig = true
			v = maxInt
			break
		}
	}
	if neg {
		v = -v
	}
	return v, true, tooBig, nil
}
