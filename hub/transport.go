package hub

import (
	"context"

	"github.com/rfc6455/ws"
)

// Payload is what the hub sends to clients: a message prepared once for all
// its receivers. *ws.PreparedMessage is the payload of WebSocket clients; a
// protocol layer over other transports defines its own (package socketio's
// packets, which an Engine.IO session writes as a WebSocket frame or in a
// long-polling response). Each Transport sends the kinds of payload it
// knows; a WebSocket client given another kind sends Data as a message of
// type Type.
type Payload interface {
	// Type is ws.Text or ws.Binary.
	Type() ws.MessageType
	// Data is the payload as it travels between servers (see Broker), and
	// its length is what a client's queue bounds count. It must not be
	// modified.
	Data() []byte
}

// Transport is the connection behind a Client: a WebSocket connection (what
// Serve uses), an Engine.IO session, or an event-loop connection. The hub
// hands it payloads to send and asks it to close; it never reads from it.
// Whoever owns the Transport reads the connection, feeds the client's
// messages to Client.Receive if the hub should handle them, and calls
// Client.Detach once the connection has ended.
//
// A Transport keeps its own bounded queue, so that the hub needs no
// goroutine for a client: a transport with a writer of its own (an
// Engine.IO session, an event loop) costs nothing while idle. Its methods
// must be safe for concurrent use and must not block.
type Transport interface {
	// Send queues p for the peer, in order after what was queued before,
	// without blocking. It returns ErrQueueFull when the queue cannot take
	// p (the hub then applies Options.Overflow) and ErrClosed once the
	// transport is closing.
	Send(p Payload) error

	// Close starts closing the connection with code and reason (a close
	// frame on WebSocket; transports without close codes ignore them),
	// without waiting. With flush, the payloads queued go out first;
	// without, they are dropped. A transport that could not queue the
	// close behind a full queue closes at once and returns ErrQueueFull.
	// Closing a transport that is closing already does nothing.
	Close(code ws.CloseCode, reason string, flush bool) error

	// CloseNow ends the connection at once, without a closing handshake:
	// for a peer that no longer answers.
	CloseNow() error

	// BufferedAmount returns the payload bytes queued and not yet written
	// to the network.
	BufferedAmount() int64
}

// Target selects clients of a namespace for Namespace.BroadcastTo and
// Namespace.Select: the members of any of Rooms (every client of the
// namespace when Rooms is empty), except the members of any of ExceptRooms
// and the clients listed in Except. Each selected client is counted once,
// however many of the rooms it is in. With Options.ClientRooms, a room name
// that is a client's ID names that client.
type Target struct {
	Rooms       []string
	ExceptRooms []string
	Except      []*Client
}

// Attach adds a client whose connection t is served by its owner rather
// than by the hub: the owner reads it, passes the client's messages to
// Receive (if the hub's OnMessage should see them), and calls Detach when
// the connection has ended. The hub starts no goroutine for the client.
// OnConnect runs before Attach returns. ctx is the parent of the client's
// context.
//
// A hub that is shutting down refuses the client with ErrShutdown, an
// Info.ID in use with ErrDuplicateID; the caller then closes t.
func (h *Hub) Attach(ctx context.Context, t Transport, info Info) (*Client, error) {
	c := h.newClient(ctx, t, info)
	if err := h.add(c); err != nil {
		c.endContext()
		return nil, err
	}
	h.m.connections.Add(1)
	h.m.accepted.Add(1)
	h.log.Debug("hub: client attached", "id", c.id, "user", c.user, "namespace", c.ns)
	if h.opts.OnConnect != nil {
		h.guard(c, "OnConnect", func() { h.opts.OnConnect(c) })
	}
	return c, nil
}

// Receive handles a message the client sent, as Serve's read loop does for
// WebSocket clients: it is counted, checked against the rate limit, and
// passed to OnMessage, whose panics are recovered. The owner of an attached
// client calls it from its read loop, one message at a time.
func (c *Client) Receive(typ ws.MessageType, data []byte) { c.onMessage(typ, data) }

// Detach removes an attached client from the hub once its connection has
// ended: it leaves its rooms, its context ends, and OnDisconnect runs with
// reason (nil for a normal end). Only the first call does anything. Serve
// does this itself for the clients it runs.
func (c *Client) Detach(reason error) {
	if c.flags.Or(flagDetached)&flagDetached != 0 {
		return
	}
	c.end()
	h := c.hub
	h.remove(c)
	h.m.connections.Add(-1)
	if r := c.reason(); r != nil {
		reason = r
	}
	h.finish(c, reason)
	h.wg.Done()
}
