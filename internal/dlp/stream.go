package dlp

import (
	"strings"
	"unicode/utf8"
)

const (
	// lookBehind is how much already emitted text is kept as context for
	// detectors that look before a value (birth dates, SSNs, phones).
	lookBehind = 64
	// maxPending bounds what a stream holds while a long value (a JWT)
	// crosses the hold-back window; past it the head of the value is
	// replaced on its own, as a partial value.
	maxPending = 16 << 10
)

// StreamMasker applies the scanner's actions to a stream of text fragments
// (SSE deltas), holding back at most the configured number of bytes so that
// a value split across fragments at any offset is still found, and, in the
// response direction, restoring placeholders split across fragments. One
// StreamMasker serves one channel of one response (content, reasoning or a
// tool call's arguments); it is not safe for concurrent use.
type StreamMasker struct {
	s        *Scanner
	dir      Direction
	v        *Vault
	hold     int
	maxHold  int    // cap on the hold-back for a long token still arriving
	runStart int    // stream offset where the trailing run of token bytes starts
	release  int    // stream offset where a held long token ended, or 0
	ctx      string // emitted input kept as look-behind context
	pending  string // input not yet emitted
	bytes    int    // input bytes emitted so far
	runes    int    // input code points emitted so far
	inKey    bool   // inside a private key whose END line is not seen yet
	findings []Finding
	blocked  *Finding
	scratch  []Finding
}

// NewStreamMasker returns a masker for one stream in direction dir. The
// vault may be nil when no action pseudonymizes.
func (s *Scanner) NewStreamMasker(dir Direction, v *Vault) *StreamMasker {
	return &StreamMasker{s: s, dir: dir, v: v, hold: s.cfg.HoldBack, maxHold: s.cfg.MaxHoldBack}
}

// Write adds a fragment and returns the text that is safe to emit now,
// possibly empty. After a block, Write returns nothing more.
func (m *StreamMasker) Write(fragment string) string {
	if m.blocked != nil {
		return ""
	}
	if k := lastNonToken(fragment); k >= 0 {
		if r, held := m.longRun(); held && len(m.pending)-r > m.hold {
			// A long token held past the hold-back ends here: release
			// it at once rather than hold-back bytes later.
			m.release = m.bytes + len(m.pending) + strings.IndexFunc(fragment, func(r rune) bool { return r > 0x7f || !longTokenByte(byte(r)) })
		}
		m.runStart = m.bytes + len(m.pending) + k + 1
	}
	m.pending += fragment
	if m.inKey && !m.skipKey() {
		return ""
	}
	if len(m.pending) <= m.hold {
		return ""
	}
	if r, ok := m.longRun(); ok && r == 0 {
		// Everything before a long token still arriving is out; nothing
		// can be emitted until it ends, so skip the scan.
		return ""
	}
	return m.emit(false)
}

// longTokenByte reports bytes that occur in the long token formats: the
// base64 alphabets and the dots of JWTs and Vault tokens.
func longTokenByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/'
}

// lastNonToken returns the index of the last byte of s that cannot be part
// of a long token, or -1.
func lastNonToken(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if !longTokenByte(s[i]) {
			return i
		}
	}
	return -1
}

// longRun reports whether pending ends in a run of token bytes that starts
// with the prefix of a token format longer than the hold-back (a JWT's
// "eyJ", "ops_eyJ", "glc_", "hvb.", ...) and is no longer than maxHold, and
// where in pending the run starts. Such a run is held whole: the stream
// cannot tell a token that is still arriving from one that has ended.
func (m *StreamMasker) longRun() (int, bool) {
	r := m.runStart - m.bytes
	if r < 0 || len(m.pending)-r > m.maxHold {
		return 0, false
	}
	run := m.pending[r:]
	if len(run) < 3 {
		return 0, false
	}
	for _, p := range m.s.longPrefixes[run[0]] {
		if strings.HasPrefix(run, p) {
			return r, true
		}
	}
	return 0, false
}

// Flush emits everything still held; call it at the end of the stream.
func (m *StreamMasker) Flush() string {
	if m.blocked != nil || m.inKey && !m.skipKey() {
		m.pending = ""
		return ""
	}
	return m.emit(true)
}

// Findings returns the findings so far, with offsets into the whole stream.
func (m *StreamMasker) Findings() []Finding { return m.findings }

// Blocked returns the finding that blocked the stream, or nil. The caller
// should end the stream with an error naming the finding's type.
func (m *StreamMasker) Blocked() *Finding { return m.blocked }

