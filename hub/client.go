package hub

import (
	"context"
	"errors"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
)

// Client is a connection in a hub: its identity, its rooms, and its bounded
// send queue, kept by its Transport so that a slow reader never blocks the
// others. The clients Serve runs have a WebSocket transport with a writer
// goroutine of their own; attached clients (Attach) send through the
// transport their owner gave. Its methods are safe for concurrent use.
type Client struct {
	hub  *Hub
	t    Transport // a *wsConn for the clients Serve runs (see ws)
	id   string
	user string
	ns   string
	data any

	sent atomic.Uint64
	// more holds what an idle client seldom needs, made when first
	// needed (see extra): an idle client is smaller without it.
	more atomic.Pointer[clientMore]

	rooms map[string]struct{} // guarded by hub.mu

	mu        sync.Mutex
	flags     atomic.Uint32 // flagClosing, flagDetached
	ended     bool          // the connection has ended; no goroutine may start; guarded by mu
	closeMode uint8         // notClosing, closeQueued or closeStarted; guarded by mu
	// (The order of the fields packs the struct in 128 bytes.)
}

// The bits of Client.flags.
const (
	flagClosing  = 1 << iota // no more messages are queued
	flagDetached             // removed from the hub (Serve's end or Detach)
)

// closing reports whether the client takes no more messages.
func (c *Client) closing() bool { return c.flags.Load()&flagClosing != 0 }

// setClosing marks the client closing.
func (c *Client) setClosing() { c.flags.Or(flagClosing) }

// ws returns the WebSocket transport of a client that Serve runs, nil for
// an attached client.
func (c *Client) ws() *wsConn {
	w, _ := c.t.(*wsConn)
	return w
}

// clientMore is the state of a Client that an idle attached client seldom
// uses, made when first needed (see Client.extra).
type clientMore struct {
	// ctx is made when first asked for (see Context) when its parent is
	// context.Background, as an attached client's usually is. ctx,
	// cancel, why and values are guarded by Client.mu.
	ctx    context.Context
	cancel context.CancelFunc
	why    error
	values map[any]any

	dropped atomic.Uint64
	drops   dropLog
}

// extra returns c.more, making it if needed.
func (c *Client) extra() *clientMore {
	if m := c.more.Load(); m != nil {
		return m
	}
	m := new(clientMore)
	if c.more.CompareAndSwap(nil, m) {
		return m
	}
	return c.more.Load()
}

// ID returns the client's ID: unique in the hub, unpredictable, and safe to
// show to other clients.
func (c *Client) ID() string { return c.id }

// User returns Info.User.
func (c *Client) User() string { return c.user }

// Data returns Info.Data.
func (c *Client) Data() any { return c.data }

// Conn returns the WebSocket connection of a client that Serve runs, nil
// for an attached client. Write to it through the client (Send) so that
// the queue and its accounting stay right; reading belongs to the hub.
func (c *Client) Conn() *ws.Conn {
	if w := c.ws(); w != nil {
		return w.conn
	}
	return nil
}

// Transport returns the client's transport.
func (c *Client) Transport() Transport { return c.t }

// Context returns the client's context; it ends when the client is gone.
func (c *Client) Context() context.Context {
	m := c.extra()
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.ctx == nil {
		m.ctx, m.cancel = context.WithCancel(context.Background())
		if c.ended {
			m.cancel()
		}
	}
	return m.ctx
}

// endContext ends the client's context, if it was made.
func (c *Client) endContext() {
	if cancel := c.cancelFunc(); cancel != nil {
		cancel()
	}
}

// cancelFunc returns the cancel function of the client's context, if it
// was made; c.mu must not be held.
func (c *Client) cancelFunc() context.CancelFunc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.more.Load(); m != nil {
		return m.cancel
	}
	return nil
}

// Hub returns the hub the client belongs to.
func (c *Client) Hub() *Hub { return c.hub }

// Namespace returns the client's namespace.
func (c *Client) Namespace() Namespace { return Namespace{h: c.hub, name: c.ns} }

// Set attaches a value to the client under key, as per-connection metadata
// that handlers share.
func (c *Client) Set(key, value any) {
	m := c.extra()
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.values == nil {
		m.values = make(map[any]any)
	}
	m.values[key] = value
}

// Get returns the value attached under key, or nil.
func (c *Client) Get(key any) any {
	m := c.more.Load()
	if m == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return m.values[key]
}

// BufferedAmount returns the payload bytes queued for the client and not
// yet written to the network, like the browser's WebSocket.bufferedAmount.
func (c *Client) BufferedAmount() int64 { return c.t.BufferedAmount() }

// Queued returns the number of messages waiting in the send queue: for an
// attached client, what its transport reports if it has a Queued() int
// method, else 0.
func (c *Client) Queued() int {
	if q, ok := c.t.(interface{ Queued() int }); ok {
		return q.Queued()
	}
	return 0
}

