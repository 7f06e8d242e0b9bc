package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rfc6455/ws"
)

// Broker carries broadcasts between the servers of a cluster, so that a
// message sent to a room reaches the room's members on every server. Each
// hub publishes its broadcasts to the broker and delivers what the other
// servers publish to its own clients; room membership stays local to each
// server. Set Options.Broker to use one; without it a hub is a single
// server, and its broadcasts reach its own clients only.
//
// The hub delivers a broadcast to its own clients first and then hands it
// to the broker from a bounded queue of its own, so that a slow or failing
// broker never delays local delivery (see Options.BrokerQueueSize).
//
// Package github.com/rfc6455/ws/natsbroker is a Broker over NATS;
// NewMemoryBroker connects hubs within one process.
type Broker interface {
	// Publish sends m to the other servers. It is called by one goroutine
	// of the hub at a time, in the order of the broadcasts, and may block
	// until ctx ends (Options.BrokerTimeout). m and m.Data must not be
	// modified, and may be kept.
	Publish(ctx context.Context, m *Message) error

	// Subscribe starts delivering to handle the messages the servers
	// publish, its own included (the hub drops those by Message.Origin):
	// one at a time, in the order each origin published them. handle
	// does not block, and keeps m. Calling unsubscribe stops the
	// delivery; the hub calls it in Shutdown.
	Subscribe(handle func(m *Message)) (unsubscribe func(), err error)
}

// Scope says which clients a Message is for.
type Scope uint8

// Scopes of a Message, one per kind of broadcast.
const (
	// ScopeAll is every client of the hub (Hub.Broadcast).
	ScopeAll Scope = iota
	// ScopeNamespace is the clients of Message.Namespace
	// (Namespace.Broadcast).
	ScopeNamespace
	// ScopeRoom is the members of Message.Room in Message.Namespace
	// (Room.Broadcast).
	ScopeRoom
	// ScopeUser is the connections of Message.User (Hub.SendToUser).
	ScopeUser
	// ScopeRooms is the clients of Message.Namespace in any of
	// Message.Rooms (all of them when Rooms is empty) and in none of
	// Message.ExceptRooms (Namespace.BroadcastTo).
	ScopeRooms
)

var scopeNames = [...]string{"all", "namespace", "room", "user", "rooms"}

// String returns "all", "namespace", "room", "user" or "rooms".
func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return "scope(" + strconv.Itoa(int(s)) + ")"
}

// Message is a broadcast as it travels between servers.
type Message struct {
	// Origin is the ServerID of the hub that published the message.
	Origin string
	// Scope says who the message is for; Namespace, Room and User name
	// them, as the scope needs.
	Scope     Scope
	Namespace string
	Room      string
	User      string
	// Rooms and ExceptRooms are the rooms of ScopeRooms.
	Rooms       []string
	ExceptRooms []string
	// Type is ws.Text or ws.Binary; Data is the payload.
	Type ws.MessageType
	Data []byte
}

// Defaults for the broker fields of Options left zero.
const (
	DefaultBrokerQueueSize = 4096
	DefaultBrokerTimeout   = 5 * time.Second
)

// ErrBrokerQueueFull is the error counted and logged when a broadcast could
// not be handed to the broker because Options.BrokerQueueSize publications
// were waiting already; the other servers miss it, local clients do not.
var ErrBrokerQueueFull = errors.New("hub: broker queue full")

// outbox is the hub's queue of publications for the broker, emptied by a
// goroutine that runs only while the queue is not empty, so that an idle
// hub has no goroutine of its own.
type outbox struct {
	mu      sync.Mutex
	queue   []*Message    // FIFO; queue[0] is next
	idle    chan struct{} // closed when the running pump stops; nil when none runs
	stopped bool          // Shutdown: nothing more is published
}

// publish hands a broadcast to the broker, if the hub has one: it is queued
// and published by the pump. It never blocks.
func (h *Hub) publish(m *Message) {
	if h.broker == nil {
		return
	}
	m.Origin = h.id
	o := &h.out
	o.mu.Lock()
	if o.stopped {
		o.mu.Unlock()
		return
	}
	if len(o.queue) >= h.opts.BrokerQueueSize {
		o.mu.Unlock()
		h.m.brokerDropped.Add(1)
		h.brokerFailed(ErrBrokerQueueFull)
		return
	}
	o.queue = append(o.queue, m)
	start := o.idle == nil
	if start {
		o.idle = make(chan struct{})
	}
	o.mu.Unlock()
	if start {
		go h.pump()
	}
}

