package guard

import (
	"embed"
	"fmt"

	"github.com/rampart-gw/rampart/internal/guard/classifier"
)

// Thresholds chosen on the calibration split; see docs/evaluation.md.
const (
	DefaultInjectionThreshold = 0.3
	DefaultDocumentThreshold  = 0.9
	DefaultHarmfulThreshold   = 0.65
)

// modelFS holds the classifier weights written by cmd/train.
//
//go:embed models/*.bin.gz
var modelFS embed.FS

// models are the embedded classifiers.
type models struct {
	attack, harmful, indirect *classifier.Model
}

func loadModels() (*models, error) {
	var m models
	for name, dst := range map[string]**classifier.Model{"attack": &m.attack, "harmful": &m.harmful, "indirect": &m.indirect} {
		b, err := modelFS.ReadFile("models/" + name + ".bin.gz")
		if err != nil {
			return nil, fmt.Errorf("guard model %s: %w", name, err)
		}
		if *dst, err = classifier.Load(b); err != nil {
			return nil, fmt.Errorf("guard model %s: %w", name, err)
		}
	}
	return &m, nil
}
