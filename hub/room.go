package hub

import (
	"maps"
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
		return slices.Collect(maps.Values(s.clients))
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
	if ns.h.broker != nil { // building the message costs an allocation
		ns.h.publish(&Message{Scope: ScopeNamespace, Namespace: ns.name, Type: pm.Type(), Data: pm.Data()})
	}
	return n
}

// broadcastLocal queues pm for this hub's clients of the namespace not in
// except.
func (ns Namespace) broadcastLocal(pm Payload, except []*Client) int {
	ns.h.mu.RLock()
	defer ns.h.mu.RUnlock()
	if s := ns.h.namespaces[ns.name]; s != nil {
		return sendTo(maps.Values(s.clients), pm, except)
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

// members returns the room's member set and, with Options.ClientRooms,
// the client whose ID is the room's name (if it is not in the set); r.h.mu
// must be held.
func (r Room) members() (map[*Client]struct{}, *Client) {
	return r.h.roomLocked(r.h.namespaces[r.ns], r.ns, r.name)
}

// roomLocked returns the members of room in the namespace s (called name),
// as Room.members does; h.mu must be held. s may be nil.
func (h *Hub) roomLocked(s *nsState, ns, room string) (set map[*Client]struct{}, self *Client) {
	if s != nil {
		set = s.rooms[room]
	}
	if h.opts.ClientRooms && s != nil {
		if c := s.clients[room]; c != nil {
			if _, in := set[c]; !in {
				self = c
			}
		}
	}
	return set, self
}

// inRoomLocked reports whether c is in room; h.mu must be held.
func (h *Hub) inRoomLocked(c *Client, room string) bool {
	if _, ok := c.rooms[room]; ok {
		return true
	}
	return h.opts.ClientRooms && c.id == room
}

// Len returns the number of clients in the room.
func (r Room) Len() int {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	set, self := r.members()
	if self != nil {
		return len(set) + 1
	}
	return len(set)
}

// Clients returns the room's members, in no particular order.
func (r Room) Clients() []*Client {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	set, self := r.members()
	cs := slices.Collect(maps.Keys(set))
	if self != nil {
		cs = append(cs, self)
	}
	return cs
}

// Has reports whether c is in the room.
func (r Room) Has(c *Client) bool {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	s := r.h.namespaces[r.ns]
	return c.ns == r.ns && s != nil && s.clients[c.id] == c && r.h.inRoomLocked(c, r.name)
}

// Broadcast queues pm for every member of the room except those listed,
// and returns how many clients it was queued for. With a Broker, pm also
// goes to the room's members on the other servers (membership is per
// server: each delivers to its own members); the count is this server's.
//
//	room.Broadcast(pm, sender) // the sender's message to the others
func (r Room) Broadcast(pm *ws.PreparedMessage, except ...*Client) int {
	n := r.broadcastLocal(pm, except)
	if r.h.broker != nil { // building the message costs an allocation
		r.h.publish(&Message{Scope: ScopeRoom, Namespace: r.ns, Room: r.name, Type: pm.Type(), Data: pm.Data()})
	}
	return n
}

// broadcastLocal queues pm for this hub's members of the room not in
// except.
func (r Room) broadcastLocal(pm Payload, except []*Client) int {
	r.h.mu.RLock()
	defer r.h.mu.RUnlock()
	set, self := r.members()
	n := sendTo(maps.Keys(set), pm, except)
	if self != nil && !excluded(self, except) && self.enqueue(pm) == nil {
		n++
	}
	return n
}

// BroadcastTo queues p for the clients of the namespace that t selects,
// each once, and returns how many it was queued for. It never blocks on a
// client: a full queue is handled by the Overflow policy. With a Broker, p
// also goes to the clients t selects on the other servers (rooms by name;
// the clients of t.Except are this server's); the count is this server's.
//
//	// the members of "a" or "b" who are not in "muted", but the sender
//	ns.BroadcastTo(pm, hub.Target{Rooms: []string{"a", "b"}, ExceptRooms: []string{"muted"}, Except: []*hub.Client{sender}})
func (ns Namespace) BroadcastTo(p Payload, t Target) int {
	n := ns.broadcastToLocal(p, t)
	if ns.h.broker != nil { // building the message costs an allocation
		ns.h.publish(&Message{Scope: ScopeRooms, Namespace: ns.name, Rooms: t.Rooms, ExceptRooms: t.ExceptRooms, Type: p.Type(), Data: p.Data()})
	}
	return n
}

// broadcastToLocal queues p for this hub's clients that t selects.
func (ns Namespace) broadcastToLocal(p Payload, t Target) int {
	h := ns.h
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	h.selectLocked(ns.name, t, func(c *Client) {
		if c.enqueue(p) == nil {
			n++
		}
	})
	return n
}

// Select returns the clients of the namespace that t selects, each once,
// in no particular order.
func (ns Namespace) Select(t Target) []*Client {
	h := ns.h
	h.mu.RLock()
	defer h.mu.RUnlock()
	var cs []*Client
	h.selectLocked(ns.name, t, func(c *Client) { cs = append(cs, c) })
	return cs
}

// selectLocked calls fn with each client of namespace ns that t selects,
// once; h.mu must be held. A client in several of t.Rooms is visited for
// the first of them it is in, without a set of those already visited.
func (h *Hub) selectLocked(ns string, t Target, fn func(*Client)) {
	s := h.namespaces[ns]
	if s == nil {
		return
	}
	skip := func(c *Client) bool {
		if excluded(c, t.Except) {
			return true
		}
		for _, r := range t.ExceptRooms {
			if h.inRoomLocked(c, r) {
				return true
			}
		}
		return false
	}
	if len(t.Rooms) == 0 {
		for _, c := range s.clients {
			if !skip(c) {
				fn(c)
			}
		}
		return
	}
	seen := func(c *Client, i int) bool {
		for _, r := range t.Rooms[:i] {
			if h.inRoomLocked(c, r) {
				return true
			}
		}
		return false
	}
	for i, r := range t.Rooms {
		set, self := h.roomLocked(s, ns, r)
		for c := range set {
			if !skip(c) && !seen(c, i) {
				fn(c)
			}
		}
		if self != nil && !skip(self) && !seen(self, i) {
			fn(self)
		}
	}
}
