//go:build js && wasm

// Command wasm is the chat page's client written in Go and compiled to
// WebAssembly: the same page and the same events as static/chat.js, with
// client.Dial (the browser's WebSocket underneath), package reconnect for
// the reconnection with backoff and jitter, and package event for the
// envelopes. The chat server builds it and serves it at /wasm/ (see
// ../wasmpage.go and the chat's README).
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/reconnect"
)

// message is one line of the message list; system lines have no ID.
type message struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
}

type room struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// page is the page's state. It is mirrored to window.chat, which has the
// same fields as the JavaScript page's, for the browser test.
type page struct {
	mu        sync.Mutex
	status    string // connecting, open, reconnecting
	name      string
	room      string // the room the server has us in ("" before the first "joined")
	joining   string // the room asked for, until the server answers
	joinID    string // the id of that join request
	wanted    string // the room in the URL's fragment
	connects  int
	members   []string
	rooms     []room
	messages  []message
	seen      map[string]bool
	lastError string
	outbox    []string // messages typed while disconnected, sent after re-joining
	lastID    int
	client    *reconnect.Client
}

var (
	doc     = js.Global().Get("document")
	storage = js.Global().Get("localStorage")
)

func byID(id string) js.Value { return doc.Call("getElementById", id) }

func main() {
	loc := js.Global().Get("location")
	params, _ := url.ParseQuery(strings.TrimPrefix(loc.Get("search").String(), "?"))
	name := params.Get("name")
	if name == "" {
		if v := storage.Call("getItem", "chat-name"); v.Truthy() {
			name = v.String()
		}
	}
	hash := strings.TrimPrefix(loc.Get("hash").String(), "#")
	wanted, _ := url.PathUnescape(hash)
	if wanted == "" {
		wanted = "lobby"
	}
	scheme := "ws://"
	if loc.Get("protocol").String() == "https:" {
		scheme = "wss://"
	}
	wsURL := scheme + loc.Get("host").String() + "/ws"
	if name != "" {
		wsURL += "?name=" + url.QueryEscape(name)
	}

	p := &page{status: "connecting", name: name, wanted: wanted, seen: map[string]bool{}}
	p.client = reconnect.New(wsURL, &reconnect.Options{
		// The same schedule as the JavaScript page's.
		Backoff: reconnect.Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.5},
		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
			p.mu.Lock()
			p.connects++
			p.status = "open"
			room := cmp.Or(p.room, p.joining, p.wanted)
			b, err := p.joinEvent(room)
			p.mu.Unlock()
			p.render("")
			if err != nil {
				return err
			}
			// Re-join after every connection; what was typed while
			// disconnected is sent once the server answers "joined".
			return conn.WriteMessage(ctx, ws.Text, b)
		},
		OnMessage: func(typ ws.MessageType, data []byte) {
			var e struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			if typ == ws.Text && json.Unmarshal(data, &e) == nil {
				p.handle(e.Type, e.Payload)
			}
		},
		OnStateChange: func(t reconnect.Transition) {
			switch t.To {
			case reconnect.StateWaiting:
				p.mu.Lock()
				p.status = "reconnecting"
				p.mu.Unlock()
				p.render(fmt.Sprintf("disconnected (%v); retrying in %.1f s", t.Err, t.Delay.Seconds()))
			case reconnect.StateConnecting:
				p.mu.Lock()
				if p.connects > 0 || t.Attempt > 1 {
					p.status = "reconnecting"
				}
				p.mu.Unlock()
				p.render("")
			}
		},
	})
	p.wireForms()
	p.render("")
	p.client.Run(context.Background()) // until the page goes away
}

// encode returns the wire form of an event with a new id, which the server
// echoes in the error event a failed request causes; mu must be held.
func (p *page) encode(typ string, payload any) (id string, b []byte, err error) {
	e, err := event.New(typ, payload)
	if err != nil {
		return "", nil, err
	}
	p.lastID++
	e.ID = strconv.Itoa(p.lastID)
	b, err = e.MarshalJSON()
	return e.ID, b, err
}