// pump publishes queued messages in order until the queue is empty.
func (h *Hub) pump() {
	o := &h.out
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			close(o.idle)
			o.idle = nil
			o.queue = nil // let a burst's backing array go
			o.mu.Unlock()
			return
		}
		m := o.queue[0]
		o.queue[0] = nil
		o.queue = o.queue[1:]
		o.mu.Unlock()

		if err := h.publishOne(m); err != nil {
			h.m.brokerFailed.Add(1)
			h.brokerFailed(err)
			continue
		}
		h.m.brokerPublished.Add(1)
		if h.brokerDown.CompareAndSwap(true, false) {
			h.log.Info("hub: broker available again; broadcasts reach the other servers", "server", h.id)
		}
	}
}

// publishOne hands one message to the broker, bounded by BrokerTimeout. A
// panic in Publish is recovered (issue 20, bug 5): counted in Stats.Panics,
// logged with its stack, and returned as the publication's failure, so
// that the pump goes on with the next message.
func (h *Hub) publishOne(m *Message) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.BrokerTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			h.m.panics.Add(1)
			h.log.Error("hub: recovered a panic in Broker.Publish", "server", h.id, "panic", v, "stack", stack())
			err = fmt.Errorf("hub: Broker.Publish panicked: %v", v)
		}
	}()
	return h.broker.Publish(ctx, m)
}

// brokerFailed reports a publication the other servers missed: the first
// failure of an outage is logged at Warn and counted in Stats.BrokerOutages,
// the next ones only counted until a publication succeeds again.
func (h *Hub) brokerFailed(err error) {
	if h.brokerDown.CompareAndSwap(false, true) {
		h.log.Warn("hub: broker unavailable; broadcasts reach this server's clients only", "server", h.id, "err", err)
		h.m.brokerOutages.Add(1) // after the log, so that a count seen means a record written
	}
}

// receive delivers a message published by another server to the local
// clients in its scope.
func (h *Hub) receive(m *Message) {
	if m.Origin == h.id {
		return // delivered locally when it was broadcast
	}
	var pm Payload
	var err error
	if h.brokerPayload != nil {
		pm, err = h.brokerPayload(m.Type, m.Data)
	} else {
		pm, err = ws.NewPreparedMessage(m.Type, m.Data)
	}
	if err != nil {
		h.m.brokerInvalid.Add(1)
		h.log.Warn("hub: dropped a broker message of an invalid type", "server", h.id, "origin", m.Origin, "type", m.Type)
		return
	}
	switch m.Scope {
	case ScopeAll:
		h.broadcastLocal(pm, nil)
	case ScopeNamespace:
		h.Namespace(m.Namespace).broadcastLocal(pm, nil)
	case ScopeRoom:
		h.Namespace(m.Namespace).Room(m.Room).broadcastLocal(pm, nil)
	case ScopeUser:
		h.sendToUserLocal(m.User, pm)
	case ScopeRooms:
		h.Namespace(m.Namespace).broadcastToLocal(pm, Target{Rooms: m.Rooms, ExceptRooms: m.ExceptRooms})
	default:
		h.m.brokerInvalid.Add(1)
		h.log.Warn("hub: dropped a broker message of an unknown scope", "server", h.id, "origin", m.Origin, "scope", m.Scope)
		return
	}
	h.m.brokerReceived.Add(1)
}

// stopBroker, called by Shutdown, stops publishing, waits (bounded by ctx)
// for the publications queued to go out, and unsubscribes.
func (h *Hub) stopBroker(ctx context.Context) {
	if h.broker == nil {
		return
	}
	o := &h.out
	o.mu.Lock()
	o.stopped = true
	idle := o.idle
	o.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	h.subMu.Lock()
	unsub := h.unsubscribe
	h.unsubscribe = nil
	h.subMu.Unlock()
	if unsub != nil {
		unsub()
	}
}

// ServerID returns the hub's server ID (Options.ServerID, or a random one),
// which marks the messages it publishes to the broker.
func (h *Hub) ServerID() string { return h.id }

// MemoryBroker is a Broker for hubs in one process: what one publishes, the
// others deliver, as if they were servers sharing a real broker. It is the
// in-process counterpart of an adapter such as natsbroker, for tests and
// for programs that run several hubs. The zero value is not usable; call
// NewMemoryBroker.
type MemoryBroker struct {
	mu   sync.RWMutex
	subs map[int]func(*Message)
	next int
}

// NewMemoryBroker returns an in-process broker with no subscribers.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: make(map[int]func(*Message))}
}

// Publish delivers m to every subscriber, on the caller's goroutine.
func (b *MemoryBroker) Publish(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, handle := range b.subs {
		handle(m)
	}
	return nil
}

// Subscribe adds handle to the subscribers until unsubscribe is called.
func (b *MemoryBroker) Subscribe(handle func(*Message)) (unsubscribe func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = handle
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}, nil
}
