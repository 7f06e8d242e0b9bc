package hub

import (
	"context"
	"errors"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/loop"
)

// LoopHandler returns the Handler of an event-loop server (package loop)
// whose connections are clients of the hub, as Serve makes a *ws.Conn one:
// each connection is attached when it opens (OnConnect runs), its messages
// go to OnMessage through the rate limit, it leaves when it ends
// (OnDisconnect runs), and rooms, broadcasts, SendToUser, Shutdown and the
// metrics see it as any other client. No goroutine is started per client.
//
// The hub's options apply: QueueSize and QueueBytes bound each
// connection's send queue (the event loop's, which a prepared message
// enters as its frame, encoded once for all its receivers), Overflow says
// what happens when it is full, PingInterval and PongTimeout run the
// heartbeat on the event loop's timers (counted in Stats.Pongs and
// Stats.PongTimeouts). WriteTimeout does not apply: the event loop never
// blocks on a write, and a client that does not read is found by the
// overflow policy and the heartbeat.
//
// info, if not nil, returns the Info of a connection (its user, namespace,
// data); it may read what the server's Upgrade hook attached to the
// connection (loop.Conn.Value) before LoopHandler replaces that with the
// client: ClientOf returns it.
//
// OnConnect, OnMessage and OnDisconnect run on the event loop's goroutine,
// which serves many connections: they must not block.
//
//	h := hub.New(&hub.Options{OnMessage: ...})
//	srv := &loop.Server{Handler: h.LoopHandler(nil)}
//	go srv.ListenAndServe(":8080")
func (h *Hub) LoopHandler(info func(c *loop.Conn) Info) loop.Handler {
	o := &h.opts
	return &loopHandler{h: h, info: info, policy: &loop.Policy{
		QueueSize:    o.QueueSize,
		QueueBytes:   o.QueueBytes,
		Overflow:     loop.Drop, // the hub applies its own policy on ErrQueueFull
		PingInterval: o.PingInterval,
		PongTimeout:  o.PongTimeout,
	}}
}

// ClientOf returns the client of a connection served by a LoopHandler, or
// nil (before it is attached, or if it was refused).
func ClientOf(c *loop.Conn) *Client {
	if t, ok := c.Value().(*loopTransport); ok {
		return t.c
	}
	return nil
}

type loopHandler struct {
	h      *Hub
	info   func(*loop.Conn) Info
	policy *loop.Policy
}

func (lh *loopHandler) OnOpen(lc *loop.Conn) {
	lc.SetPolicy(lh.policy)
	var info Info
	if lh.info != nil {
		info = lh.info(lc)
	}
	t := &loopTransport{lc: lc}
	c, err := lh.h.Attach(context.Background(), t, info)
	if err != nil {
		if errors.Is(err, ErrShutdown) {
			lc.Close(ws.CloseGoingAway, ShutdownReason)
		} else {
			lc.Close(ws.CloseInternalError, "internal error")
		}
		return
	}
	t.c = c
	lc.SetValue(t)
}

func (lh *loopHandler) OnMessage(lc *loop.Conn, typ ws.MessageType, data []byte) {
	if c := ClientOf(lc); c != nil {
		c.Receive(typ, data)
	}
}

func (lh *loopHandler) OnHeartbeat(lc *loop.Conn) { lh.h.m.pongs.Add(1) }

func (lh *loopHandler) OnClose(lc *loop.Conn, err error) {
	c := ClientOf(lc)
	if c == nil {
		return
	}
	switch {
	case errors.Is(err, loop.ErrPongTimeout):
		lh.h.m.pongTimeouts.Add(1)
		lh.h.log.Warn("hub: terminated a client that did not answer a ping", "id", c.id, "user", c.user, "timeout", lh.policy.PongTimeout)
		err = ErrPongTimeout
	case errors.Is(err, loop.ErrShutdown):
		err = ErrShutdown
	}
	c.Detach(err)
}

// loopTransport is the Transport of a client served by an event loop.
type loopTransport struct {
	lc *loop.Conn
	c  *Client
}

func (t *loopTransport) Send(p Payload) error {
	var err error
	if pm, ok := p.(*ws.PreparedMessage); ok {
		err = t.lc.SendPrepared(pm)
	} else {
		err = t.lc.Send(p.Type(), p.Data())
	}
	switch {
	case errors.Is(err, loop.ErrQueueFull):
		return ErrQueueFull
	case errors.Is(err, loop.ErrClosed):
		return ErrClosed
	}
	return err
}

func (t *loopTransport) Close(code ws.CloseCode, reason string, flush bool) error {
	if flush {
		return t.lc.Close(code, reason)
	}
	return t.lc.CloseDiscard(code, reason)
}

func (t *loopTransport) CloseNow() error       { return t.lc.CloseNow() }
func (t *loopTransport) BufferedAmount() int64 { return t.lc.BufferedAmount() }
func (t *loopTransport) Queued() int           { return t.lc.Queued() }