// Sent returns the number of messages written to the client (for an
// attached client, handed to its transport).
func (c *Client) Sent() uint64 { return c.sent.Load() }

// Dropped returns the number of messages dropped because the client's queue
// was full.
func (c *Client) Dropped() uint64 {
	if m := c.more.Load(); m != nil {
		return m.dropped.Load()
	}
	return 0
}

// Send queues a message for the client and returns at once; the client's
// writer sends it. data is copied. It returns ErrQueueFull when the queue
// is full (the message is dropped, or the client closed, as the Overflow
// policy says) and ErrClosed when the client is closing.
func (c *Client) Send(typ ws.MessageType, data []byte) error {
	pm, err := ws.NewPreparedMessage(typ, data)
	if err != nil {
		return err
	}
	return c.enqueue(pm)
}

// SendPrepared queues a prepared message for the client, as Send does,
// without copying it.
func (c *Client) SendPrepared(pm *ws.PreparedMessage) error { return c.enqueue(pm) }

// SendPayload queues a payload for the client, as SendPrepared does; its
// transport must know the payload's kind (see Payload).
func (c *Client) SendPayload(p Payload) error { return c.enqueue(p) }

// Close closes the client with code and reason, after the messages already
// queued for it have been written; messages sent after Close are refused
// with ErrClosed. It returns at once, so it may be called from OnMessage:
// the client's writer sends the close frame, and Serve returns once the
// close handshake is over (within the connection's CloseTimeout). If the
// queue is full, the close frame goes out at once instead. Closing a client
// that is closing already does nothing.
func (c *Client) Close(code ws.CloseCode, reason string) error {
	c.closeWith(nil, code, reason, true)
	return nil
}

// Close modes.
const (
	notClosing = iota
	closeQueued
	closeStarted
)

// closeWith closes the client, recording why (if why is not nil and no
// reason was recorded before). With flush, the close is queued behind the
// messages waiting; without it, or when the queue is full, it starts at
// once and the messages waiting are dropped. It reports whether it started
// an immediate close.
func (c *Client) closeWith(why error, code ws.CloseCode, reason string, flush bool) bool {
	var m *clientMore
	if why != nil {
		m = c.extra()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m != nil && m.why == nil {
		m.why = why
	}
	c.setClosing()
	if c.ended || c.closeMode == closeStarted || (c.closeMode == closeQueued && flush) {
		return false
	}
	if flush {
		if err := c.t.Close(code, reason, true); !errors.Is(err, ErrQueueFull) {
			c.closeMode = closeQueued
			return false
		}
		c.closeMode = closeStarted
		return true
	}
	c.closeMode = closeStarted
	c.t.Close(code, reason, false)
	return true
}

// terminate closes the connection at once, recording why.
func (c *Client) terminate(why error) {
	m := c.extra()
	c.mu.Lock()
	if m.why == nil {
		m.why = why
	}
	c.mu.Unlock()
	c.setClosing()
	c.t.CloseNow()
}

// reason returns why the hub ended the client, or nil.
func (c *Client) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.more.Load(); m != nil {
		return m.why
	}
	return nil
}

// start runs the goroutines of a WebSocket client.
func (c *Client) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.ws(); w != nil {
		w.start()
	}
}

// end marks the connection over: no more messages are queued, and the
// client's goroutines stop.
func (c *Client) end() {
	c.mu.Lock()
	c.ended = true
	// more is loaded under mu: a Context made concurrently either comes
	// first (and its cancel is seen here) or sees ended.
	var cancel context.CancelFunc
	if m := c.more.Load(); m != nil {
		cancel = m.cancel
	}
	c.mu.Unlock()
	c.setClosing()
	if w := c.ws(); w != nil {
		w.end()
	}
	if cancel != nil {
		cancel()
	}
}

// enqueue queues p without blocking, applying the Overflow policy when the
// queue is full.
func (c *Client) enqueue(p Payload) error {
	if c.closing() {
		return ErrClosed
	}
	switch err := c.t.Send(p); {
	case err == nil:
		if c.ws() == nil {
			c.sent.Add(1)
			c.hub.m.messagesOut.Add(1)
			c.hub.m.bytesOut.Add(uint64(payloadSize(p)))
		}
		return nil
	case errors.Is(err, ErrQueueFull):
		return c.overflow()
	default:
		return err
	}
}

// payloadSize is the size of p as the metrics count it: its Size() int
// method if it has one (a payload whose Data is built on demand), else
// len(p.Data()).
func payloadSize(p Payload) int {
	if s, ok := p.(interface{ Size() int }); ok {
		return s.Size()
	}
	return len(p.Data())
}

