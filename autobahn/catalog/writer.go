package catalog

import (
	"net"
	"sync"
)

// wItem is one entry of the send queue.
type wItem struct {
	data  []byte
	sync  bool // written on its own, not coalesced with neighbours
	chop  int  // > 0: written in chunks of this many octets, one write each
	close bool // close the connection once everything before was written
}

// sendQueue writes octets to the connection on a goroutine of its own, in
// order, so that the event loop never blocks on a slow peer (as a reactor's
// transport never blocks its caller). Consecutive plain items are coalesced
// into one write, as a transport buffer does; sync and chopped items are
// written apart, mirroring autobahn's queued writes.
type sendQueue struct {
	c    net.Conn
	mu   sync.Mutex
	q    []wItem
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newSendQueue(c net.Conn) *sendQueue {
	w := &sendQueue{
		c:    c,
		wake: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *sendQueue) push(it wItem) {
	w.mu.Lock()
	w.q = append(w.q, it)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop ends the writer goroutine and waits for it.
func (w *sendQueue) stop() {
	close(w.quit)
	<-w.done
}

func (w *sendQueue) run() {
	defer close(w.done)
	failed := false
	for {
		select {
		case <-w.wake:
		case <-w.quit:
			return
		}
		w.mu.Lock()
		items := w.q
		w.q = nil
		w.mu.Unlock()
		for i := 0; i < len(items); i++ {
			it := items[i]
			if failed {
				continue
			}
			var err error
			switch {
			case it.close:
				_ = w.c.Close()
				failed = true
			case it.chop > 0:
				for off := 0; off < len(it.data) && err == nil; off += it.chop {
					end := min(off+it.chop, len(it.data))
					_, err = w.c.Write(it.data[off:end])
				}
			case it.sync:
				_, err = w.c.Write(it.data)
			default:
				bufs := net.Buffers{it.data}
				for i+1 < len(items) && plain(items[i+1]) {
					i++
					bufs = append(bufs, items[i].data)
				}
				_, err = bufs.WriteTo(w.c)
			}
			if err != nil {
				// The reader sees the connection end and reports it.
				_ = w.c.Close()
				failed = true
			}
		}
	}
}

func plain(it wItem) bool { return !it.sync && it.chop == 0 && !it.close }
