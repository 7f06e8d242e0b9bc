//go:build linux

package loop

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestWakeIsNeverLost: goroutines post work (a counter) and wake the
// poller, as post does, while a loop waits, resets the wake and takes the
// work, as run does. A wake that comes while the loop resets the previous
// one must still end the next wait: the loop waits for at most 5 s, and
// every post must be seen.
func TestWakeIsNeverLost(t *testing.T) {
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	const posters, each = 4, 20000
	var posted atomic.Int64
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				posted.Add(1)
				p.wake()
			}
		}()
	}
	events := make([]syscall.EpollEvent, 4)
	var seen int64
	for seen < posters*each {
		n, err := p.wait(events, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("the loop was not woken: %d of %d posts seen, %d posted", seen, posters*each, posted.Load())
		}
		p.woke()
		seen = posted.Load()
	}
	wg.Wait()
}
