package ws

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSemExclusion hammers a sem with goroutines that lock, give up on
// short contexts and try-lock, and checks that at most one holds it at a
// time and that it ends free.
func TestSemExclusion(t *testing.T) {
	var s sem
	var mu sync.Mutex
	holders := 0
	hold := func() {
		mu.Lock()
		holders++
		if holders != 1 {
			t.Errorf("%d holders", holders)
		}
		mu.Unlock()
		for range 50 {
		}
		mu.Lock()
		holders--
		mu.Unlock()
		s.unlock()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				switch (g + i) % 3 {
				case 0:
					if err := s.lock(context.Background(), nil); err != nil {
						t.Error(err)
						return
					}
					hold()
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Microsecond)
					if s.lock(ctx, nil) == nil {
						hold()
					}
					cancel()
				default:
					if s.tryLock() {
						hold()
					}
				}
			}
		})
	}
	wg.Wait()
	if !s.tryLock() {
		t.Fatal("sem held after every holder released it")
	}
	if w := s.waiterList(); w != nil || s.state.Load() != semLocked {
		t.Fatalf("state %d, waiters %v", s.state.Load(), w)
	}
}

// TestSemDone checks that a waiter gives up with ErrClosed when done
// closes, and that the lock is then still handed over in order.
func TestSemDone(t *testing.T) {
	var s sem
	s.lock(context.Background(), nil)
	done := make(chan struct{})
	got := make(chan error, 1)
	go func() { got <- s.lock(context.Background(), done) }()
	for {
		if s.waiterList() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(done)
	if err := <-got; err != ErrClosed {
		t.Fatalf("lock: %v, want ErrClosed", err)
	}
	if st := s.state.Load(); st != semLocked {
		t.Fatalf("state %d after the only waiter gave up, want %d", st, semLocked)
	}
	s.unlock()
	if st := s.state.Load(); st != 0 {
		t.Fatalf("state %d after unlock, want 0", st)
	}
}
