package config

import (
	"os"
	"path/filepath"
	"testing"
)

func benchInput(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "redact_secrets.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkParse(b *testing.B) {
	data := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "bench.yaml", lookupTestEnv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	c := mustParse(b, string(benchInput(b)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedacted(b *testing.B) {
	c := mustParse(b, string(benchInput(b)))
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Redacted()
	}
}

func BenchmarkParseAliasBomb(b *testing.B) {
	data := []byte(aliasBomb())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "bomb.yaml", lookupTestEnv); err == nil {
			b.Fatal("alias bomb accepted")
		}
	}
}
