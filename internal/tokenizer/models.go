package tokenizer

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// ForModel returns the tokenizer of a model, by its name:
//   - DeepSeek-V3's exact BPE for a name containing "deepseek" (its
//     vocabulary is decoded on first use, in tens of milliseconds);
//   - the tiktoken encoding of an OpenAI model (o200k_base for gpt-4o,
//     gpt-4.1, o1, o3…; cl100k_base for gpt-4 and gpt-3.5-turbo), read
//     from vocabularies compiled into the binary. Decoding one takes about
//     half a second, so it happens in the background on first use and
//     Heuristic answers meanwhile;
//   - Heuristic for any other model.
//
// The returned Estimator is safe for concurrent use.
func ForModel(model string) Estimator {
	name := strings.ToLower(model)
	if strings.Contains(name, "deepseek") {
		if b, err := DeepSeekV3(); err == nil {
			return b
		}
		return Heuristic{}
	}
	if enc := openAIEncoding(name); enc != "" {
		return tiktokenFor(enc)
	}
	return Heuristic{}
}

// openAIEncoding returns the tiktoken encoding of an OpenAI model name, or
// "".
func openAIEncoding(name string) string {
	if enc, ok := tiktoken.MODEL_TO_ENCODING[name]; ok {
		return enc
	}
	best, enc := 0, ""
	for prefix, e := range tiktoken.MODEL_PREFIX_TO_ENCODING {
		if strings.HasPrefix(name, prefix) && len(prefix) > best {
			best, enc = len(prefix), e
		}
	}
	return enc
}

// lazyTiktoken counts with a tiktoken encoding once it is decoded, and
// with Heuristic until then (or for good if decoding failed).
type lazyTiktoken struct {
	once sync.Once
	name string
	enc  atomic.Pointer[tiktoken.Tiktoken]
}

var (
	loaderOnce sync.Once
	encodings  sync.Map // encoding name → *lazyTiktoken
)

func tiktokenFor(name string) *lazyTiktoken {
	if v, ok := encodings.Load(name); ok {
		return v.(*lazyTiktoken)
	}
	v, _ := encodings.LoadOrStore(name, &lazyTiktoken{name: name})
	return v.(*lazyTiktoken)
}

// load decodes the encoding in the background, once.
func (l *lazyTiktoken) load() {
	l.once.Do(func() {
		go func() {
			loaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader()) })
			if enc, err := tiktoken.GetEncoding(l.name); err == nil {
				l.enc.Store(enc)
			}
		}()
	})
}

// ready reports whether the encoding is decoded.
func (l *lazyTiktoken) ready() bool { return l.enc.Load() != nil }

// Count implements Estimator.
func (l *lazyTiktoken) Count(text string) int {
	if enc := l.enc.Load(); enc != nil {
		return len(enc.EncodeOrdinary(text))
	}
	l.load()
	return Heuristic{}.Count(text)
}

// Preload starts decoding the vocabularies of the given models, so that
// the first request for one does not pay for it or fall back to Heuristic.
func Preload(models ...string) {
	for _, m := range models {
		if e, ok := ForModel(m).(*lazyTiktoken); ok {
			e.load()
		}
	}
}

// ChatOverhead returns the tokens a chat template adds around the
// messages of a model: per message (role markers) and per request (the
// beginning of the sequence and the assistant's opening). DeepSeek's
// template adds a role token per message, plus the beginning-of-sentence
// token and the final <｜Assistant｜>; OpenAI documents three tokens per
// message and three to prime the reply. Other models get OpenAI's numbers.
func ChatOverhead(model string) (perMessage, perRequest int) {
	if strings.Contains(strings.ToLower(model), "deepseek") {
		return 1, 2
	}
	return 3, 3
}
