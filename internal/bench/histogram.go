package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram layout: values below subBuckets nanoseconds get one bucket each;
// above that every power of two is split into subBuckets equal buckets, so a
// recorded value is known within 1/subBuckets (about 3%) of itself. This is
// the HDR histogram idea with a fixed range, which keeps Record to a few
// instructions and the whole histogram in one 10 KB array.
const (
	subBucketBits = 5
	subBuckets    = 1 << subBucketBits
	// maxValueBits bounds recorded values to 2^40 ns (about 18 minutes);
	// larger values are clamped, which no benchmark window reaches.
	maxValueBits = 40
	numBuckets   = (maxValueBits - subBucketBits + 1) * subBuckets
	maxValue     = int64(1)<<maxValueBits - 1
)

// histogram records durations in nanoseconds. It is not safe for concurrent
// use: each load goroutine owns one and they are merged at the end.
type histogram struct {
	counts   [numBuckets]uint64
	count    uint64
	sum      float64
	min, max int64
}

// newHistogram returns an empty histogram.
func newHistogram() *histogram {
	return &histogram{min: math.MaxInt64}
}

// bucketIndex maps a value in [0, maxValue] to its bucket.
func bucketIndex(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBucketBits - 1
	return (shift+1)*subBuckets + int(v>>shift) - subBuckets
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (low, width int64) {
	if i < subBuckets {
		return int64(i), 1
	}
	shift := i/subBuckets - 1
	mantissa := int64(i%subBuckets + subBuckets)
	return mantissa << shift, int64(1) << shift
}

// Record adds one duration. Negative durations count as zero.
func (h *histogram) Record(d time.Duration) {
	v := min(max(int64(d), 0), maxValue)
	h.counts[bucketIndex(v)]++
	h.count++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o to h.
func (h *histogram) Merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.count += o.count
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *histogram) Count() uint64 { return h.count }

// Mean returns the exact mean of the recorded values, or zero when empty.
func (h *histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.count))
}

// Quantile returns the value below which a fraction q of the recorded values
// fall, as the middle of the bucket that holds it, clamped to the observed
// minimum and maximum; q <= 0 and q >= 1 give those exactly. It returns zero
// when the histogram is empty.
func (h *histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	if q <= 0 {
		return time.Duration(h.min)
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := max(uint64(math.Ceil(q*float64(h.count))), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			return time.Duration(min(max(low+width/2, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
