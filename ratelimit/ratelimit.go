// Package ratelimit limits how often something may happen with token
// buckets: a Bucket for one connection, a Limiter for many keys (one bucket
// per connection ID or per user).
//
// A bucket holds up to burst tokens and gains rate tokens per second; each
// event takes one. A client may send burst messages at once and rate
// messages per second on average:
//
//	lim := ratelimit.New(10, 20) // 10 messages/s, bursts of 20
//	if !lim.Allow(user) {
//		// over the limit: answer with an error, or close with 1008
//	}
//
// Package hub applies a Limiter to every message a client sends
// (hub.Options.RateLimit).
package ratelimit

import (
	"sync"
	"time"
)

// Bucket is a token bucket. Its zero value allows nothing; make one with
// NewBucket. A Bucket is safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucket returns a full bucket that refills at rate tokens per second and
// holds at most burst tokens. A burst below 1 is taken as 1.
func NewBucket(rate float64, burst int) *Bucket {
	b := &Bucket{rate: rate, burst: float64(max(burst, 1))}
	b.tokens = b.burst
	return b
}

// Allow takes one token if there is one, and reports whether it did.
func (b *Bucket) Allow() bool { return b.AllowN(time.Now(), 1) }

// AllowN takes n tokens at time now if the bucket holds them, and reports
// whether it did. A refused call takes nothing.
func (b *Bucket) AllowN(now time.Time, n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// Tokens reports the tokens available at time now.
func (b *Bucket) Tokens(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	return b.tokens
}

// refill adds the tokens earned since the last call; b.mu must be held.
func (b *Bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.last = now
		return
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}

// full reports whether the bucket would be full at time now: a full bucket
// is the same as a new one and can be forgotten. b.mu must not be held.
func (b *Bucket) full(now time.Time) bool {
	return b.Tokens(now) >= b.burst
}

// Limiter keeps one Bucket per key: per connection (key it by the
// connection's ID) or per user (key it by the user's identity, so that one
// user's connections share a budget). Buckets that have refilled are
// forgotten, so memory follows the number of keys active recently. A Limiter
// is safe for concurrent use.
type Limiter struct {
	// Now returns the current time; nil means time.Now. Tests set it to
	// step through time deterministically.
	Now func() time.Time

	rate  float64
	burst int

	mu        sync.Mutex
	buckets   map[string]*Bucket
	lastSweep time.Time
}

// New returns a Limiter whose buckets refill at rate tokens per second and
// hold at most burst tokens.
func New(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: max(burst, 1), buckets: make(map[string]*Bucket)}
}

// Every converts an interval between events into a rate: Every(100 *
// time.Millisecond) is 10 per second.
func Every(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(time.Second) / float64(d)
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow takes a token from key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	l.sweepLocked(now)
	b := l.buckets[key]
	if b == nil {
		b = NewBucket(l.rate, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	return b.AllowN(now, 1)
}

// Forget drops key's bucket, as when its connection ends. Forgetting a key
// that is still in use gives it a full bucket.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweepLocked forgets full buckets, at most once per refill period (the time
// an empty bucket takes to fill), so the cost per Allow stays constant on
// average. l.mu must be held.
func (l *Limiter) sweepLocked(now time.Time) {
	period := time.Minute
	if l.rate > 0 {
		period = time.Duration(float64(l.burst) / l.rate * float64(time.Second))
	}
	if now.Sub(l.lastSweep) < period {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.full(now) {
			delete(l.buckets, k)
		}
	}
}
