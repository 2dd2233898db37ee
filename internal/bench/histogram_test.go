package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty histogram", nil, 0.5, 0},
		{"single value", []time.Duration{7 * time.Millisecond}, 0.99, 7 * time.Millisecond},
		{"small exact values", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.5, 5},
		{"p0 is the minimum", []time.Duration{10 * time.Microsecond, time.Second}, 0, 10 * time.Microsecond},
		{"p100 is the maximum", []time.Duration{10 * time.Microsecond, time.Second}, 1, time.Second},
		{"negative counts as zero", []time.Duration{-5, -5, -5}, 0.5, 0},
		{"huge value is clamped", []time.Duration{time.Duration(1) << 50}, 0.5, time.Duration(maxValue)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			h := newHistogram()
			for _, v := range tt.values {
				h.Record(v)
			}
			if got := h.Quantile(tt.q); got != tt.want {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestHistogramRelativeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		q    float64
	}{
		{"p50", 0.5},
		{"p90", 0.9},
		{"p99", 0.99},
	}
	// 1..100000 µs: the q-quantile is q*100000 µs.
	h := newHistogram()
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			want := time.Duration(tt.q*100000) * time.Microsecond
			got := h.Quantile(tt.q)
			if rel := float64(got-want) / float64(want); rel > 1.0/subBuckets || rel < -1.0/subBuckets {
				t.Errorf("Quantile(%v) = %v, want %v within %.1f%%", tt.q, got, want, 100.0/subBuckets)
			}
		})
	}
	if mean, want := h.Mean(), 50000500*time.Nanosecond; mean != want {
		t.Errorf("Mean() = %v, want %v", mean, want)
	}
}

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	// Every value must land in a bucket whose range holds it, and bucket
	// indexes must grow with the value.
	prev := -1
	r := rand.New(rand.NewPCG(1, 2))
	values := []int64{0, 1, subBuckets - 1, subBuckets, subBuckets + 1, 1000, 1 << 20, maxValue}
	for range 10000 {
		values = append(values, r.Int64N(maxValue))
	}
	for _, v := range values {
		i := bucketIndex(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketIndex(%d) = %d, outside [0,%d)", v, i, numBuckets)
		}
		low, width := bucketRange(i)
		if v < low || v >= low+width {
			t.Fatalf("value %d in bucket %d = [%d,%d)", v, i, low, low+width)
		}
	}
	for v := int64(0); v < 1<<16; v++ {
		i := bucketIndex(v)
		if i < prev {
			t.Fatalf("bucketIndex(%d) = %d < bucketIndex(%d) = %d", v, i, v-1, prev)
		}
		prev = i
	}
}

func TestHistogramMerge(t *testing.T) {
	t.Parallel()
	a, b, both := newHistogram(), newHistogram(), newHistogram()
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		both.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(newHistogram()) // An empty histogram changes nothing.
	if *a != *both {
		t.Errorf("merged histogram differs from one that recorded everything: count %d vs %d", a.Count(), both.Count())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	h := newHistogram()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xffff) * time.Microsecond)
	}
}
