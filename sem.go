package ws

import (
	"context"
	"sync"
)

// sem is a lock whose waiters can give up when a context ends or a channel
// closes. Uncontended, it costs two sync.Mutex round trips and allocates
// nothing; waiters are served in arrival order. It is kept small (one
// pointer besides the mutex) because every Conn holds three.
type sem struct {
	mu      sync.Mutex
	held    bool
	waiters *semWaiter // FIFO list; allocated only under contention
}

// semWaiter is one goroutine waiting for a sem.
type semWaiter struct {
	ready chan struct{}
	next  *semWaiter
}

// tryLock takes the lock if it is free.
func (s *sem) tryLock() bool {
	s.mu.Lock()
	ok := !s.held
	if ok {
		s.held = true
	}
	s.mu.Unlock()
	return ok
}

// lock takes the lock, or returns ctx's error if ctx ends first, or
// ErrClosed if done closes first (done may be nil).
func (s *sem) lock(ctx context.Context, done <-chan struct{}) error {
	s.mu.Lock()
	if !s.held {
		s.held = true
		s.mu.Unlock()
		return nil
	}
	w := &semWaiter{ready: make(chan struct{})}
	p := &s.waiters
	for *p != nil {
		p = &(*p).next
	}
	*p = w
	s.mu.Unlock()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = ErrClosed
	}
	s.mu.Lock()
	select {
	case <-w.ready:
		// The lock was handed over while giving up: pass it on.
		s.mu.Unlock()
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
	s.mu.Unlock()
	return err
}

// unlock releases the lock, handing it to the first waiter if any.
func (s *sem) unlock() {
	s.mu.Lock()
	if w := s.waiters; w != nil {
		s.waiters = w.next
		w.next = nil
		close(w.ready) // the lock stays held, now by the waiter
	} else {
		s.held = false
	}
	s.mu.Unlock()
}
