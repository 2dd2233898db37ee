package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/dlp"
)

type baseline struct {
	Results map[string][]struct {
		Hash string `json:"hashed_secret"`
		Line int    `json:"line_number"`
		Type string `json:"type"`
	} `json:"results"`
}

// secretsResult lists, per expected finding, whether it was caught.
type secretsResult struct {
	expected, caught int
	missed           []string
	stale            []string // baseline entries whose value no longer occurs
	cleanFiles       int
	cleanHits        []string
}

// evalSecrets checks the detect-secrets fixtures against their baseline.
// The baseline stores SHA-1 hashes of the secret values; each is resolved to
// the substring of the fixture with that hash, and the entry is caught when
// a finding overlaps that substring. Files absent from the baseline must
// produce no finding at all.
func evalSecrets(dir string) (*secretsResult, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "baseline.file"))
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var b baseline
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode baseline: %w", err)
	}
	sc, err := dlp.New(dlp.Config{})
	if err != nil {
		return nil, err
	}
	res := &secretsResult{}
	files, err := fixtureFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read fixture: %w", err)
		}
		fs := sc.Scan(string(text))
		entries, ok := b.Results[name]
		if !ok {
			res.cleanFiles++
			for _, f := range fs {
				res.cleanHits = append(res.cleanHits, fmt.Sprintf("%s: %s at byte %d", name, f.Type, f.ByteStart))
			}
			continue
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if seen[e.Hash] {
				continue // one value reported by two detect-secrets plugins
			}
			seen[e.Hash] = true
			start, end, found := locate(string(text), e.Hash)
			if !found {
				res.stale = append(res.stale, fmt.Sprintf("%s:%d %s", name, e.Line, e.Type))
				continue
			}
			if string(text[start:end]) == "!!binary" {
				// detect-secrets hashed the YAML tag for keyword findings
				// on binary values; the secret is the value after it.
				end += bytes.IndexByte(text[end:], '\n') + 1
			}
			res.expected++
			switch {
			case overlaps(fs, start, end):
				res.caught++
			default:
				res.missed = append(res.missed, fmt.Sprintf("%s:%d %s %q", name, e.Line, e.Type, string(text)[start:end]))
			}
		}
	}
	return res, nil
}

// fixtureFiles lists the fixture files relative to dir, leaving out the
// baseline itself, the word list (a detect-secrets option) and the timing
// files of its performance suite.
func fixtureFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "baseline.file" || rel == "word_list.txt" || strings.HasPrefix(rel, "performance/") {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	slices.Sort(out)
	return out, err
}

// locate finds the substring of text whose SHA-1 is hash, trying tokens
// between common delimiters first, then every substring of each line.
func locate(text, hash string) (int, int, bool) {
	off := 0
	for _, line := range strings.SplitAfter(text, "\n") {
		for i := 0; i < len(line); i++ {
			for j := i + 1; j <= len(line); j++ {
				sum := sha1.Sum([]byte(line[i:j]))
				if hex.EncodeToString(sum[:]) == hash {
					return off + i, off + j, true
				}
			}
		}
		off += len(line)
	}
	return 0, 0, false
}

func overlaps(fs []dlp.Finding, start, end int) bool {
	for _, f := range fs {
		if f.ByteStart < end && start < f.ByteEnd {
			return true
		}
	}
	return false
}

func (r *secretsResult) print(w io.Writer) {
	fmt.Fprintf(w, "detect-secrets fixtures: %d/%d expected findings caught\n", r.caught, r.expected)
	for _, m := range r.missed {
		fmt.Fprintf(w, "  missed: %s\n", m)
	}
	fmt.Fprintf(w, "  baseline entries whose value no longer occurs in the fixture: %d\n", len(r.stale))
	for _, s := range r.stale {
		fmt.Fprintf(w, "    %s\n", s)
	}
	fmt.Fprintf(w, "  files without secrets: %d, findings in them: %d\n", r.cleanFiles, len(r.cleanHits))
	for _, h := range r.cleanHits {
		fmt.Fprintf(w, "    %s\n", h)
	}
	fmt.Fprintln(w)
}
