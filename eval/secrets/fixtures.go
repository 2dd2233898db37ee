package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fixture is one detect-secrets test file with the spans its baseline
// expects to be found; a file absent from the baseline expects none.
type fixture struct {
	name     string
	text     string
	expected [][2]int
	clean    bool
}

// loadFixtures reads the detect-secrets fixtures and resolves each baseline
// entry (a SHA-1 of the secret) to the substring of the file with that hash.
// Entries whose value no longer occurs in the file are skipped, as are
// duplicates (one value reported by two detect-secrets plugins).
func loadFixtures(dir string) ([]fixture, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "baseline.file"))
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var b struct {
		Results map[string][]struct {
			Hash string `json:"hashed_secret"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode baseline: %w", err)
	}
	names, err := fixtureFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []fixture
	for _, name := range names {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read fixture: %w", err)
		}
		f := fixture{name: name, text: string(text)}
		entries, ok := b.Results[name]
		f.clean = !ok
		seen := map[string]bool{}
		for _, e := range entries {
			if seen[e.Hash] {
				continue
			}
			seen[e.Hash] = true
			start, end, found := locate(f.text, e.Hash)
			if !found {
				continue
			}
			if f.text[start:end] == "!!binary" {
				// detect-secrets hashed the YAML tag for keyword findings
				// on binary values; the secret is the value after it.
				end += bytes.IndexByte(text[end:], '\n') + 1
			}
			f.expected = append(f.expected, [2]int{start, end})
		}
		out = append(out, f)
	}
	return out, nil
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

// locate finds the substring of text whose SHA-1 is hash.
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

// loadBenign reads the texts labelled benign from a guard prompts file.
func loadBenign(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var p struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if p.Label == "benign" {
			out = append(out, p.Text)
		}
	}
	return out, sc.Err()
}
