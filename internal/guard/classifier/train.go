package classifier

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Example is one training text, lowercased, with its class.
type Example struct {
	Text     string
	Positive bool
	// Weight scales the example's pull on the model (0 means 1); classes
	// are balanced by the sum of their weights.
	Weight float64
}

func (e Example) weight() float64 {
	if e.Weight == 0 {
		return 1
	}
	return e.Weight
}

// Options tune training.
type Options struct {
	Bits   uint8   // log2 of the weight table size
	Epochs int     // passes over the data
	Rate   float64 // initial learning rate
	L2     float64 // weight decay per update
	Seed   uint64  // shuffling seed; the same seed gives the same model
}

type sparse struct {
	idx []uint32
	val []float32
	y   float64
	wt  float64
}

// vectorise turns a text into deduplicated feature indices and values.
func vectorise(text string, mask uint32) ([]uint32, []float32) {
	counts := map[uint32]float32{}
	n := features(text, func(h uint32) { counts[h&mask]++ })
	idx := make([]uint32, 0, len(counts))
	for k := range counts {
		idx = append(idx, k)
	}
	slices.Sort(idx)
	val := make([]float32, len(idx))
	s := float32(1 / math.Sqrt(float64(max(n, 1))))
	for i, k := range idx {
		val[i] = counts[k] * s
	}
	return idx, val
}

// Train fits a logistic regression by stochastic gradient descent with
// classes weighted to balance by the sum of their examples' weights. It leaves A=1, B=0; see Calibrate.
func Train(examples []Example, o Options) *Model {
	m := &Model{Bits: o.Bits, W: make([]float32, 1<<o.Bits), A: 1}
	mask := uint32(len(m.W) - 1)
	var pos, neg float64
	for _, e := range examples {
		if e.Positive {
			pos += e.weight()
		} else {
			neg += e.weight()
		}
	}
	total := pos + neg
	pos, neg = max(pos, 1), max(neg, 1)
	data := make([]sparse, len(examples))
	for i, e := range examples {
		d := sparse{wt: total / (2 * neg) * e.weight()}
		d.idx, d.val = vectorise(e.Text, mask)
		if e.Positive {
			d.y, d.wt = 1, total/(2*pos)*e.weight()
		}
		data[i] = d
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0xa5a5))
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	for ep := range o.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		lr := o.Rate / (1 + float64(ep)*0.3)
		for _, k := range order {
			step(m, &data[k], lr, o.L2)
		}
	}
	return m
}

func step(m *Model, d *sparse, lr, l2 float64) {
	z := float64(m.Bias)
	for i, k := range d.idx {
		z += float64(m.W[k] * d.val[i])
	}
	g := (sigmoid(z) - d.y) * d.wt
	for i, k := range d.idx {
		m.W[k] -= float32(lr * (g*float64(d.val[i]) + l2*float64(m.W[k])))
	}
	m.Bias -= float32(lr * g * 0.1)
}

// Calibrate fits Platt scaling (A, B) on held-aside examples by Newton's
// method on the log-loss, with the usual prior-corrected targets.
func Calibrate(m *Model, examples []Example) {
	z := make([]float64, len(examples))
	t := make([]float64, len(examples))
	pos := 0
	for _, e := range examples {
		if e.Positive {
			pos++
		}
	}
	neg := len(examples) - pos
	for i, e := range examples {
		z[i] = m.Margin(e.Text)
		t[i] = 1 / float64(neg+2)
		if e.Positive {
			t[i] = float64(pos+1) / float64(pos+2)
		}
	}
	a, b := 1.0, 0.0
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for i := range z {
			p := sigmoid(a*z[i] + b)
			d := p - t[i]
			w := max(p*(1-p), 1e-9)
			ga += d * z[i]
			gb += d
			haa += w * z[i] * z[i]
			hab += w * z[i]
			hbb += w
		}
		haa += 1e-6
		hbb += 1e-6
		det := haa*hbb - hab*hab
		if det == 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da) < 1e-9 && math.Abs(db) < 1e-9 {
			break
		}
	}
	m.A, m.B = float32(a), float32(b)
}
