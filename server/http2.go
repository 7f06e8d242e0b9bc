package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rfc6455/ws"
)

// accept2 completes an RFC 8441 handshake: WebSocket on an HTTP/2 stream.
func accept2(w http.ResponseWriter, r *http.Request, p *plan) (*ws.Conn, error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	for k, vs := range p.header {
		h[k] = vs
	}
	// RFC 8441 §5: a 2xx response completes the handshake; there is no
	// Sec-WebSocket-Accept.
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("server: sending the HTTP/2 response: %w", err)
	}
	return ws.NewConn(newStreamConn(w, r, rc), nil, ws.RoleServer, &p.conn), nil
}

// streamConn is a net.Conn over an HTTP/2 stream (RFC 8441): reads come
// from the request body, writes go to the response, flushed at once.
//
// net/http's deadlines on a stream cannot be undone: once a read deadline
// passes the request body is broken, once a write deadline passes the
// stream is reset. A ws.Conn moves a deadline to the past to interrupt a
// call whose context ended, and back when the call succeeded all the same,
// so streamConn keeps its deadlines itself. Reads come from a goroutine
// that reads the body (pump); Read waits for it, for its deadline or for
// Close. A write deadline resets the stream only if it passes while a write
// is blocked, and that write then fails.
//
// The response writer must not be used once the handler has returned
// (net/http's HTTP/2 server frees it then). After Close nothing touches it,
// and detach, which Server calls before its handler returns, waits for a
// write still under way to end; Close resets the stream to make a write
// blocked on flow control end at once.
type streamConn struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	// Reading: the pump hands what it read over chunks, and reads on
	// into the same buffer once Read, which keeps what it has not
	// returned yet in left, has used it up and says so on ack.
	rmu    sync.Mutex // one Read at a time
	chunks chan []byte
	ack    chan struct{}
	left   []byte
	rerr   error // why the body's Read failed, set before chunks is closed
	rdl    deadline

	wmu sync.Mutex // one Write at a time
	wdl deadline

	mu      sync.Mutex // guards what follows, and every use of w and rc after accept2
	closed  bool
	writing bool           // a Write is under way
	reset   bool           // the stream was reset
	writes  sync.WaitGroup // Writes under way
	done    chan struct{}  // closed by Close
}

// streamReadSize is the size of the buffer the pump reads the body into.
const streamReadSize = 4 << 10

func newStreamConn(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *streamConn {
	c := &streamConn{
		body:   r.Body,
		w:      w,
		rc:     rc,
		local:  addr{r.Context().Value(http.LocalAddrContextKey)},
		remote: addr{r.RemoteAddr},
		chunks: make(chan []byte),
		ack:    make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	c.wdl.onExpire = c.writeExpired
	go c.pump()
	return c
}

// pump reads the body until it fails or the connection is closed.
func (c *streamConn) pump() {
	buf := make([]byte, streamReadSize)
	for {
		n, err := c.body.Read(buf)
		if n > 0 {
			select {
			case c.chunks <- buf[:n]:
			case <-c.done:
				return
			}
			select {
			case <-c.ack:
			case <-c.done:
				return
			}
		}
		if err != nil {
			if errors.Is(err, http.ErrBodyReadAfterClose) {
				err = net.ErrClosed
			}
			c.rerr = err
			close(c.chunks)
			return
		}
	}
}

func (c *streamConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.left) == 0 {
		expired := c.rdl.channel()
		select {
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.done:
			return 0, net.ErrClosed
		default:
		}
		select {
		case chunk, ok := <-c.chunks:
			if !ok {
				return 0, c.rerr
			}
			c.left = chunk
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.done:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.left)
	c.left = c.left[n:]
	if len(c.left) == 0 {
		c.left = nil
		c.ack <- struct{}{}
	}
	return n, nil
}

func (c *streamConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.closed || c.reset {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.wdl.passed() {
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	c.writing = true
	c.writes.Add(1)
	c.mu.Unlock()
	n, err := c.w.Write(p)
	if err == nil {
		err = c.rc.Flush()
	}
	c.mu.Lock()
	c.writing = false
	switch {
	case c.closed:
		if err == nil && c.reset {
			err = net.ErrClosed
		}
	case c.reset:
		// The write deadline passed while the write was under way: it
		// fails, even if the bytes went out just before.
		err = os.ErrDeadlineExceeded
	}
	c.mu.Unlock()
	c.writes.Done()
	return n, err
}

// writeExpired runs when the write deadline passes: a write under way is
// ended by resetting the stream (RFC 9113 §6.4), the only way to stop a
// write that waits for flow control.
func (c *streamConn) writeExpired() {
	c.mu.Lock()
	if c.writing && !c.closed && !c.reset {
		c.resetLocked()
	}
	c.mu.Unlock()
}

// resetLocked resets the stream through a write deadline in the past;
// c.mu must be held and the handler still running.
func (c *streamConn) resetLocked() {
	c.reset = true
	c.rc.SetWriteDeadline(time.Unix(1, 0))
}

// Close ends the connection: reads and writes fail from then on, and a
// write blocked on flow control ends at once (the stream is reset). A
// stream closed with no write under way ends when the handler returns.
func (c *streamConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.closed = true
	close(c.done)
	if c.writing && !c.reset {
		c.resetLocked()
	}
	c.mu.Unlock()
	c.rdl.set(time.Time{})
	c.wdl.set(time.Time{})
	return c.body.Close()
}

// detach closes the connection and waits for a write under way to end, so
// that the handler can return: nothing uses the response writer after it.
func (c *streamConn) detach() {
	c.Close()
	c.writes.Wait()
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

func (c *streamConn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}
func (c *streamConn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *streamConn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

// deadline is a deadline that can be moved forward and back any number of
// times, as net.Conn's are: the channel is closed while it has passed, and
// onExpire, if set, runs each time it passes.
type deadline struct {
	mu       sync.Mutex
	gen      uint64 // counts the times the deadline was set: a stale timer does nothing
	timer    *time.Timer
	expired  chan struct{} // nil until needed
	onExpire func()
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if d.expired != nil && chanClosed(d.expired) {
		d.expired = nil
	}
	if t.IsZero() {
		d.mu.Unlock()
		return
	}
	if dur := time.Until(t); dur > 0 {
		gen := d.gen
		d.timer = time.AfterFunc(dur, func() { d.expire(gen) })
		d.mu.Unlock()
		return
	}
	d.expireLocked()
	f := d.onExpire
	d.mu.Unlock()
	if f != nil {
		f()
	}
}

// expire is the timer's: the deadline set as number gen passed.
func (d *deadline) expire(gen uint64) {
	d.mu.Lock()
	if gen != d.gen {
		d.mu.Unlock()
		return
	}
	d.expireLocked()
	f := d.onExpire
	d.mu.Unlock()
	if f != nil {
		f()
	}
}

func (d *deadline) expireLocked() {
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	if !chanClosed(d.expired) {
		close(d.expired)
	}
}

// channel returns a channel closed once the deadline has passed.
func (d *deadline) channel() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired == nil {
		d.expired = make(chan struct{})
	}
	return d.expired
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired != nil && chanClosed(d.expired)
}

func chanClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// addr is a net.Addr for what net/http reports as a string or net.Addr.
type addr struct{ v any }

func (a addr) Network() string {
	if na, ok := a.v.(net.Addr); ok {
		return na.Network()
	}
	return "tcp"
}

func (a addr) String() string {
	switch v := a.v.(type) {
	case net.Addr:
		return v.String()
	case string:
		return v
	}
	return ""
}
