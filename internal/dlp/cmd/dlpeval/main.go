// Command dlpeval measures the DLP detectors on the shared evaluation data:
// precision, recall and F2 per entity type on Presidio's synthetic set, the
// detect-secrets fixtures, and false positives on benign prompts.
//
//	go run ./internal/dlp/cmd/dlpeval [-data ../shared/data]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	data := flag.String("data", defaultData(), "directory of the shared evaluation data")
	flag.Parse()
	if err := run(*data); err != nil {
		fmt.Fprintln(os.Stderr, "dlpeval:", err)
		os.Exit(1)
	}
}

// defaultData finds the shared data next to the repository, from the
// repository root or from this package's directory.
func defaultData() string {
	for _, p := range []string{"../shared/data", "../../../../shared/data", "../../../shared/data"} {
		if _, err := os.Stat(filepath.Join(p, "pii")); err == nil {
			return p
		}
	}
	return "../shared/data"
}

func run(data string) error {
	pii, err := evalPresidio(filepath.Join(data, "pii", "presidio_generated_large.json"))
	if err != nil {
		return err
	}
	pii.print(os.Stdout)
	sec, err := evalSecrets(filepath.Join(data, "secrets", "detect-secrets"))
	if err != nil {
		return err
	}
	sec.print(os.Stdout)
	fp, err := evalBenign(filepath.Join(data, "guard", "prompts.jsonl"))
	if err != nil {
		return err
	}
	fp.print(os.Stdout, "Benign prompts")
	all, err := evalLabel(filepath.Join(data, "guard", "prompts.jsonl"), "")
	if err != nil {
		return err
	}
	all.examples = nil
	all.print(os.Stdout, "All guard prompts (jailbreak, harmful, benign)")
	docs, err := evalLabel(filepath.Join(data, "guard", "bipia_contexts.jsonl"), "")
	if err != nil {
		return err
	}
	docs.examples = nil
	docs.print(os.Stdout, "BIPIA documents (emails, tables, code; real addresses expected)")
	return nil
}
