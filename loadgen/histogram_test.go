package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueInOrder(t *testing.T) {
	prevIdx := -1
	var prevHi uint64
	for i := 0; i < numBuckets; i++ {
		lo, w := bucketRange(i)
		if i > 0 && lo != prevHi {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d, %d] maps to %d and %d", i, lo, lo+w-1, bucketOf(lo), bucketOf(lo+w-1))
		}
		if i != prevIdx+1 {
			t.Fatal("gap")
		}
		prevIdx, prevHi = i, lo+w
	}
	if got := bucketOf(math.MaxInt64); got != numBuckets-1 {
		t.Fatalf("MaxInt64 in bucket %d, want the last, %d", got, numBuckets-1)
	}
}

func TestQuantileWithinRelativeErrorOfExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform-µs", func() time.Duration { return time.Duration(rng.IntN(1000000)) }},
		{"exponential", func() time.Duration { return time.Duration(rng.ExpFloat64() * 1e6) }},
		{"lognormal-wide", func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*3 + 12)) }},
		{"small-exact", func() time.Duration { return time.Duration(rng.IntN(100)) }},
	} {
		t.Run(dist.name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = dist.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.99, 0.999} {
				exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
				got := h.Quantile(q)
				if diff := math.Abs(float64(got - exact)); diff > float64(exact)/halfCount+1 {
					t.Errorf("q%v = %v, exact %v: off by more than 1/%d", q, got, exact, halfCount)
				}
			}
			if h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
				t.Errorf("min/max = %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
			}
			if h.Quantile(0) != h.Min() || h.Quantile(1) != h.Max() {
				t.Error("Quantile(0) and Quantile(1) are not Min and Max")
			}
		})
	}
}

func TestMergeEqualsRecordingIntoOne(t *testing.T) {
	var a, b, all Histogram
	for i := range 5000 {
		d := time.Duration(i * i)
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(new(Histogram)) // empty: no effect
	if m != all {
		t.Fatalf("merged histogram differs: count %d min %v max %v mean %v; want %d %v %v %v",
			m.Count(), m.Min(), m.Max(), m.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatal("empty histogram reports non-zero values")
	}
	h.Record(-5)
	if h.Count() != 1 || h.Max() != 0 || h.Min() != 0 {
		t.Fatalf("negative duration not recorded as zero: %d %v %v", h.Count(), h.Min(), h.Max())
	}
	h.Reset()
	if h.Count() != 0 {
		t.Fatal("Reset left values")
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"512B", 512, true}, {"1KiB", 1024, true},
		{"1kib", 1024, true}, {"1KB", 1000, true}, {"64k", 64000, true}, {"1.5MB", 1500000, true},
		{"2MiB", 2 << 20, true}, {"1GiB", 1 << 30, true}, {" 3 KiB ", 3072, true},
		{"", 0, false}, {"KiB", 0, false}, {"1XB", 0, false}, {"-1", 0, false},
		{"1.5", 0, false}, {"0.1KiB", 0, false}, {"1e3", 0, false}, {"1..2", 0, false},
		{"99999999999GiB", 0, false},
	} {
		got, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 1536, 1 << 20, 3 << 30, 12345} {
		s := FormatSize(n)
		if got, err := ParseSize(s); err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
	if s := FormatSize(1024); s != "1KiB" {
		t.Errorf("FormatSize(1024) = %q, want 1KiB", s)
	}
}

func TestRoundKeepsThreeSignificantDigits(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{999, 999},
		{583412, 583 * time.Microsecond},
		{1834567, 1830 * time.Microsecond},
		{12345678, 12300 * time.Microsecond},
		{5001234567, 5 * time.Second},
	} {
		if got := Round(tc.in); got != tc.want {
			t.Errorf("Round(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
