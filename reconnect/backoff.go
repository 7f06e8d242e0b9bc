package reconnect

import (
	"math"
	"math/rand/v2"
	"time"
)

// Defaults for Backoff fields left zero.
const (
	DefaultInitial    = 500 * time.Millisecond
	DefaultMax        = 30 * time.Second
	DefaultMultiplier = 2.0
	DefaultJitter     = 0.5
)

// Backoff is the schedule of waits between connection attempts. The zero
// value means the defaults: 500 ms, doubling up to 30 s, with up to half of
// each delay taken off at random.
type Backoff struct {
	// Initial is the delay before the first retry; zero means
	// DefaultInitial.
	Initial time.Duration
	// Max caps the delay; zero means DefaultMax. A Max below Initial is
	// raised to Initial.
	Max time.Duration
	// Multiplier is the factor between consecutive delays; zero means
	// DefaultMultiplier. Values below 1 are treated as 1 (a constant
	// delay).
	Multiplier float64
	// Jitter is the largest fraction of each delay taken off at random,
	// between 0 and 1: 0.5 gives a delay between half the computed one and
	// all of it, 1 gives anything up to it ("full jitter"). Zero means
	// DefaultJitter; a negative value means no jitter.
	Jitter float64
}

// withDefaults returns b with its zero fields set to the defaults.
func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultMax
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Multiplier == 0 {
		b.Multiplier = DefaultMultiplier
	}
	if b.Multiplier < 1 || math.IsNaN(b.Multiplier) {
		b.Multiplier = 1
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = DefaultJitter
	case b.Jitter < 0 || math.IsNaN(b.Jitter):
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay returns the wait before retry number n (1 for the first retry),
// jitter applied. A zero n is treated as 1.
func (b Backoff) Delay(n int) time.Duration {
	return b.delay(n, rand.Float64())
}

// delay computes Delay with r, in [0, 1), as the random draw.
func (b Backoff) delay(n int, r float64) time.Duration {
	b = b.withDefaults()
	if n < 1 {
		n = 1
	}
	d := float64(b.Initial) * math.Pow(b.Multiplier, float64(n-1))
	if d > float64(b.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.Max)
	}
	d -= d * b.Jitter * r
	if d < 1 {
		d = 1
	}
	return time.Duration(d)
}
