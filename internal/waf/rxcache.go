package waf

import (
	"hash/maphash"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"rsc.io/binaryregexp"
)

// The @rx operator is replaced by one that remembers its results.
//
// Most of the CPU the Core Rule Set spends on a request goes to regular
// expressions run over values that are the same on almost every request:
// the path, the SDK's User-Agent and X-Stainless-* headers, Accept, the
// Content-Type, the model name. A regular expression is a pure function of
// its input, so the result for a (pattern, value) pair is remembered in a
// bounded cache shared by every rule and transaction, and a repeated value
// costs a hash lookup instead of a run of Go's regexp engine. The operator
// is otherwise Coraza's: the pattern is compiled as Coraza compiles it, in
// dotall and multiline mode, with rsc.io/binaryregexp when it matches bytes
// that are not UTF-8, and it captures up to nine groups when the rule asks.
// Coraza's experimental pre-filter (SecRxPreFilter) is not supported; it is
// off in this package (see plan.prefilter).

const (
	// rxCacheMaxValue is the longest value whose result is remembered.
	// Longer values (prose in full-body inspection) rarely repeat.
	rxCacheMaxValue = 256
	// rxCacheShards and rxCacheShardSize bound the cache to 64 × 512
	// entries: at most about 16 MiB of values, 2-3 MiB in practice.
	rxCacheShards    = 64
	rxCacheShardSize = 512
)

// matcher is a compiled pattern, of regexp or of binaryregexp.
type matcher interface {
	MatchString(s string) bool
	FindStringSubmatchIndex(s string) []int
}

// rxOp is one @rx operator of a rule.
type rxOp struct {
	re matcher
}

// rxKey identifies a result: the compiled pattern and the value.
type rxKey struct {
	re    matcher
	value string
}

// rxResult is a remembered result. idx holds the submatch indexes of a
// match once a capturing rule asked for them.
type rxResult struct {
	matched bool
	idx     []int
}

type rxShard struct {
	mu sync.Mutex
	m  map[rxKey]rxResult
}

// rxCache is the process-wide cache of @rx results.
type rxCacheT struct {
	seed   maphash.Seed
	shards [rxCacheShards]rxShard
	// off disables the cache; a benchmark uses it to measure cold cost.
	off bool
}

var rxCache = newRXCache()

func newRXCache() *rxCacheT {
	c := &rxCacheT{seed: maphash.MakeSeed()}
	// The maps grow as results come: a process with the WAF off pays
	// nothing, and one with it on reaches the bound within its first
	// requests.
	for i := range c.shards {
		c.shards[i].m = make(map[rxKey]rxResult)
	}
	return c
}

func (c *rxCacheT) shard(value string) *rxShard {
	return &c.shards[maphash.String(c.seed, value)%rxCacheShards]
}

func (c *rxCacheT) get(k rxKey) (rxResult, bool) {
	s := c.shard(k.value)
	s.mu.Lock()
	r, ok := s.m[k]
	s.mu.Unlock()
	return r, ok
}

// put remembers r. The value is copied: Coraza may hand the operator a
// string that aliases a buffer it reuses. A full shard loses one entry,
// the first of Go's randomised map iteration.
func (c *rxCacheT) put(k rxKey, r rxResult) {
	k.value = strings.Clone(k.value)
	s := c.shard(k.value)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= rxCacheShardSize {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = r
	s.mu.Unlock()
}

func init() {
	plugins.RegisterOperator("rx", newRXOp)
}

// newRXOp compiles the pattern of one @rx operator exactly as Coraza's own
// operator does, sharing compilations of the same pattern through the
// WAF's memoizer.
func newRXOp(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	data := "(?sm)" + options.Arguments
	binary := matchesArbitraryBytes(data)
	key := "rampart-rx:" + data
	if binary {
		// Coraza compiles binary patterns without the mode flags.
		data, key = options.Arguments, "rampart-binrx:"+options.Arguments
	}
	compile := func() (any, error) {
		if binary {
			return binaryregexp.Compile(data)
		}
		return regexp.Compile(data)
	}
	var (
		re  any
		err error
	)
	if options.Memoizer != nil {
		re, err = options.Memoizer.Do(key, compile)
	} else {
		re, err = compile()
	}
	if err != nil {
		return nil, err
	}
	return &rxOp{re: re.(matcher)}, nil
}

// Evaluate implements plugintypes.Operator.
func (o *rxOp) Evaluate(tx plugintypes.TransactionState, value string) bool {
	capturing := tx.Capturing()
	if rxCache.off || len(value) > rxCacheMaxValue {
		return o.eval(tx, value, capturing)
	}
	k := rxKey{re: o.re, value: value}
	r, ok := rxCache.get(k)
	if ok && (!r.matched || !capturing || r.idx != nil) {
		if r.matched && capturing {
			capture(tx, value, r.idx)
		}
		return r.matched
	}
	if capturing {
		r.idx = o.re.FindStringSubmatchIndex(value)
		r.matched = r.idx != nil
		if r.matched {
			capture(tx, value, r.idx)
		}
	} else {
		r.matched = o.re.MatchString(value)
	}
	rxCache.put(k, r)
	return r.matched
}

// eval runs the pattern without the cache.
func (o *rxOp) eval(tx plugintypes.TransactionState, value string, capturing bool) bool {
	if !capturing {
		return o.re.MatchString(value)
	}
	idx := o.re.FindStringSubmatchIndex(value)
	if idx == nil {
		return false
	}
	capture(tx, value, idx)
	return true
}

// capture sets TX.0 to TX.8 from submatch indexes, as Coraza's operator
// does: a group that did not take part in the match is captured empty.
func capture(tx plugintypes.TransactionState, value string, idx []int) {
	for i := 0; i < len(idx)/2 && i < 9; i++ {
		if idx[2*i] >= 0 {
			tx.CaptureField(i, value[idx[2*i]:idx[2*i+1]])
		} else {
			tx.CaptureField(i, "")
		}
	}
}

// matchesArbitraryBytes reports whether a pattern's \xNN escapes spell
// bytes that are not valid UTF-8, in which case Coraza matches it with
// rsc.io/binaryregexp. It is Coraza's function of the same name.
func matchesArbitraryBytes(expr string) bool {
	decoded := make([]byte, 0, len(expr))
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c != '\\' {
			decoded = append(decoded, c)
			continue
		}
		if i+3 >= len(expr) {
			decoded = append(decoded, expr[i:]...)
			break
		}
		if expr[i+1] != 'x' {
			decoded = append(decoded, expr[i])
			continue
		}
		sub := expr[i:]
		advance := 3
		if len(sub) >= 6 && sub[2] == '{' {
			if end := strings.IndexByte(sub, '}'); end != -1 {
				sub = `\x` + sub[3:end]
				advance = end
			}
		}
		v, mb, _, err := strconv.UnquoteChar(sub, 0)
		if err != nil || mb {
			decoded = append(decoded, expr[i])
			continue
		}
		decoded = append(decoded, byte(v))
		i += advance
	}
	return !utf8.Valid(decoded)
}
