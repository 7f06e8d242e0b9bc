package socketio

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/socketio/parser"
)

// Operator selects sockets of a namespace to emit to, like the reference's
// BroadcastOperator: the sockets in any of the rooms given to To (all of
// the namespace's when there are none), except those in any of the rooms
// given to Except. Its methods return a new Operator and leave the
// receiver as it was, so that one may be kept and reused.
//
//	io.To("room1").To("room2").Except("muted").Emit("news", item)
//	s.Broadcast().Emit("message", m) // everyone but s
//
// A socket's own id is a room holding just that socket.
type Operator struct {
	ns       *Namespace
	rooms    []string
	except   []string
	volatile bool
	// localOnly: a request from another server of the cluster, applied
	// here and not passed on.
	localOnly bool
}

// To adds rooms to those selected.
func (o Operator) To(rooms ...string) Operator {
	o.rooms = slices.Concat(o.rooms, rooms)
	return o
}

// In is To.
func (o Operator) In(rooms ...string) Operator { return o.To(rooms...) }

// Except adds rooms whose sockets are left out.
func (o Operator) Except(rooms ...string) Operator {
	o.except = slices.Concat(o.except, rooms)
	return o
}

// Volatile marks the events emitted as volatile: a socket whose transport
// cannot take them at once (a long-polling client between two requests, a
// WebSocket still writing) does not get them, rather than get them late.
// Volatile events are not kept for connection state recovery.
func (o Operator) Volatile() Operator {
	o.volatile = true
	return o
}

func (o Operator) target() hub.Target {
	return hub.Target{Rooms: o.rooms, ExceptRooms: o.except}
}

// Emit sends an event to the selected sockets, encoded once for all of
// them (once per transport kind: a WebSocket frame, a polling payload). It
// never blocks: a client whose buffer is full is closed (or, with
// Options.DropSlow, misses it). Arguments are encoded as Socket.Emit's.
func (o Operator) Emit(event string, args ...any) error {
	if o.ns.match != nil {
		var errs []error
		for _, c := range o.ns.Children() {
			o.ns = c
			errs = append(errs, o.Emit(event, args...))
		}
		return errors.Join(errs...)
	}
	if err := checkName(event); err != nil {
		return err
	}
	var e encoder
	e.open()
	e.string(event)
	if err := e.args(args); err != nil {
		return err
	}
	ns := o.ns
	if rec := ns.rec; rec != nil && !o.volatile {
		// The offset goes last, for the client to send back when it
		// reconnects; the packet is kept in the order it is delivered.
		rec.mu.Lock()
		defer rec.mu.Unlock()
		offset := rec.nextOffset()
		e.sep()
		e.string(offset)
		e.close()
		p, err := newPayload(eventPacket(ns.name, &e, nil), false)
		if err != nil {
			return err
		}
		rec.retain(p, o.rooms, o.except)
		ns.hns.BroadcastTo(p, o.target())
		return nil
	}
	e.close()
	p, err := newPayload(eventPacket(ns.name, &e, nil), o.volatile)
	if err != nil {
		return err
	}
	ns.hns.BroadcastTo(p, o.target())
	return nil
}

// ErrAckTimeout is the error of EmitWithAck when ctx ends before every
// selected socket has acknowledged (errors.Is it, and ctx's error).
var ErrAckTimeout = errors.New("socketio: operation has timed out")

// EmitWithAck sends an event to the selected sockets and waits until each
// has acknowledged it, or ctx ends. It returns the acknowledgements
// received, in no particular order; when ctx ends first, the error wraps
// ErrAckTimeout and ctx's error, and the answers received so far come with
// it. A socket that disconnects meanwhile never answers.
func (o Operator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if err := checkName(event); err != nil {
		return nil, err
	}
	var sockets []*Socket
	for _, ns := range o.namespaces() {
		o.ns = ns
		sockets = append(sockets, o.FetchSockets()...)
	}
	if len(sockets) == 0 {
		return nil, nil
	}
	var e encoder
	e.open()
	e.string(event)
	if err := e.args(args); err != nil {
		return nil, err
	}
	e.close()
	answers := make(chan Args, len(sockets))
	type pending struct {
		s  *Socket
		id uint64
	}
	var waiting []pending
	payloads := make(map[*Namespace]*payload)
	ids := make(map[*Namespace]uint64)
	for _, s := range sockets {
		p := payloads[s.ns]
		if p == nil {
			id := s.ns.nextAckID()
			var err error
			if p, err = newPayload(eventPacket(s.ns.name, &e, &id), o.volatile); err != nil {
				return nil, err
			}
			payloads[s.ns], ids[s.ns] = p, id
		}
		id := ids[s.ns]
		if !s.addAck(id, func(a Args) { answers <- a }) {
			continue
		}
		if s.send(p) != nil {
			s.removeAck(id)
			continue
		}
		waiting = append(waiting, pending{s, id})
	}
	var got []Args
	for len(got) < len(waiting) {
		select {
		case a := <-answers:
			got = append(got, a)
		case <-ctx.Done():
			for _, w := range waiting {
				w.s.removeAck(w.id)
			}
			return got, fmt.Errorf("%w: %d of %d sockets answered: %w", ErrAckTimeout, len(got), len(waiting), ctx.Err())
		}
	}
	return got, nil
}

// namespaces returns the namespace selected, or a dynamic one's children.
func (o Operator) namespaces() []*Namespace {
	if o.ns.match != nil {
		return o.ns.Children()
	}
	return []*Namespace{o.ns}
}

