package engineio

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestHeartbeatsHeap schedules, reschedules and cancels sessions at random
// and checks after each step that the heap is ordered by due time and that
// each session knows its index (due times an hour away: nothing fires).
func TestHeartbeatsHeap(t *testing.T) {
	var h heartbeats
	defer func() {
		if h.timer != nil {
			h.timer.Stop()
		}
	}()
	socks := make([]*Socket, 200)
	for i := range socks {
		socks[i] = new(Socket)
	}
	in := make(map[*Socket]bool)
	base := nanotime() + int64(time.Hour)
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 5000 {
		s := socks[r.IntN(len(socks))]
		if r.IntN(4) == 0 {
			h.cancel(s)
			delete(in, s)
		} else {
			h.schedule(s, base+r.Int64N(int64(time.Minute)))
			in[s] = true
		}
		if len(h.heap) != len(in) {
			t.Fatalf("step %d: %d in the heap, want %d", step, len(h.heap), len(in))
		}
		for i, x := range h.heap {
			if !in[x] || int(x.hbIdx) != i+1 {
				t.Fatalf("step %d: index %d holds a session with hbIdx %d (scheduled: %v)", step, i, x.hbIdx, in[x])
			}
			if i > 0 && h.heap[(i-1)/2].hbAt > x.hbAt {
				t.Fatalf("step %d: index %d is due before its parent", step, i)
			}
		}
		for _, x := range socks {
			if !in[x] && x.hbIdx != 0 {
				t.Fatalf("step %d: a cancelled session keeps hbIdx %d", step, x.hbIdx)
			}
		}
		if len(h.heap) > 0 && h.at != 0 && h.at > h.heap[0].hbAt {
			t.Fatalf("step %d: the timer fires after the first session is due", step)
		}
	}
}
