package load

import (
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets: exact below 64 ns,
// then 32 buckets per power of two, so a percentile is within about 3% of
// the true value. The zero value is ready to use; it is not safe for
// concurrent use (each worker keeps its own and they are merged).
type Histogram struct {
	counts [64 + 40*32]uint32
	n      int64
}

func bucket(ns int64) int {
	if ns < 64 {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	shift := bits.Len64(uint64(ns)) - 6 // ns>>shift is in [32, 63]
	i := 64 + (shift-1)*32 + int(ns>>shift) - 32
	if i >= len(Histogram{}.counts) {
		i = len(Histogram{}.counts) - 1
	}
	return i
}

// bucketValue is the middle of bucket i, in nanoseconds.
func bucketValue(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	shift := (i-64)/32 + 1
	m := int64((i-64)%32 + 32)
	return m<<shift + 1<<(shift-1)
}

// Add counts d.
func (h *Histogram) Add(d time.Duration) {
	h.counts[bucket(int64(d))]++
	h.n++
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// Count returns the number of durations counted.
func (h *Histogram) Count() int64 { return h.n }

// Percentile returns the duration below which p percent (0..100) of the
// counted ones fall; 0 when none were counted.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(p / 100 * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var seen int64
	for i, c := range h.counts {
		seen += int64(c)
		if seen > rank {
			return time.Duration(bucketValue(i))
		}
	}
	return time.Duration(bucketValue(len(h.counts) - 1))
}
