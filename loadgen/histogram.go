package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram bucket layout: values below subCount are counted exactly; above,
// each power-of-two range [2^k, 2^(k+1)) is split into halfCount equal
// buckets, so a value is known to within 1/halfCount (1.6 %) of itself.
const (
	subBits   = 7
	subCount  = 1 << subBits // 128
	halfCount = subCount / 2 // 64
	// numBuckets covers every non-negative int64: the largest exponent is
	// 63-subBits, whose buckets end at index subCount+(63-subBits)*halfCount.
	numBuckets = subCount + (63-subBits)*halfCount
)

// Histogram records durations in a fixed set of log-linear buckets, in the
// manner of an HDR histogram: every value is kept to within 1.6 % of itself,
// from a nanosecond to the largest time.Duration, in 29 KiB whatever the
// number of values. The exact minimum, maximum and sum are kept beside the
// buckets.
//
// The zero value is an empty histogram ready to use. A Histogram is not safe
// for concurrent use; record into one per goroutine and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds; a float, as the sum can overflow int64
	min    time.Duration
	max    time.Duration
}

// bucketOf returns the index of the bucket holding v (v >= 0).
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1: v has more than subBits bits
	m := v >> e                  // in [halfCount, subCount)
	return subCount + (e-1)*halfCount + int(m-halfCount)
}

// bucketRange returns the smallest value of bucket i and the bucket's width.
func bucketRange(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	i -= subCount
	e := i/halfCount + 1
	m := uint64(i%halfCount + halfCount)
	return m << e, 1 << e
}

// Record adds one value. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += float64(d)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Min returns the smallest value recorded, exactly; 0 when empty.
func (h *Histogram) Min() time.Duration { return h.min }

// Max returns the largest value recorded, exactly; 0 when empty.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean of the values recorded; 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value below which the fraction q of the values lie
// (q = 0.99 for the 99th percentile), to within 1.6 %: the midpoint of the
// bucket holding the value of rank ceil(q*Count), clamped to [Min, Max].
// Quantile(0) is Min and Quantile(1) is Max. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.n))) // 1-based rank of the value
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bucketRange(i)
			v := time.Duration(lo + (w-1)/2)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}