// joinEvent asks for a room: the page moves when the server answers; mu
// must be held.
func (p *page) joinEvent(room string) ([]byte, error) {
	id, b, err := p.encode("join", map[string]string{"room": room})
	if err == nil {
		p.joining, p.joinID = room, id
	}
	return b, err
}

// open reports whether the connection is open.
func (p *page) open() bool { return p.client.State() == reconnect.StateOpen }

// join sends a join request on the open connection; mu must be held.
func (p *page) join(room string) {
	if b, err := p.joinEvent(room); err == nil {
		p.client.Send(ws.Text, b)
	}
}

// say sends a chat message, or keeps it for after the next "joined" while
// disconnected; mu must be held.
func (p *page) say(text string) {
	if !p.open() {
		if len(p.outbox) < 100 {
			p.outbox = append(p.outbox, text)
		}
		return
	}
	if _, b, err := p.encode("message", map[string]string{"text": text}); err == nil {
		p.client.Send(ws.Text, b)
	}
}

// handle applies an event from the server.
func (p *page) handle(typ string, raw json.RawMessage) {
	p.mu.Lock()
	switch typ {
	case "welcome":
		var w struct {
			Name  string `json:"name"`
			Rooms []room `json:"rooms"`
		}
		json.Unmarshal(raw, &w)
		p.name = w.Name
		storage.Call("setItem", "chat-name", w.Name)
		p.rooms = w.Rooms
	case "joined":
		var j struct {
			Room    string    `json:"room"`
			Members []string  `json:"members"`
			History []message `json:"history"`
		}
		json.Unmarshal(raw, &j)
		if j.Room != p.room {
			p.messages, p.seen = nil, map[string]bool{}
		}
		p.room = j.Room
		if p.joining == j.Room {
			p.joining, p.joinID = "", ""
		}
		js.Global().Get("history").Call("replaceState", js.Null(), "", "#"+url.PathEscape(j.Room))
		for _, m := range j.History {
			p.add(m)
		}
		p.members = j.Members
		for len(p.outbox) > 0 && p.open() {
			text := p.outbox[0]
			p.outbox = p.outbox[1:]
			p.say(text)
		}
	case "message":
		var m struct {
			message
			Room string `json:"room"`
		}
		json.Unmarshal(raw, &m)
		if m.Room == p.room {
			p.add(m.message)
		}
	case "presence":
		var pr struct {
			Room    string   `json:"room"`
			Members []string `json:"members"`
			User    string   `json:"user"`
			Action  string   `json:"action"`
		}
		json.Unmarshal(raw, &pr)
		if pr.Room == p.room {
			p.members = pr.Members
			if pr.User != p.name {
				verb := "left"
				if pr.Action == "join" {
					verb = "joined"
				}
				p.messages = append(p.messages, message{Text: pr.User + " " + verb})
			}
		}
	case "rooms":
		json.Unmarshal(raw, &p.rooms)
	case "error":
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			ID      string `json:"id"`
		}
		json.Unmarshal(raw, &e)
		p.lastError = e.Code + ": " + e.Message
		if e.ID != "" && e.ID == p.joinID {
			// The join was refused: stay in the room the server has
			// us in.
			p.messages = append(p.messages, message{Text: "cannot join " + p.joining + ": " + e.Message})
			p.joining, p.joinID = "", ""
			if p.room == "" && p.open() {
				p.join("lobby")
			}
		} else {
			p.messages = append(p.messages, message{Text: "error: " + e.Message})
		}
	}
	p.mu.Unlock()
	p.render("")
}

// add appends a chat message once; mu must be held.
func (p *page) add(m message) {
	if p.seen[m.ID] {
		return
	}
	p.seen[m.ID] = true
	p.messages = append(p.messages, m)
}

// switchRoom asks to move to another room. The page stays in its room,
// showing its messages, until the server answers "joined" (then it moves)
// or refuses with an error event for the request (then it stays).
func (p *page) switchRoom(room string) {
	p.mu.Lock()
	if room == p.room || room == p.joining {
		p.mu.Unlock()
		return
	}
	if p.open() {
		p.join(room)
	} else {
		p.joining = room // asked for once the page is connected again
	}
	p.mu.Unlock()
	p.render("")
}

