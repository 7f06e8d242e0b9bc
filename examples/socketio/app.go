package main

import (
	"context"
	"embed"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

//go:embed static
var static embed.FS

// clientVersion is the socket.io-client release fetched from the CDN when
// no local copy is found (the tests use interop/package-lock.json's, of
// the same 4.8 line).
const clientVersion = "4.8.1"

// Message is what the seed's client sends: socket.emit('message', { text: 'Hello!' }).
type Message struct {
	Text string `json:"text"`
}

// Said is a chat message as the room's members get it.
type Said struct {
	From string `json:"from"`
	Text string `json:"text"`
	At   int64  `json:"at"` // milliseconds since the Unix epoch
}

// Joined answers a "join": the room and who is in it.
type Joined struct {
	Room    string   `json:"room"`
	Members []string `json:"members"`
}

// app is the Socket.IO server and the page.
type app struct {
	io       *socketio.Server
	log      *log.Logger
	clientJS string // path of socket.io.min.js, or "" for the CDN
}

func newApp(clientJS string, logger *log.Logger) *app {
	a := &app{log: logger, clientJS: findClient(clientJS)}
	a.io = socketio.NewServer(&socketio.Options{
		// CORS for any origin: the seed's client may run on any page.
		EngineIO: engineio.Options{CORS: &engineio.CORS{AllowOrigins: []string{"*"}}},
	})
	a.seed()
	a.chat()
	return a
}

// seed is the seed's Socket.IO server section, in Go.
func (a *app) seed() {
	io := a.io
	io.OnConnection(func(s *socketio.Socket) {
		a.log.Println("Client connected:", s.ID())

		// Rooms: this socket joins room1, and room1 hears of it.
		s.Join("room1")
		io.To("room1").Emit("message", "Hello room")

		socketio.On(s, "message", func(ctx context.Context, s *socketio.Socket, data Message) error {
			a.log.Printf("Message: %+v", data)
			s.Emit("message", "Message received")      // to the sender
			io.Emit("message", data)                   // to all
			return s.Broadcast().Emit("message", data) // to the others
		})
		s.OnDisconnect(func(reason error) {
			a.log.Println("Client disconnected:", s.ID(), reason)
		})
	})
}

// chat is the /chat namespace: named members, rooms, acknowledged messages.
func (a *app) chat() {
	chat := a.io.Of("/chat")
	chat.Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct {
			Name string `json:"name"`
		}
		s.Auth(&auth)
		name := strings.TrimSpace(auth.Name)
		if name == "" || utf8.RuneCountInString(name) > 32 {
			return &socketio.Error{Message: "a name is required", Data: map[string]int{"maxLength": 32}}
		}
		s.SetData(name)
		return nil
	})
	chat.OnConnection(func(s *socketio.Socket) {
		a.log.Println("Chat client connected:", name(s))
	})
	socketio.OnAck(chat, "join", func(ctx context.Context, s *socketio.Socket, room string) (Joined, error) {
		room = strings.TrimSpace(room)
		if room == "" || utf8.RuneCountInString(room) > 32 {
			return Joined{}, &socketio.Error{Code: "bad_room", Message: "a room name has 1 to 32 characters"}
		}
		if old := currentRoom(s); old != "" && old != room {
			s.Leave(old)
			chat.To(old).Emit("left", name(s))
		}
		s.Join(room)
		s.To(room).Emit("joined", name(s))
		return Joined{Room: room, Members: members(chat, room)}, nil
	})
	socketio.OnAck(chat, "say", func(ctx context.Context, s *socketio.Socket, text string) (int64, error) {
		room := currentRoom(s)
		if room == "" {
			return 0, &socketio.Error{Code: "no_room", Message: "join a room first"}
		}
		if text = strings.TrimSpace(text); text == "" || len(text) > 1000 {
			return 0, &socketio.Error{Code: "bad_text", Message: "a message has 1 to 1000 bytes"}
		}
		m := Said{From: name(s), Text: text, At: time.Now().UnixMilli()}
		return m.At, chat.To(room).Emit("said", m)
	})
	socketio.OnAck(chat, "rooms", func(ctx context.Context, s *socketio.Socket, _ struct{}) ([]string, error) {
		return chat.Rooms(), nil
	})
	chat.OnDisconnect(func(s *socketio.Socket, reason error) {
		if room := currentRoom(s); room != "" {
			chat.To(room).Emit("left", name(s))
		}
	})
}

// name returns a chat member's name.
func name(s *socketio.Socket) string {
	n, _ := s.Data().(string)
	return n
}

// currentRoom returns the chat room a socket is in, or "".
func currentRoom(s *socketio.Socket) string {
	for _, r := range s.Rooms() {
		if r != s.ID() {
			return r
		}
	}
	return ""
}

// members returns the names of a room's members, sorted.
func members(chat *socketio.Namespace, room string) []string {
	var names []string
	for _, s := range chat.In(room).FetchSockets() {
		names = append(names, name(s))
	}
	slices.Sort(names)
	return names
}

// handler serves Socket.IO, the page and the client bundle.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", a.io)
	page, _ := fs.Sub(static, "static")
	mux.Handle("/", http.FileServerFS(page))
	mux.HandleFunc("/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		if a.clientJS == "" {
			http.Redirect(w, r, "https://cdn.socket.io/"+clientVersion+"/socket.io.min.js", http.StatusFound)
			return
		}
		http.ServeFile(w, r, a.clientJS)
	})
	return mux
}

// findClient returns the bundle to serve: the one given, else the one in
// interop/node_modules (looked for from the working directory up), else "".
func findClient(given string) string {
	if given != "" {
		return given
	}
	dir, err := os.Getwd()
	for err == nil {
		p := filepath.Join(dir, "interop", "node_modules", "socket.io-client", "dist", "socket.io.min.js")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}
