package hub

import (
	"slices"

	"github.com/rfc6455/ws"
)

// Namespace is a named partition of a hub's clients, like a Socket.IO
// namespace: a client belongs to the one named in its Info, and rooms are
// per namespace, so that "lobby" in "chat" and "lobby" in "admin" are
// different rooms. "" is the default namespace. A Namespace is a handle: it
// exists while it has clients or rooms, and handles to it are cheap.
type Namespace struct {
	h    *Hub
	name string
}

// Namespace returns a handle to the namespace called name.
func (h *Hub) Namespace(name string) Namespace { return Namespace{h: h, name: name} }

// Room returns a handle to a room of the default namespace; it is
// h.Namespace("").Room(name).
func (h *Hub) Room(name string) Room { return h.Namespace("").Room(name) }

// Name returns the namespace's name.
func (ns Namespace) Name() string { return ns.name }

// Room returns a handle to the room called name in the namespace.
func (ns Namespace) Room(name string) Room { return Room{h: ns.h, ns: ns.name, name: name} }

// Len returns the number of clients in the namespace.
func (ns Namespace) Len() int {
	ns.h.mu.RLock()
	defer ns.h.mu.RUnlock()
	if s := ns.h.namespaces[ns.name]; s != nil {
		return len(s.clients)
	}
	return 0
}

// Clients returns the namespace's clients, in no particular order.
func (ns Namespace) Clients() []*Client {
	ns.h.mu.RLock()
	defer ns.h.mu.RUnlock()
	if s := ns.h.namespaces[ns.name]; s != nil {
		return keys(s.clients)
	}
	return nil
}

// Rooms returns the names of the namespace's rooms that have members,
// sorted.
func (ns Namespace) Rooms() []string {
	ns.h.mu.RLock()
	defer ns.h.mu.RUnlock()
	s := ns.h.namespaces[ns.name]
	if s == nil {
		return nil
	}
	rs := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// Broadcast queues pm for every client of the namespace except those
// listed, and returns how many clients it was queued for. With a Broker,
// pm also goes to the namespace's clients on the other servers; the count
// is this server's.
func (ns Namespace) Broadcast(pm *ws.PreparedMessage, except ...*Client) int {
	n := ns.broadcastLocal(pm, except)
	ns.h.publish(&Message{Scope: ScopeNamespace, Namespace: ns.name, Type: pm.Type(), Data: pm.Data()})
	return n
}

// broadcastLocal queues pm for this hub's clients of the namespace not in
// except.
func (ns Namespace) broadcastLocal(pm *ws.PreparedMessage, except []*Client) int {
	ns.h.mu.RLock()
	defer ns.h.mu.RUnlock()
	if s := ns.h.namespaces[ns.name]; s != nil {
		return sendAll(s.clients, pm, except)
	}
	return 0
}

// Room is a named group of clients within a namespace, which clients join
// and leave (Client.Join, Client.Leave). A room exists while it has
// members; a Room is a handle, cheap to make.
type Room struct {
	h        *Hub
	ns, name string
}

// Name returns the room's name.
func (r Room) Name() string { return r.name }

// Namespace returns the room's namespace.
func (r Room) Namespace() Namespace { return Namespace{h: r.h, name: r.ns} }

// members returns the room's member set; r.h.mu must be held.
func (r Room) members() map[*Client]struct{} {
	if s := r.h.namespaces[r.ns]; s != nil {
		return s.rooms[r.name]
	}
	return nil
}

// Len returns the number of clients in the room.
func (r Room) Len() int {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	return len(r.members())
}

// Clients returns the room's members, in no particular order.
func (r Room) Clients() []*Client {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	return keys(r.members())
}

// Has reports whether c is in the room.
func (r Room) Has(c *Client) bool {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	_, ok := r.members()[c]
	return ok
}

// Broadcast queues pm for every member of the room except those listed,
// and returns how many clients it was queued for. With a Broker, pm also
// goes to the room's members on the other servers (membership is per
// server: each delivers to its own members); the count is this server's.
//
//	room.Broadcast(pm, sender) // the sender's message to the others
func (r Room) Broadcast(pm *ws.PreparedMessage, except ...*Client) int {
	n := r.broadcastLocal(pm, except)
	r.h.publish(&Message{Scope: ScopeRoom, Namespace: r.ns, Room: r.name, Type: pm.Type(), Data: pm.Data()})
	return n
}

// broadcastLocal queues pm for this hub's members of the room not in
// except.
func (r Room) broadcastLocal(pm *ws.PreparedMessage, except []*Client) int {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	return sendAll(r.members(), pm, except)
}
