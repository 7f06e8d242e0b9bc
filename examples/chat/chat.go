package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/ratelimit"
	"github.com/rfc6455/ws/server"
)

//go:embed static
var static embed.FS

// Limits of the chat.
const (
	maxNameLen    = 24   // runes in a user name
	maxRoomLen    = 24   // bytes in a room name: letters, digits, - and _
	maxTextLen    = 2000 // runes in a chat message
	historySize   = 50   // messages kept per room, sent to whoever joins
	readLimit     = 16 << 10
	maxRoomsShown = 50
)

// defaultRooms are always listed, even when empty.
var defaultRooms = []string{"lobby", "random", "go"}

// roomKey is the key of a client's current room in its hub.Client values.
type roomKey struct{}

// chatMessage is the payload of a "message" event from the server; the
// room's history holds them too.
type chatMessage struct {
	ID   string `json:"id"`
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
	TS   int64  `json:"ts"`
}

// roomInfo is one entry of a "rooms" event.
type roomInfo struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// presence is the payload of a "presence" event: who is in a room now,
// and who just came or went.
type presence struct {
	Room    string   `json:"room"`
	Members []string `json:"members"`
	User    string   `json:"user"`
	Action  string   `json:"action"` // "join" or "leave"
}

// chat is the chat server: the page, the WebSocket endpoint, the hub with
// its rooms, and the rooms' recent history.
type chat struct {
	hub    *hub.Hub
	router *event.Router[*hub.Client]
	ws     *server.Server
	http   *http.Server
	boot   string // distinguishes message IDs across restarts
	seq    atomic.Uint64

	mu      sync.Mutex
	history map[string][]chatMessage
}

// newChat returns the chat server, ready to serve.
func newChat() *chat {
	c := &chat{history: map[string][]chatMessage{}}
	var b [4]byte
	rand.Read(b[:])
	c.boot = hex.EncodeToString(b[:])

	c.router = event.NewRouter[*hub.Client](nil)
	c.router.Handle("join", c.join)
	c.router.Handle("leave", c.leave)
	c.router.Handle("message", c.message)
	c.router.Handle("rooms", c.rooms)
	c.hub = hub.New(&hub.Options{
		OnConnect:    c.connected,
		OnMessage:    c.router.Dispatch,
		OnDisconnect: c.disconnected,
		RateLimit:    ratelimit.New(10, 20), // 10 events a second, bursts of 20
		Overflow:     hub.CloseSlow,
	})
	c.ws = &server.Server{
		Options: server.Options{Conn: ws.Options{ReadLimit: readLimit}},
		Handle: func(conn *ws.Conn, r *http.Request) {
			c.hub.Serve(r.Context(), conn, hub.Info{User: userName(r.URL.Query().Get("name"))})
		},
	}
	page, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /ws", c.ws)
	mux.Handle("GET /wasm/", noCache(new(wasmPage))) // the client written in Go
	mux.Handle("GET /", noCache(http.FileServerFS(page)))
	// 431 past 32 KiB of request header, the header read within 10 s,
	// idle keep-alive connections closed after a minute.
	c.http = server.NewHTTPServer("", mux)
	return c
}

// noCache makes browsers fetch the page again after a restart.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// serve serves on ln until shutdown; it returns http.ErrServerClosed then.
func (c *chat) serve(ln net.Listener) error { return c.http.Serve(ln) }

// shutdown closes every WebSocket with 1001 "server shutting down" at once
// and stops the HTTP server beside it, then waits for them, bounded by ctx.
func (c *chat) shutdown(ctx context.Context) error {
	err := server.Shutdown(ctx, c.http, c.ws)
	return errors.Join(err, c.hub.Shutdown(ctx))
}

// userName makes a display name of what the page asked for: trimmed,
// printable, at most maxNameLen runes, and a guest name when empty.
func userName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > maxNameLen {
		s = string([]rune(s)[:maxNameLen])
	}
	if s == "" {
		var b [2]byte
		rand.Read(b[:])
		s = "guest-" + hex.EncodeToString(b[:])
	}
	return s
}

