package classifier

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Model is a logistic regression over hashed features with Platt scaling,
// so Score returns a calibrated probability.
type Model struct {
	// Bits is log2 of the number of weights.
	Bits uint8
	// W are the feature weights, indexed by hash modulo 2^Bits.
	W []float32
	// Bias is the intercept.
	Bias float32
	// A and B calibrate the raw margin z as sigmoid(A*z + B).
	A, B float32
}

// Margin returns the raw linear score of a lowercased text.
func (m *Model) Margin(text string) float64 {
	mask := uint32(len(m.W) - 1)
	var sum float32
	n := features(text, func(h uint32) { sum += m.W[h&mask] })
	if n == 0 {
		return float64(m.Bias)
	}
	return float64(m.Bias) + float64(sum)/math.Sqrt(float64(n))
}

// Score returns the calibrated probability that the text is positive.
func (m *Model) Score(text string) float64 {
	return sigmoid(float64(m.A)*m.Margin(text) + float64(m.B))
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

const magic = "RGM1"

// MarshalBinary encodes the model as gzip'd little-endian float32s.
func (m *Model) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	hdr := struct {
		Magic   [4]byte
		Bits    uint8
		Bias, A float32
		B       float32
	}{Bits: m.Bits, Bias: m.Bias, A: m.A, B: m.B}
	copy(hdr.Magic[:], magic)
	if err := binary.Write(zw, binary.LittleEndian, hdr); err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	if err := binary.Write(zw, binary.LittleEndian, m.W); err != nil {
		return nil, fmt.Errorf("write weights: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

var errFormat = errors.New("classifier: not a model file")

// Load decodes a model written by MarshalBinary.
func Load(data []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFormat, err)
	}
	var hdr struct {
		Magic   [4]byte
		Bits    uint8
		Bias, A float32
		B       float32
	}
	if err := binary.Read(zr, binary.LittleEndian, &hdr); err != nil || string(hdr.Magic[:]) != magic || hdr.Bits < 4 || hdr.Bits > 20 {
		return nil, errFormat
	}
	m := &Model{Bits: hdr.Bits, Bias: hdr.Bias, A: hdr.A, B: hdr.B, W: make([]float32, 1<<hdr.Bits)}
	if err := binary.Read(zr, binary.LittleEndian, m.W); err != nil {
		return nil, fmt.Errorf("%w: weights: %w", errFormat, err)
	}
	if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", errFormat)
	}
	return m, nil
}
