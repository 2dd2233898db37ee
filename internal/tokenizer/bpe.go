package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
)

// BPE is a byte-level BPE tokenizer (the GPT-2 scheme that DeepSeek's
// tokenizer.json describes): added tokens are matched first, the rest of
// the text is pre-tokenized into pieces, and each piece's bytes are merged
// pairwise by rank. It is safe for concurrent use.
type BPE struct {
	byteID [256]uint32
	tokens []byte   // every token's bytes, back to back
	offs   []uint32 // token i is tokens[offs[i]:offs[i+1]]
	merges pairTable

	added     map[string]uint32
	addedLens []int // the distinct lengths of added tokens, longest first
	addedLead [256]bool

	cache pieceCache
}

var errFormat = errors.New("tokenizer: malformed vocabulary")

// loadBPE reads the format that gen_vocab.go writes.
func loadBPE(compressed []byte) (*BPE, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	r := bufio.NewReader(zr)
	magic := make([]byte, 7)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "RTBPE1\n" {
		return nil, errFormat
	}
	uv := func(limit uint64) (int, error) {
		v, err := binary.ReadUvarint(r)
		if err != nil || v > limit {
			return 0, errFormat
		}
		return int(v), nil
	}
	specials, err := uv(1 << 16)
	if err != nil {
		return nil, err
	}
	var base [256]byte
	if _, err := io.ReadFull(r, base[:]); err != nil {
		return nil, errFormat
	}
	nMerges, err := uv(1 << 22)
	if err != nil {
		return nil, err
	}
	n := specials + 256 + nMerges
	b := &BPE{offs: make([]uint32, n+1)}
	b.tokens = make([]byte, 0, 8*n)
	b.merges = newPairTable(nMerges)
	// Special ids have no bytes of their own; added tokens name them.
	for i := 0; i < specials; i++ {
		b.offs[i+1] = 0
	}
	for i, c := range base {
		id := specials + i
		b.tokens = append(b.tokens, c)
		b.offs[id+1] = uint32(len(b.tokens))
		b.byteID[c] = uint32(id)
	}
	for rank := range nMerges {
		x, err := uv(uint64(specials + 256 + rank - 1))
		if err != nil {
			return nil, err
		}
		y, err := uv(uint64(specials + 256 + rank - 1))
		if err != nil {
			return nil, err
		}
		if x < specials || y < specials {
			return nil, errFormat
		}
		id := specials + 256 + rank
		b.tokens = append(b.tokens, b.tokens[b.offs[x]:b.offs[x+1]]...)
		b.tokens = append(b.tokens, b.tokens[b.offs[y]:b.offs[y+1]]...)
		b.offs[id+1] = uint32(len(b.tokens))
		b.merges.put(uint32(x), uint32(y), uint32(rank), uint32(id))
	}
	nAdded, err := uv(1 << 16)
	if err != nil {
		return nil, err
	}
	b.added = make(map[string]uint32, nAdded)
	lens := map[int]bool{}
	for range nAdded {
		id, err := uv(math.MaxUint32)
		if err != nil {
			return nil, err
		}
		l, err := uv(1 << 10)
		if err != nil || l == 0 {
			return nil, errFormat
		}
		content := make([]byte, l)
		if _, err := io.ReadFull(r, content); err != nil {
			return nil, errFormat
		}
		b.added[string(content)] = uint32(id)
		b.addedLead[content[0]] = true
		lens[l] = true
	}
	for l := range lens {
		b.addedLens = append(b.addedLens, l)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(b.addedLens)))
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, errFormat
	}
	b.cache.init()
	return b, nil
}

// Count implements Estimator: the exact number of tokens of text, added
// tokens included, with no beginning-of-sentence token.
func (b *BPE) Count(text string) int {
	n := 0
	b.encode(text, func(ids []uint32) { n += len(ids) })
	return n
}

