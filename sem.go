package ws

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// sem is a lock whose waiters can give up when a context ends or a channel
// closes. Uncontended, taking and releasing it costs one atomic
// compare-and-swap each and allocates nothing; waiters are served in
// arrival order. It is kept small (the state word and one pointer: 16
// bytes) because every Conn holds three; the mutex of its slow path is one
// of semMus, shared.
type sem struct {
	// state holds semLocked while the lock is held and semWaiters while
	// the waiters list is not empty (only while it is held: the lock is
	// handed to the first waiter, never freed with waiters queued).
	// Without waiters it changes by compare-and-swap alone; with them,
	// under s.mu().
	state   atomic.Uint32
	waiters *semWaiter // FIFO list; allocated only under contention
}

// semMus are the mutexes of the sems' slow paths, which guard their
// waiters lists and semWaiters bits: a sem uses the one its address picks.
// A mutex is held only briefly, never while waiting, and never two at a
// time, so sems that share one only wait for each other's bookkeeping, and
// only under contention; an idle Conn carries no mutex for its three.
var semMus [64]struct {
	sync.Mutex
	_ [56]byte // a cache line each
}

// mu returns the mutex of s's slow path.
func (s *sem) mu() *sync.Mutex {
	a := uintptr(unsafe.Pointer(s))
	return &semMus[(a>>4^a>>10)%uintptr(len(semMus))].Mutex
}

const (
	semLocked  = 1
	semWaiters = 2
)

// semWaiter is one goroutine waiting for a sem.
type semWaiter struct {
	ready chan struct{}
	next  *semWaiter
}

// tryLock takes the lock if it is free.
func (s *sem) tryLock() bool {
	return s.state.CompareAndSwap(0, semLocked)
}

// lock takes the lock, or returns ctx's error if ctx ends first, or
// ErrClosed if done closes first (done may be nil).
func (s *sem) lock(ctx context.Context, done <-chan struct{}) error {
	if s.state.CompareAndSwap(0, semLocked) {
		return nil
	}
	return s.lockSlow(ctx, done)
}

func (s *sem) lockSlow(ctx context.Context, done <-chan struct{}) error {
	mu := s.mu()
	mu.Lock()
	for {
		st := s.state.Load()
		if st&semLocked == 0 {
			// Freed meanwhile (with no waiters: st is 0).
			if s.state.CompareAndSwap(st, st|semLocked) {
				mu.Unlock()
				return nil
			}
			continue
		}
		// Mark the waiters while the lock is held, so that unlock takes
		// the slow path (and mu) and finds this one queued.
		if st&semWaiters != 0 || s.state.CompareAndSwap(st, st|semWaiters) {
			break
		}
	}
	w := &semWaiter{ready: make(chan struct{})}
	p := &s.waiters
	for *p != nil {
		p = &(*p).next
	}
	*p = w
	mu.Unlock()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = ErrClosed
	}
	mu.Lock()
	select {
	case <-w.ready:
		// The lock was handed over while giving up: pass it on.
		mu.Unlock()
		s.unlock()
		return err
	default:
	}
	for p := &s.waiters; *p != nil; p = &(*p).next {
		if *p == w {
			*p = w.next
			break
		}
	}
	if s.waiters == nil {
		// The lock is held (by whoever we waited for): only the bit goes.
		s.state.And(^uint32(semWaiters))
	}
	mu.Unlock()
	return err
}

// unlock releases the lock, handing it to the first waiter if any.
func (s *sem) unlock() {
	if s.state.CompareAndSwap(semLocked, 0) {
		return
	}
	s.unlockSlow()
}

func (s *sem) unlockSlow() {
	mu := s.mu()
	mu.Lock()
	if w := s.waiters; w != nil {
		s.waiters = w.next
		w.next = nil
		if s.waiters == nil {
			s.state.Store(semLocked)
		}
		close(w.ready) // the lock stays held, now by the waiter
	} else {
		// The last waiter gave up between our failed fast path and now.
		s.state.Store(0)
	}
	mu.Unlock()
}