// validRoom reports whether name is an acceptable room name.
func validRoom(name string) bool {
	if name == "" || len(name) > maxRoomLen {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func invalid(msg string) error {
	return &event.Error{Code: event.CodeInvalidPayload, Message: msg}
}

// connected greets a new client with its name and the room list.
func (c *chat) connected(cl *hub.Client) {
	event.Send(cl, "welcome", map[string]any{"name": cl.User(), "rooms": c.roomList()})
}

// disconnected tells the client's room it is gone.
func (c *chat) disconnected(cl *hub.Client, _ error) {
	if room, _ := cl.Get(roomKey{}).(string); room != "" {
		c.announce(room, cl.User(), "leave")
		c.broadcastRooms()
	}
}

// join moves the client into a room (a client is in one room at a time):
// it gets the members and the history, the room and the old one get
// presence events, and everyone gets the new room list.
func (c *chat) join(ctx context.Context, cl *hub.Client, e *event.Event) error {
	var p struct {
		Room string `json:"room"`
	}
	if err := e.Decode(&p); err != nil {
		return err
	}
	if !validRoom(p.Room) {
		return invalid("a room name has 1 to 24 letters, digits, - or _")
	}
	old, _ := cl.Get(roomKey{}).(string)
	if old != "" && old != p.Room {
		cl.Leave(old)
		c.announce(old, cl.User(), "leave")
	}
	cl.Join(p.Room)
	cl.Set(roomKey{}, p.Room)
	c.mu.Lock()
	history := slices.Clone(c.history[p.Room])
	c.mu.Unlock()
	if history == nil {
		history = []chatMessage{}
	}
	event.Send(cl, "joined", map[string]any{"room": p.Room, "members": c.members(p.Room), "history": history})
	c.announce(p.Room, cl.User(), "join")
	c.broadcastRooms()
	return nil
}

// leave takes the client out of its room.
func (c *chat) leave(ctx context.Context, cl *hub.Client, e *event.Event) error {
	var p struct {
		Room string `json:"room"`
	}
	if err := e.Decode(&p); err != nil {
		return err
	}
	if cur, _ := cl.Get(roomKey{}).(string); cur != p.Room || cur == "" {
		return invalid("not in that room")
	}
	cl.Leave(p.Room)
	cl.Set(roomKey{}, "")
	event.Send(cl, "left", map[string]string{"room": p.Room})
	c.announce(p.Room, cl.User(), "leave")
	c.broadcastRooms()
	return nil
}

// message sends a chat message to everyone in the sender's room, the
// sender included: its copy confirms delivery.
func (c *chat) message(ctx context.Context, cl *hub.Client, e *event.Event) error {
	var p struct {
		Text string `json:"text"`
	}
	if err := e.Decode(&p); err != nil {
		return err
	}
	room, _ := cl.Get(roomKey{}).(string)
	switch text := strings.TrimSpace(p.Text); {
	case room == "":
		return invalid("join a room first")
	case text == "":
		return invalid("empty message")
	case utf8.RuneCountInString(text) > maxTextLen:
		return invalid("message too long")
	default:
		p.Text = text
	}
	m := chatMessage{
		ID:   c.boot + "-" + formatUint(c.seq.Add(1)),
		Room: room,
		From: cl.User(),
		Text: p.Text,
		TS:   time.Now().UnixMilli(),
	}
	c.mu.Lock()
	h := append(c.history[room], m)
	if len(h) > historySize {
		h = slices.Clone(h[len(h)-historySize:])
	}
	c.history[room] = h
	c.mu.Unlock()
	pm, err := event.Prepare("message", m)
	if err != nil {
		return err
	}
	c.hub.Room(room).Broadcast(pm)
	return nil
}

// rooms answers with the room list.
func (c *chat) rooms(ctx context.Context, cl *hub.Client, e *event.Event) error {
	return event.Send(cl, "rooms", c.roomList())
}

// members returns the distinct names of a room's members, sorted.
func (c *chat) members(room string) []string {
	var names []string
	for _, m := range c.hub.Room(room).Clients() {
		names = append(names, m.User())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// announce sends a room's members to everyone in it.
func (c *chat) announce(room, user, action string) {
	pm, err := event.Prepare("presence", presence{Room: room, Members: c.members(room), User: user, Action: action})
	if err == nil {
		c.hub.Room(room).Broadcast(pm)
	}
}

// roomList returns the default rooms and the rooms in use, with their
// member counts.
func (c *chat) roomList() []roomInfo {
	names := append(slices.Clone(defaultRooms), c.hub.Namespace("").Rooms()...)
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > maxRoomsShown {
		names = names[:maxRoomsShown]
	}
	list := make([]roomInfo, 0, len(names))
	for _, n := range names {
		list = append(list, roomInfo{Name: n, Members: len(c.members(n))})
	}
	return list
}

// broadcastRooms sends the room list to everyone.
func (c *chat) broadcastRooms() {
	if pm, err := event.Prepare("rooms", c.roomList()); err == nil {
		c.hub.Broadcast(pm)
	}
}

func formatUint(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