// Encode returns the token ids of text.
func (b *BPE) Encode(text string) []int {
	var out []int
	b.encode(text, func(ids []uint32) {
		for _, id := range ids {
			out = append(out, int(id))
		}
	})
	return out
}

// Decode returns the bytes that ids stand for; an id outside the
// vocabulary is an error.
func (b *BPE) Decode(ids []int) ([]byte, error) {
	var out []byte
	names := b.addedNames()
	for _, id := range ids {
		if name, ok := names[uint32(id)]; ok {
			out = append(out, name...)
			continue
		}
		if id < 0 || id >= len(b.offs)-1 {
			return nil, fmt.Errorf("tokenizer: id %d outside the vocabulary", id)
		}
		out = append(out, b.tokens[b.offs[id]:b.offs[id+1]]...)
	}
	return out, nil
}

func (b *BPE) addedNames() map[uint32]string {
	m := make(map[uint32]string, len(b.added))
	for s, id := range b.added {
		m[id] = s
	}
	return m
}

// encode calls emit with the ids of each added token and each piece of
// text, in order. The slice passed to emit must not be kept.
func (b *BPE) encode(text string, emit func([]uint32)) {
	var one [1]uint32
	start := 0
	for i := 0; i < len(text); i++ {
		if !b.addedLead[text[i]] {
			continue
		}
		for _, l := range b.addedLens {
			if i+l > len(text) {
				continue
			}
			if id, ok := b.added[text[i:i+l]]; ok {
				b.encodeText(text[start:i], emit)
				one[0] = id
				emit(one[:])
				start = i + l
				i = start - 1
				break
			}
		}
	}
	b.encodeText(text[start:], emit)
}

// encodeText encodes text that holds no added token.
func (b *BPE) encodeText(text string, emit func([]uint32)) {
	if text == "" {
		return
	}
	var scratch [64]uint32
	preTokenize(text, func(piece string) {
		emit(b.piece(piece, scratch[:0]))
	})
}

// maxCached is the longest piece kept in the cache, in bytes.
const maxCached = 48

// piece returns the ids of one piece, using buf when it can.
func (b *BPE) piece(p string, buf []uint32) []uint32 {
	if len(p) == 1 {
		return append(buf, b.byteID[p[0]])
	}
	if len(p) <= maxCached {
		if ids, ok := b.cache.get(p); ok {
			return ids
		}
	}
	var ids []uint32
	if len(p) <= 256 {
		ids = b.mergeSmall(p, buf)
	} else {
		ids = b.mergeHeap(p)
	}
	if len(p) <= maxCached {
		b.cache.put(p, ids)
	}
	return ids
}

