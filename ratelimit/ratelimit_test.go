package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestBucketAllowsBurstThenRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBucket(2, 3) // 2/s, burst 3
	for i := range 3 {
		if !b.AllowN(t0, 1) {
			t.Fatalf("token %d of the burst refused", i)
		}
	}
	if b.AllowN(t0, 1) {
		t.Fatal("a fourth token allowed with no time passed")
	}
	if b.AllowN(t0.Add(400*time.Millisecond), 1) {
		t.Fatal("allowed after 0.4 s at 2/s (0.8 token)")
	}
	if !b.AllowN(t0.Add(500*time.Millisecond), 1) {
		t.Fatal("refused after 0.5 s at 2/s (1 token)")
	}
	// A long pause refills to the burst, not beyond.
	if got := b.Tokens(t0.Add(time.Hour)); got != 3 {
		t.Fatalf("tokens after an hour = %v, want the burst 3", got)
	}
}

func TestBucketClockGoingBackwardsGrantsNothing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := NewBucket(1, 1)
	b.AllowN(t0, 1)
	if b.AllowN(t0.Add(-time.Hour), 1) {
		t.Fatal("a clock step backwards granted a token")
	}
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(1, 2)
	l.Now = func() time.Time { return now }
	for range 2 {
		if !l.Allow("alice") {
			t.Fatal("alice refused within her burst")
		}
	}
	if l.Allow("alice") {
		t.Fatal("alice allowed over her burst")
	}
	if !l.Allow("bob") {
		t.Fatal("bob refused because of alice")
	}
}

func TestLimiterForgetsRefilledBuckets(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(10, 10)
	l.Now = func() time.Time { return now }
	for i := range 100 {
		l.Allow(fmt.Sprint("conn", i))
	}
	if l.Len() != 100 {
		t.Fatalf("Len = %d, want 100", l.Len())
	}
	now = now.Add(2 * time.Second) // every bucket is full again
	l.Allow("new")
	if l.Len() != 1 {
		t.Fatalf("Len after refill = %d, want 1 (only the new key)", l.Len())
	}
	l.Forget("new")
	if l.Len() != 0 {
		t.Fatalf("Len after Forget = %d, want 0", l.Len())
	}
}

func TestLimiterSweepKeepsEmptyBuckets(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(1, 1)
	l.Now = func() time.Time { return now }
	l.Allow("a")
	now = now.Add(1500 * time.Millisecond)
	l.Allow("a") // empties it again
	now = now.Add(1100 * time.Millisecond)
	l.Allow("b") // sweeps: a is full again, b is new
	if l.Allow("b") {
		t.Fatal("b allowed twice with burst 1")
	}
}

func TestEvery(t *testing.T) {
	if got := Every(100 * time.Millisecond); got != 10 {
		t.Fatalf("Every(100ms) = %v, want 10", got)
	}
	if got := Every(0); got != 0 {
		t.Fatalf("Every(0) = %v, want 0", got)
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := New(1e9, 1<<30)
	b.ReportAllocs()
	for b.Loop() {
		l.Allow("key")
	}
}
