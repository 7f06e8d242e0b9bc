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
// arrival order. It is one word (4 bytes) because every Conn holds three:
// what its slow path needs, a mutex and the list of waiters, is in the
// semStripe its address picks, shared.
type sem struct {
	// state holds semLocked while the lock is held and semWaiters while
	// the waiters list is not empty (only while it is held: the lock is
	// handed to the first waiter, never freed with waiters queued).
	// Without waiters it changes by compare-and-swap alone; with them,
	// under its stripe's mutex.
	state atomic.Uint32
}

// semStripe holds the slow-path state of the sems whose address picks it:
// the mutex that guards their waiters lists and semWaiters bits, and the
// lists of those that have waiters. The mutex is held only briefly, never
// while waiting, and never two at a time, so sems that share a stripe only
// wait for each other's bookkeeping, and only under contention; an idle
// Conn carries neither a mutex nor a list head for its three.
type semStripe struct {
	sync.Mutex
	waiters map[*sem]*semWaiter // FIFO lists, by sem; an entry only while not empty
	_       [48]byte            // a cache line each
}

var semStripes [64]semStripe

// stripe returns s's stripe.
func (s *sem) stripe() *semStripe {
	a := uintptr(unsafe.Pointer(s))
	return &semStripes[(a>>4^a>>10)%uintptr(len(semStripes))]
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
	st := s.stripe()
	st.Lock()
	for {
		state := s.state.Load()
		if state&semLocked == 0 {
			// Freed meanwhile (with no waiters: state is 0).
			if s.state.CompareAndSwap(state, state|semLocked) {
				st.Unlock()
				return nil
			}
			continue
		}
		// Mark the waiters while the lock is held, so that unlock takes
		// the slow path (and the stripe's mutex) and finds this one
		// queued.
		if state&semWaiters != 0 || s.state.CompareAndSwap(state, state|semWaiters) {
			break
		}
	}
	w := &semWaiter{ready: make(chan struct{})}
	if head := st.waiters[s]; head != nil {
		p := head
		for p.next != nil {
			p = p.next
		}
		p.next = w
	} else {
		if st.waiters == nil {
			st.waiters = make(map[*sem]*semWaiter)
		}
		st.waiters[s] = w
	}
	st.Unlock()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = ErrClosed
	}
	st.Lock()
	select {
	case <-w.ready:
		// The lock was handed over while giving up: pass it on.
		st.Unlock()
		s.unlock()
		return err
	default:
	}
	head := st.waiters[s]
	if head == w {
		head = w.next
	} else {
		for p := head; p.next != nil; p = p.next {
			if p.next == w {
				p.next = w.next
				break
			}
		}
	}
	if head == nil {
		delete(st.waiters, s)
		// The lock is held (by whoever we waited for): only the bit goes.
		s.state.And(^uint32(semWaiters))
	} else {
		st.waiters[s] = head
	}
	st.Unlock()
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
	st := s.stripe()
	st.Lock()
	if w := st.waiters[s]; w != nil {
		if w.next != nil {
			st.waiters[s] = w.next
		} else {
			delete(st.waiters, s)
			s.state.Store(semLocked)
		}
		w.next = nil
		close(w.ready) // the lock stays held, now by the waiter
	} else {
		// The last waiter gave up between our failed fast path and now.
		s.state.Store(0)
	}
	st.Unlock()
}

// waiterList returns s's waiters (for tests).
func (s *sem) waiterList() *semWaiter {
	st := s.stripe()
	st.Lock()
	defer st.Unlock()
	return st.waiters[s]
}