// mergeSmall applies the merges to a short piece: repeatedly the pair of
// lowest rank, leftmost among equals. It is quadratic in the piece's
// length and allocation-free for pieces that fit buf.
func (b *BPE) mergeSmall(p string, buf []uint32) []uint32 {
	ids := buf[:0]
	for i := 0; i < len(p); i++ {
		ids = append(ids, b.byteID[p[i]])
	}
	var rbuf [64]uint32
	ranks := rbuf[:0]
	for i := 0; i+1 < len(ids); i++ {
		r, _ := b.merges.get(ids[i], ids[i+1])
		ranks = append(ranks, r)
	}
	for len(ids) > 1 {
		best, at := uint32(noMerge), -1
		for i, r := range ranks {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		_, id := b.merges.get(ids[at], ids[at+1])
		ids[at] = id
		ids = append(ids[:at+1], ids[at+2:]...)
		ranks = append(ranks[:at], ranks[at+1:]...)
		if at > 0 {
			ranks[at-1], _ = b.merges.get(ids[at-1], ids[at])
		}
		if at < len(ranks) {
			ranks[at], _ = b.merges.get(ids[at], ids[at+1])
		}
	}
	return ids
}

// mergeHeap applies the merges to a long piece in O(n log n) with a
// linked list of parts and a heap of candidate pairs, ordered as
// mergeSmall orders them.
func (b *BPE) mergeHeap(p string) []uint32 {
	n := len(p)
	ids := make([]uint32, n)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	for i := range n {
		ids[i] = b.byteID[p[i]]
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	next[n-1] = -1
	h := &pairHeap{}
	push := func(i int32) {
		j := next[i]
		if j < 0 {
			return
		}
		if r, _ := b.merges.get(ids[i], ids[j]); r != noMerge {
			heap.Push(h, pairItem{rank: r, pos: i, left: ids[i], right: ids[j]})
		}
	}
	for i := range int32(n - 1) {
		push(i)
	}
	for h.Len() > 0 {
		it := heap.Pop(h).(pairItem)
		i := it.pos
		j := next[i]
		// Skip a stale entry: either part has changed since it was pushed.
		if !alive[i] || j < 0 || ids[i] != it.left || ids[j] != it.right {
			continue
		}
		_, id := b.merges.get(ids[i], ids[j])
		ids[i] = id
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := make([]uint32, 0, n/3+1)
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

type pairItem struct {
	rank, left, right uint32
	pos               int32
}

type pairHeap []pairItem

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// noMerge is the rank of a pair that does not merge.
const noMerge = math.MaxUint32

// pairTable maps a pair of ids to the rank of its merge and the id it
// gives: open addressing with linear probing, faster than a Go map on
// this hot path. Key 0 (the pair of id 0 with itself) never merges and
// marks an empty slot.
type pairTable struct {
	keys []uint64
	vals []uint64
	mask uint64
}

func newPairTable(n int) pairTable {
	size := 1
	for size < 2*n+2 {
		size <<= 1
	}
	return pairTable{keys: make([]uint64, size), vals: make([]uint64, size), mask: uint64(size - 1)}
}

func pairHash(k uint64) uint64 {
	k *= 0x9E3779B97F4A7C15
	return k ^ k>>29
}

func (t *pairTable) put(a, b, rank, id uint32) {
	k := uint64(a)<<32 | uint64(b)
	for i := pairHash(k) & t.mask; ; i = (i + 1) & t.mask {
		if t.keys[i] == 0 || t.keys[i] == k {
			t.keys[i], t.vals[i] = k, uint64(rank)<<32|uint64(id)
			return
		}
	}
}

// get returns the rank and result of merging a and b, or noMerge.
func (t *pairTable) get(a, b uint32) (rank, id uint32) {
	k := uint64(a)<<32 | uint64(b)
	for i := pairHash(k) & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case k:
			v := t.vals[i]
			return uint32(v >> 32), uint32(v)
		case 0:
			return noMerge, 0
		}
	}
}

// pieceCache remembers the ids of recent short pieces: words repeat. It is
// sharded to spread lock contention and bounded: a full shard is emptied.
type pieceCache struct {
	shards [32]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]uint32
}

// shardEntries bounds each shard (32 × 4096 pieces of at most 48 bytes).
const shardEntries = 4096

func (c *pieceCache) init() {
	for i := range c.shards {
		c.shards[i].m = make(map[string][]uint32)
	}
}

func (c *pieceCache) shard(p string) *cacheShard {
	h := uint32(2166136261)
	for i := 0; i < len(p); i++ {
		h = (h ^ uint32(p[i])) * 16777619
	}
	return &c.shards[h%uint32(len(c.shards))]
}

func (c *pieceCache) get(p string) ([]uint32, bool) {
	s := c.shard(p)
	s.mu.RLock()
	ids, ok := s.m[p]
	s.mu.RUnlock()
	return ids, ok
}

func (c *pieceCache) put(p string, ids []uint32) {
	s := c.shard(p)
	kept := append([]uint32(nil), ids...)
	key := strings.Clone(p)
	s.mu.Lock()
	if len(s.m) >= shardEntries {
		clear(s.m)
	}
	s.m[key] = kept
	s.mu.Unlock()
}
