package sim

import "strings"

// vocabulary is the fixed word list tokens are drawn from. Each token is a
// word and a trailing space, so token counts are easy to check.
var vocabulary = func() []string {
	words := strings.Fields(`the model considers request answer because first
		then next so we should check data value result step reason careful
		likely correct simple number list order note point case example user
		question context detail part whole time safe clear short long final
		think about this that with from into over under again maybe also
		plan draft review verify confirm compute sum total each every`)
	for i, w := range words {
		words[i] = w + " "
	}
	return words
}()

// rng is a splitmix64 generator: tiny, fast and deterministic.
type rng struct{ state uint64 }

// next returns the next pseudo-random value.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// word returns a vocabulary token.
func (r *rng) word() string { return vocabulary[r.intn(len(vocabulary))] }

// seedFor derives a request's generator seed from the server seed and the
// parts of the request that define the conversation, so that the streaming
// and non-streaming forms of one prompt produce the same text.
func seedFor(seed int64, model string, messages []byte) uint64 {
	h := fnvAdd(fnvOffset, model)
	h = fnvAdd(h, messages)
	return uint64(seed) ^ h
}

// FNV-1a, written out so that hashing allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvAdd folds b into the FNV-1a hash h.
func fnvAdd[B ~string | ~[]byte](h uint64, b B) uint64 {
	for i := 0; i < len(b); i++ {
		h ^= uint64(b[i])
		h *= fnvPrime
	}
	return h
}

// splitWords cuts literal text into word tokens that keep their trailing
// space, so joining them gives the text back. Empty text gives an empty,
// non-nil list, which a source reads as "no tokens".
func splitWords(text string) []string {
	if text == "" {
		return []string{}
	}
	return strings.SplitAfter(text, " ")
}

// Channels a piece of output belongs to.
const (
	chanReasoning = iota
	chanContent
)

// source yields tokens: literal ones when set, else n generated ones.
type source struct {
	literal []string
	n       int
}

// count is the number of tokens the source yields.
func (src source) count() int {
	if src.literal != nil {
		return len(src.literal)
	}
	return src.n
}

// token returns the i-th token.
func (src source) token(i int, r *rng) string {
	if src.literal != nil {
		return src.literal[i]
	}
	return r.word()
}

// plan is what one completion will say, before any formatting.
type plan struct {
	reasoning, answer source
	// inline is the flavour's reasoning placement when the model reasons;
	// reasonField otherwise.
	inline   int
	reasons  bool
	rng      rng
	limit    int  // max_tokens, 0 for none
	answerLm bool // limit applies to the answer only
	// Filled by walk:
	reasoningN, answerN int
	truncated           bool
}

// emit receives one piece of output; returning false stops the walk.
type emit func(channel int, text string) bool

// walk produces the completion piece by piece: reasoning tokens, the think
// tags of inline flavours (split in two pieces at a seeded position, since
// a gateway must reassemble tags cut across chunks), then answer tokens. It
// applies max_tokens and records counts and truncation.
func (p *plan) walk(fn emit) bool {
	p.reasoningN, p.answerN, p.truncated = 0, 0, false
	budget := -1
	if p.limit > 0 && !p.answerLm {
		budget = p.limit
	}
	if p.reasons && p.inline == reasonInline && !p.tag(fn, "<think>\n") {
		return false
	}
	if p.reasons {
		n := p.reasoning.count()
		for i := 0; i < n; i++ {
			if budget == 0 {
				p.truncated = true
				return true
			}
			budget--
			p.reasoningN++
			ch := chanReasoning
			if p.inline != reasonField {
				ch = chanContent
			}
			if !fn(ch, p.reasoning.token(i, &p.rng)) {
				return false
			}
		}
		if p.inline != reasonField && !p.tag(fn, "\n</think>\n\n") {
			return false
		}
	}
	if p.limit > 0 && p.answerLm {
		budget = p.limit
	}
	n := p.answer.count()
	for i := 0; i < n; i++ {
		if budget == 0 {
			p.truncated = true
			return true
		}
		budget--
		p.answerN++
		if !fn(chanContent, p.answer.token(i, &p.rng)) {
			return false
		}
	}
	return true
}

// tag emits an inline think tag, cut in two at a seeded position inside the
// tag name about half of the time.
func (p *plan) tag(fn emit, tag string) bool {
	open := strings.IndexByte(tag, '<')
	cut := 0
	if p.rng.intn(2) == 1 {
		// Cut strictly inside "<...>", so the tag itself is split.
		closeAt := strings.IndexByte(tag, '>')
		cut = open + 1 + p.rng.intn(closeAt-open)
	}
	if cut == 0 {
		return fn(chanContent, tag)
	}
	return fn(chanContent, tag[:cut]) && fn(chanContent, tag[cut:])
}

// completionTokens is the usage count of generated tokens.
func (p *plan) completionTokens() int { return p.reasoningN + p.answerN }

// finishReason is "length" when max_tokens cut the completion.
func (p *plan) finishReason() string {
	if p.truncated {
		return "length"
	}
	return "stop"
}
