package ws

import (
	"context"
	"sync"
)

// sem is a lock whose waiters can give up when a context ends or a channel
// closes. Uncontended, it costs two sync.Mutex round trips and allocates
// nothing; waiters are served in arrival order.
type sem struct {
	mu      sync.Mutex
	held    bool
	waiters []chan struct{}
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
	ready := make(chan struct{})
	s.waiters = append(s.waiters, ready)
	s.mu.Unlock()
	var err error
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = ErrClosed
	}
	s.mu.Lock()
	select {
	case <-ready:
		// The lock was handed over while giving up: pass it on.
		s.mu.Unlock()
		s.unlock()
		return err
	default:
	}
	for i, w := range s.waiters {
		if w == ready {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	return err
}

// unlock releases the lock, handing it to the first waiter if any.
func (s *sem) unlock() {
	s.mu.Lock()
	if len(s.waiters) > 0 {
		w := s.waiters[0]
		copy(s.waiters, s.waiters[1:])
		s.waiters[len(s.waiters)-1] = nil
		s.waiters = s.waiters[:len(s.waiters)-1]
		close(w) // the lock stays held, now by the waiter
	} else {
		s.held = false
	}
	s.mu.Unlock()
}
