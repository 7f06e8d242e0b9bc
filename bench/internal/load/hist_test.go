package load

import (
	"testing"
	"time"
)

func TestHistogramPercentilesWithinThreePercent(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, p := range []float64{1, 50, 90, 99, 99.9} {
		want := p / 100 * 100000 * float64(time.Microsecond)
		got := float64(h.Percentile(p))
		if got < want*0.97 || got > want*1.03 {
			t.Errorf("p%v = %v, want about %v", p, time.Duration(got), time.Duration(want))
		}
	}
	var empty Histogram
	if empty.Percentile(50) != 0 {
		t.Error("empty histogram has a median")
	}
}

func TestHistogramBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for ns := int64(0); ns < 1<<20; ns += 7 {
		b := bucket(ns)
		if b < prev {
			t.Fatalf("bucket(%d) = %d < %d", ns, b, prev)
		}
		if v := bucketValue(b); ns >= 64 && (float64(v) < float64(ns)*0.96 || float64(v) > float64(ns)*1.04) {
			t.Fatalf("bucketValue(bucket(%d)) = %d", ns, v)
		}
		prev = b
	}
}