// FetchSockets returns the selected sockets, in no particular order.
func (o Operator) FetchSockets() []*Socket {
	var out []*Socket
	for _, ns := range o.namespaces() {
		for _, c := range ns.hns.Select(o.target()) {
			if s, ok := c.Data().(*Socket); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// SocketsJoin makes the selected sockets join rooms, on every server of a
// cluster (Options.Broker).
func (o Operator) SocketsJoin(rooms ...string) {
	for _, s := range o.FetchSockets() {
		s.Join(rooms...)
	}
	o.broadcastRequest(&clusterMessage{Type: cmJoin, Arg: rooms})
}

// SocketsLeave makes the selected sockets leave rooms, on every server of a
// cluster.
func (o Operator) SocketsLeave(rooms ...string) {
	for _, s := range o.FetchSockets() {
		s.Leave(rooms...)
	}
	o.broadcastRequest(&clusterMessage{Type: cmLeave, Arg: rooms})
}

// DisconnectSockets disconnects the selected sockets from the namespace
// (Socket.Disconnect), or, with closeConn, closes their connections
// (Socket.Close), on every server of a cluster.
func (o Operator) DisconnectSockets(closeConn bool) {
	for _, s := range o.FetchSockets() {
		if closeConn {
			s.Close()
		} else {
			s.Disconnect()
		}
	}
	o.broadcastRequest(&clusterMessage{Type: cmDisconnect, Close: closeConn})
}

// eventPacket makes the EVENT (or BINARY_EVENT) packet of an encoded
// payload.
func eventPacket(nsp string, e *encoder, ackID *uint64) *parser.Packet {
	p := &parser.Packet{Type: parser.Event, Namespace: nsp, Data: e.buf, Attachments: e.bins}
	if len(e.bins) > 0 {
		p.Type = parser.BinaryEvent
	}
	if ackID != nil {
		p.ID, p.HasID = *ackID, true
	}
	return p
}

// payload is a Socket.IO packet as the hub sends it: its Engine.IO message
// packets, each encoded once for every receiver and transport.
type payload struct {
	parts    []*engineio.Prepared
	volatile bool
	// write: the sender writes it itself when it can (engineio's
	// WritePrepared): an acknowledgement, sent by the socket's worker.
	write bool
	size  int

	once sync.Once
	data []byte
}

// newPayload prepares a packet for any number of receivers.
func newPayload(pkt *parser.Packet, volatile bool) (*payload, error) {
	return preparePayload(pkt, volatile, engineio.NewPrepared)
}

// newDirectPayload prepares a packet for one socket that is written on
// its own: its encodings are not kept (engineio.NewMessage).
func newDirectPayload(pkt *parser.Packet) (*payload, error) {
	return preparePayload(pkt, false, engineio.NewMessage)
}

func preparePayload(pkt *parser.Packet, volatile bool, prepare func(ws.MessageType, []byte) (*engineio.Prepared, error)) (*payload, error) {
	text := pkt.AppendText(nil)
	p := &payload{parts: make([]*engineio.Prepared, 0, 1+len(pkt.Attachments)), volatile: volatile, size: len(text)}
	t, err := prepare(ws.Text, text)
	if err != nil {
		return nil, err
	}
	p.parts = append(p.parts, t)
	for _, b := range pkt.Attachments {
		bp, err := prepare(ws.Binary, b)
		if err != nil {
			return nil, err
		}
		p.parts = append(p.parts, bp)
		p.size += len(b)
	}
	return p, nil
}

// Type is ws.Text: Data is text.
func (p *payload) Type() ws.MessageType { return ws.Text }

// Size is the bytes of the packet and its attachments.
func (p *payload) Size() int { return p.size }

// Data is the packet as an Engine.IO long-polling payload ("4" and the
// text, then "b" and each attachment in base64, separated by 0x1e): a
// self-describing form for carrying it between servers. It is built on
// first use.
func (p *payload) Data() []byte {
	p.once.Do(func() {
		var b []byte
		for i, part := range p.parts {
			if i > 0 {
				b = append(b, 0x1e)
			}
			if part.Type() == ws.Binary {
				b = append(b, 'b')
				b = base64.StdEncoding.AppendEncode(b, part.Data())
			} else {
				b = append(b, '4')
				b = append(b, part.Data()...)
			}
		}
		p.data = b
	})
	return p.data
}

// transport is the hub.Transport of a connection's sockets: its Engine.IO
// session, shared by the sockets of every namespace it joined.
type transport struct{ c *conn }

// Send queues a packet without blocking. A volatile packet the session
// cannot write at once is dropped.
func (t *transport) Send(p hub.Payload) error {
	es := t.c.es
	var err error
	switch p := p.(type) {
	case *payload:
		if p.volatile && !es.Writable() {
			return nil
		}
		if p.write {
			err = es.WritePrepared(p.parts...)
		} else {
			err = es.TrySendPrepared(p.parts...)
		}
	default:
		// A WebSocket message broadcast through the hub: an Engine.IO
		// message of its own.
		var m *engineio.Prepared
		if m, err = engineio.NewPrepared(p.Type(), p.Data()); err == nil {
			err = es.TrySendPrepared(m)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engineio.ErrBufferFull):
		return hub.ErrQueueFull
	case errors.Is(err, engineio.ErrClosed):
		return hub.ErrClosed
	}
	return err
}

// Close closes the whole connection: the hub closes a client whose buffer
// is full, and the buffer is the connection's. It does not wait: the
// sockets disconnect when the session has ended (ErrServerClose).
func (t *transport) Close(ws.CloseCode, string, bool) error { return t.c.es.Close() }

// CloseNow closes the connection, as Close does.
func (t *transport) CloseNow() error { return t.c.es.Close() }

// BufferedAmount returns the bytes queued for the session.
func (t *transport) BufferedAmount() int64 { return t.c.es.BufferedAmount() }