// emit scans look-behind plus pending text, picks a cut that splits no
// finding and no placeholder, and returns the processed text before it.
func (m *StreamMasker) emit(final bool) string {
	text := m.ctx + m.pending
	base := len(m.ctx)
	fs := m.s.scan(text, m.scratch)
	m.scratch = fs
	cut := len(text)
	if !final {
		cut = tokenCut(text, runeCut(text, len(text)-m.hold), base)
		if r, ok := m.longRun(); ok {
			cut = min(cut, base+r)
		} else if rel := base + m.release - m.bytes; m.release > 0 && rel > cut && rel <= len(text) {
			cut = rel
		}
		m.release = 0
	}
	var open *Finding
	for i := range fs {
		f := &fs[i]
		if f.ByteStart < cut && f.ByteEnd > cut {
			if m.keyOpen(f, text) {
				open = f
				cut = f.ByteEnd
			} else if len(m.pending) < maxPending {
				cut = max(f.ByteStart, base)
			}
		}
	}
	if !final && m.dir == Response && m.v != nil {
		if p := openPlaceholder(text[max(base, cut-maxPlaceholder):cut]); p >= 0 {
			cut = max(base, cut-maxPlaceholder) + p
		}
	}
	cut = max(cut, base)
	out := m.process(text, base, cut, fs)
	m.advance(text, base, cut)
	if open != nil && m.blocked == nil {
		m.inKey = true
		m.ctx = ""
	}
	return out
}

// keyOpen reports a private key that runs to the end of the buffer without
// its END line and whose action changes the text: the stream then replaces
// it at once and drops the rest of the key as it arrives.
func (m *StreamMasker) keyOpen(f *Finding, text string) bool {
	if f.Type != TypePrivateKey || f.ByteEnd != len(strings.TrimRight(text, " \t\r\n")) {
		return false
	}
	a := m.s.Action(f.Type, m.dir)
	return a != ActionAllow && a != ActionLog && !strings.Contains(text[f.ByteStart:], "-----END")
}

// process applies actions to text[base:cut] with the findings inside it,
// recording them with stream offsets.
func (m *StreamMasker) process(text string, base, cut int, fs []Finding) string {
	in := fs[:0]
	for _, f := range fs {
		if f.ByteEnd <= base || f.ByteStart >= cut {
			continue
		}
		f.ByteStart, f.ByteEnd = max(f.ByteStart, base)-base, min(f.ByteEnd, cut)-base
		in = append(in, f)
	}
	seg := text[base:cut]
	fillRuneOffsets(seg, in)
	out, kept, blocked := m.s.apply(seg, in, m.dir, m.v)
	for _, f := range kept {
		f.ByteStart, f.ByteEnd = f.ByteStart+m.bytes, f.ByteEnd+m.bytes
		f.Start, f.End = f.Start+m.runes, f.End+m.runes
		m.findings = append(m.findings, f)
	}
	if blocked != nil {
		b := *blocked
		b.ByteStart, b.ByteEnd = b.ByteStart+m.bytes, b.ByteEnd+m.bytes
		b.Start, b.End = b.Start+m.runes, b.End+m.runes
		// Emit only up to the blocked value's replacement.
		if end := strings.Index(out, "["+Label(b.Type)+"]"); end >= 0 {
			out = out[:end+len(Label(b.Type))+2]
		}
		m.blocked = &b
	}
	return out
}

// advance moves the emitted input into the look-behind context.
func (m *StreamMasker) advance(text string, base, cut int) {
	m.bytes += cut - base
	m.runes += utf8.RuneCountInString(text[base:cut])
	m.pending = text[cut:]
	ctx := text[:cut]
	if len(ctx) > lookBehind {
		ctx = ctx[runeCut(ctx, len(ctx)-lookBehind):]
	}
	m.ctx = ctx
}

// skipKey drops private key text up to and including its END line. It
// reports whether the END line was found; until then it keeps only a tail
// that may hold the start of the END line.
func (m *StreamMasker) skipKey() bool {
	i := strings.Index(m.pending, "-----END ")
	if i >= 0 {
		if j := strings.Index(m.pending[i+9:], "-----"); j >= 0 {
			end := i + 9 + j + 5
			m.bytes += end
			m.runes += utf8.RuneCountInString(m.pending[:end])
			m.pending = m.pending[end:]
			m.inKey = false
			return true
		}
		return false
	}
	if keep := 80; len(m.pending) > keep {
		drop := runeCut(m.pending, len(m.pending)-keep)
		m.bytes += drop
		m.runes += utf8.RuneCountInString(m.pending[:drop])
		m.pending = m.pending[drop:]
	}
	return false
}

// maxTokenBackup bounds how far a cut moves back to a token's start.
const maxTokenBackup = 2048

// tokenCut moves a cut inside a run of printable ASCII back to the run's
// start, so that a key or token longer than the hold-back is never split
// into a harmless-looking head and a tail; most credentials are one such
// run. Text in other scripts is cut where it falls.
func tokenCut(text string, cut, base int) int {
	if cut <= base || cut >= len(text) || !asciiGraphic(text[cut]) {
		return cut
	}
	for i := cut; i > base && cut-i < maxTokenBackup; i-- {
		if !asciiGraphic(text[i-1]) {
			return i
		}
	}
	if cut-base >= maxTokenBackup {
		return cut
	}
	return base
}

func asciiGraphic(c byte) bool { return c > ' ' && c < 0x7f }

// runeCut moves i back to a rune start, clamped to [0, len(s)].
func runeCut(s string, i int) int {
	if i <= 0 {
		return 0
	}
	if i >= len(s) {
		return len(s)
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