// wireForms handles the two forms of the page.
func (p *page) wireForms() {
	onSubmit := func(id string, fn func()) {
		byID(id).Set("onsubmit", js.FuncOf(func(_ js.Value, args []js.Value) any {
			args[0].Call("preventDefault")
			// The event loop waits for a callback: work elsewhere.
			go fn()
			return nil
		}))
	}
	onSubmit("send-form", func() {
		in := byID("text")
		text := strings.TrimSpace(in.Get("value").String())
		in.Set("value", "")
		if text != "" {
			p.mu.Lock()
			p.say(text)
			p.mu.Unlock()
		}
	})
	onSubmit("room-form", func() {
		in := byID("new-room")
		room := strings.TrimSpace(in.Get("value").String())
		in.Set("value", "")
		if room != "" {
			p.switchRoom(room)
		}
	})
}

// render shows the state in the page and mirrors it to window.chat. detail,
// if not empty, is shown in place of the status.
func (p *page) render(detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	status := byID("status")
	status.Set("className", p.status)
	if detail == "" {
		detail = p.status
	}
	status.Set("textContent", detail)
	byID("me").Set("textContent", p.name)
	title := "#" + p.room
	if p.room == "" {
		title = "joining #" + p.joining + "…"
	}
	byID("room-title").Set("textContent", title)

	list := byID("messages")
	var items []any
	for _, m := range p.messages {
		li := doc.Call("createElement", "li")
		if m.ID == "" {
			li.Set("className", "system")
		}
		if m.From != "" {
			li.Call("append", span("from", m.From))
		}
		li.Call("append", span("text", m.Text))
		items = append(items, li)
	}
	list.Call("replaceChildren", items...)
	list.Set("scrollTop", list.Get("scrollHeight"))

	var members []any
	for _, n := range p.members {
		li := doc.Call("createElement", "li")
		li.Set("textContent", n)
		members = append(members, li)
	}
	byID("members").Call("replaceChildren", members...)

	var buttons []any
	for _, r := range p.rooms {
		b := doc.Call("createElement", "button")
		b.Set("textContent", fmt.Sprintf("%s (%d)", r.Name, r.Members))
		b.Get("dataset").Set("room", r.Name)
		if r.Name == p.room {
			b.Set("className", "current")
		}
		name := r.Name
		// One js.Func per button and render, released with the button
		// at the next render.
		var click js.Func
		click = js.FuncOf(func(js.Value, []js.Value) any {
			go p.switchRoom(name)
			return nil
		})
		b.Set("onclick", click)
		buttons = append(buttons, b)
		roomClicks = append(roomClicks, click)
	}
	for _, f := range oldClicks {
		f.Release()
	}
	oldClicks, roomClicks = roomClicks, nil
	byID("rooms").Call("replaceChildren", buttons...)

	js.Global().Set("chat", p.mirror())
}

// The room buttons' click handlers: those of the last render, and those
// being made.
var oldClicks, roomClicks []js.Func

// mirror returns the state as a JavaScript object shaped like the
// JavaScript page's window.chat; mu must be held.
func (p *page) mirror() js.Value {
	members := make([]any, len(p.members))
	for i, m := range p.members {
		members[i] = m
	}
	rooms := make([]any, len(p.rooms))
	for i, r := range p.rooms {
		rooms[i] = map[string]any{"name": r.Name, "members": r.Members}
	}
	msgs := make([]any, len(p.messages))
	for i, m := range p.messages {
		msgs[i] = map[string]any{"id": m.ID, "from": m.From, "text": m.Text}
	}
	return js.ValueOf(map[string]any{
		"impl": "go-wasm", "status": p.status, "name": p.name, "room": p.room,
		"joining": p.joining, "joinID": p.joinID,
		"connects": p.connects, "members": members, "rooms": rooms,
		"messages": msgs, "lastError": p.lastError,
	})
}

func span(class, text string) js.Value {
	s := doc.Call("createElement", "span")
	s.Set("className", class)
	s.Set("textContent", text)
	return s
}
