//go:build linux

package loop

// Timers. Each event loop keeps one min-heap of the connections that have
// a deadline: a connection has at most one at a time (the handshake
// timeout, the next heartbeat ping, the pong deadline, or the close
// timeout), so its place in the heap is two fields of the connection and a
// slot of the heap's slice, and no runtime timer is made per connection.
// The loop waits in epoll_wait no longer than the earliest deadline.

// Timer kinds: what a connection's deadline is for.
const (
	timerNone      uint8 = iota
	timerHandshake       // the opening handshake must be over (HandshakeTimeout)
	timerPing            // time to send the next heartbeat ping
	timerPong            // the heartbeat ping's pong is due
	timerClose           // the close handshake must be over (CloseTimeout)
)

// timerHeap is a min-heap of connections by deadline. It belongs to one
// event loop and is used only by its goroutine.
type timerHeap struct {
	h []*Conn
}

// set gives c the deadline when (nanoseconds on the loop's clock) for
// kind, replacing the one it had.
func (t *timerHeap) set(c *Conn, kind uint8, when int64) {
	c.tkind, c.when = kind, when
	if c.tidx >= 0 {
		t.fix(int(c.tidx))
		return
	}
	c.tidx = int32(len(t.h))
	t.h = append(t.h, c)
	t.up(len(t.h) - 1)
}

// stop removes c's deadline, if it has one.
func (t *timerHeap) stop(c *Conn) {
	i := int(c.tidx)
	c.tkind = timerNone
	if i < 0 {
		return
	}
	last := len(t.h) - 1
	if i != last {
		t.swap(i, last)
	}
	t.h[last] = nil
	t.h = t.h[:last]
	c.tidx = -1
	if i != last {
		t.fix(i)
	}
	if cap(t.h) > 64 && len(t.h) < cap(t.h)/4 {
		// Give back what a burst of handshakes made the heap grow to.
		t.h = append([]*Conn(nil), t.h...)
	}
}

// next returns the earliest deadline, and false when there is none.
func (t *timerHeap) next() (int64, bool) {
	if len(t.h) == 0 {
		return 0, false
	}
	return t.h[0].when, true
}

// pop removes and returns the connection with the earliest deadline if
// that deadline is at or before now, or nil. The connection's tkind still
// says what the deadline was for.
func (t *timerHeap) pop(now int64) *Conn {
	if len(t.h) == 0 || t.h[0].when > now {
		return nil
	}
	c := t.h[0]
	kind := c.tkind
	t.stop(c)
	c.tkind = kind
	return c
}

func (t *timerHeap) len() int { return len(t.h) }

func (t *timerHeap) less(i, j int) bool { return t.h[i].when < t.h[j].when }

func (t *timerHeap) swap(i, j int) {
	t.h[i], t.h[j] = t.h[j], t.h[i]
	t.h[i].tidx = int32(i)
	t.h[j].tidx = int32(j)
}

func (t *timerHeap) fix(i int) {
	if !t.down(i) {
		t.up(i)
	}
}

func (t *timerHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !t.less(j, i) {
			break
		}
		t.swap(i, j)
		j = i
	}
}

func (t *timerHeap) down(i0 int) bool {
	i, n := i0, len(t.h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j2 := j + 1; j2 < n && t.less(j2, j) {
			j = j2
		}
		if !t.less(j, i) {
			break
		}
		t.swap(i, j)
		i = j
	}
	return i > i0
}
