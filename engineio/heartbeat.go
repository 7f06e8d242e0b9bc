package engineio

import (
	"sync"
	"time"
)

// heartbeats runs the heartbeat timers of a server's sessions (see
// Socket.onTimer) on one runtime timer: a min-heap of the sessions by the
// time their heartbeat's phase is due. A runtime timer per session would
// cost every idle session about 140 bytes (the timer, its closure, its
// slot in the runtime's timer heap); a slot here costs 8. A session's
// onTimer runs on a goroutine of its own, as a time.AfterFunc would run
// it, so that one slow Handler.Close cannot hold up the others.
type heartbeats struct {
	mu    sync.Mutex
	heap  []*Socket // ordered by Socket.hbAt; Socket.hbIdx is the index plus one
	timer *time.Timer
	at    int64 // when the timer fires (nanotime), 0 when it does not
}

// schedule makes s's onTimer run at due (nanotime), instead of when it
// was to run before; s.mu is held.
func (h *heartbeats) schedule(s *Socket, due int64) {
	h.mu.Lock()
	s.hbAt = due
	if s.hbIdx == 0 {
		h.heap = append(h.heap, s)
		s.hbIdx = int32(len(h.heap))
		h.up(len(h.heap) - 1)
	} else {
		h.fix(int(s.hbIdx - 1))
	}
	h.arm()
	h.mu.Unlock()
}

// cancel forgets s; s.mu is held. The timer may then fire for nothing,
// and is set again for the next session due.
func (h *heartbeats) cancel(s *Socket) {
	h.mu.Lock()
	if s.hbIdx != 0 {
		h.remove(int(s.hbIdx - 1))
	}
	h.mu.Unlock()
}

// arm sets the timer for the first session due, unless it fires before
// that already; h.mu is held.
func (h *heartbeats) arm() {
	if len(h.heap) == 0 {
		return
	}
	next := h.heap[0].hbAt
	if h.at != 0 && h.at <= next {
		return
	}
	h.at = next
	d := time.Duration(max(next-nanotime(), 0))
	if h.timer == nil {
		h.timer = time.AfterFunc(d, h.run)
	} else {
		h.timer.Reset(d)
	}
}

// run is the timer's function: it starts the onTimer of every session
// due, and sets the timer for the next.
func (h *heartbeats) run() {
	now := nanotime()
	var due []*Socket
	h.mu.Lock()
	h.at = 0
	for len(h.heap) > 0 && h.heap[0].hbAt <= now {
		due = append(due, h.heap[0])
		h.remove(0)
	}
	h.arm()
	h.mu.Unlock()
	for _, s := range due {
		go s.onTimer()
	}
}

// remove takes the session at index i out of the heap; h.mu is held.
func (h *heartbeats) remove(i int) {
	last := len(h.heap) - 1
	h.heap[i].hbIdx = 0
	if i != last {
		h.heap[i] = h.heap[last]
		h.heap[i].hbIdx = int32(i + 1)
	}
	h.heap[last] = nil
	h.heap = h.heap[:last]
	if i != last {
		h.fix(i)
	}
}

// fix restores the heap's order after the time at index i changed.
func (h *heartbeats) fix(i int) {
	if !h.up(i) {
		h.down(i)
	}
}

// up moves the session at index i towards the root while it is due
// before its parent; it reports whether it moved.
func (h *heartbeats) up(i int) bool {
	moved := false
	for i > 0 {
		p := (i - 1) / 2
		if h.heap[p].hbAt <= h.heap[i].hbAt {
			break
		}
		h.swap(i, p)
		i = p
		moved = true
	}
	return moved
}

// down moves the session at index i towards the leaves while a child is
// due before it.
func (h *heartbeats) down(i int) {
	n := len(h.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && h.heap[r].hbAt < h.heap[c].hbAt {
			c = r
		}
		if h.heap[i].hbAt <= h.heap[c].hbAt {
			return
		}
		h.swap(i, c)
		i = c
	}
}

func (h *heartbeats) swap(i, j int) {
	h.heap[i], h.heap[j] = h.heap[j], h.heap[i]
	h.heap[i].hbIdx = int32(i + 1)
	h.heap[j].hbIdx = int32(j + 1)
}