// overflow applies the Overflow policy to a message that did not fit.
func (c *Client) overflow() error {
	h := c.hub
	if h.opts.Overflow == CloseSlow {
		if c.closeWith(ErrQueueFull, h.opts.OverflowCode, "send queue full", false) {
			h.m.slowClosed.Add(1)
			h.log.Warn("hub: closed a slow client", "id", c.id, "user", c.user, "queued", c.Queued(), "buffered", c.BufferedAmount())
		}
		return ErrQueueFull
	}
	m := c.extra()
	m.dropped.Add(1)
	h.m.dropped.Add(1)
	m.drops.add(c)
	return ErrQueueFull
}

// dropLog rate-limits the records of a client's dropped messages: the
// first drop is logged at once, later ones are counted and logged by a
// timer at most once per Options.DropLogInterval, and what is left when the
// client is gone is logged then.
type dropLog struct {
	mu      sync.Mutex
	pending uint64      // drops not logged yet
	timer   *time.Timer // armed while drops are being counted
	ended   bool        // the client is gone; nothing more is logged
}

// add counts a drop, logging it at once unless a record was written less
// than an interval ago.
func (d *dropLog) add(c *Client) {
	every := c.hub.opts.DropLogInterval
	if every < 0 {
		return
	}
	// A drop that raced with the client's end, after its records ended
	// (finish) or before this log was made, is counted but not logged.
	c.mu.Lock()
	gone := c.ended
	c.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending++
	if d.timer != nil || d.ended || gone {
		return
	}
	d.flushLocked(c)
	d.timer = time.AfterFunc(every, func() { d.tick(c) })
}

// tick logs the drops counted during the last interval, and keeps counting
// for another if there were any.
func (d *dropLog) tick(c *Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended || d.pending == 0 {
		d.timer = nil
		return
	}
	d.flushLocked(c)
	d.timer.Reset(c.hub.opts.DropLogInterval)
}

// end logs what is left once the client is gone.
func (d *dropLog) end(c *Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended = true
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.pending > 0 {
		d.flushLocked(c)
	}
}

func (d *dropLog) flushLocked(c *Client) {
	c.hub.log.Warn("hub: dropped messages for a slow client (send queue full)",
		"id", c.id, "user", c.user, "dropped", d.pending, "dropped_total", c.Dropped(),
		"queued", c.Queued(), "buffered", c.BufferedAmount())
	d.pending = 0
}

// onMessage handles a message from the read loop.
func (c *Client) onMessage(typ ws.MessageType, data []byte) {
	h := c.hub
	h.m.messagesIn.Add(1)
	h.m.bytesIn.Add(uint64(len(data)))
	if lim := h.opts.RateLimit; lim != nil {
		key := c.id
		if h.opts.RateLimitPerUser && c.user != "" {
			key = "user:" + c.user
		}
		if !lim.Allow(key) {
			h.m.rateLimited.Add(1)
			if h.opts.RateLimitClose {
				h.log.Warn("hub: closing a client over its rate limit", "id", c.id, "user", c.user)
				c.closeWith(ErrRateLimited, ws.ClosePolicyViolation, "rate limit exceeded", true)
			} else {
				c.enqueue(h.rateLimitReply(typ, data))
			}
			return
		}
	}
	if h.opts.OnMessage == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			h.recovered(c, "OnMessage", v)
			if h.panicMsg != nil {
				c.enqueue(h.panicMsg)
				return
			}
			c.closeWith(ErrPanic, ws.CloseInternalError, "internal error", true)
		}
	}()
	h.opts.OnMessage(c, typ, data)
}

// Rooms returns the names of the rooms the client is in, sorted.
func (c *Client) Rooms() []string {
	c.hub.mu.RLock()
	defer c.hub.mu.RUnlock()
	rs := make([]string, 0, len(c.rooms))
	for r := range c.rooms {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// Join adds the client to rooms of its namespace, creating them as needed.
// A client that is gone joins nothing.
func (c *Client) Join(rooms ...string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ns := h.namespaces[c.ns]
	if ns == nil || ns.clients[c.id] != c {
		return
	}
	if c.rooms == nil {
		c.rooms = make(map[string]struct{})
	}
	for _, r := range rooms {
		set := ns.rooms[r]
		if set == nil {
			set = make(map[*Client]struct{})
			ns.rooms[r] = set
		}
		set[c] = struct{}{}
		c.rooms[r] = struct{}{}
	}
}

// Leave removes the client from rooms; a room left empty is deleted.
func (c *Client) Leave(rooms ...string) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	ns := h.namespaces[c.ns]
	if ns == nil {
		return
	}
	for _, r := range rooms {
		if _, ok := c.rooms[r]; ok {
			h.leaveLocked(ns, r, c)
			delete(c.rooms, r)
		}
	}
}

// leaveLocked removes c from a room's members; h.mu must be held.
func (h *Hub) leaveLocked(ns *nsState, room string, c *Client) {
	set := ns.rooms[room]
	delete(set, c)
	if len(set) == 0 {
		delete(ns.rooms, room)
	}
}

// stack returns the current goroutine's stack, for panic logs.
func stack() string { return string(debug.Stack()) }
