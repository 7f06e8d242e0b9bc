package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/event"
)

// peer is a Go client of the chat, speaking its events.
type peer struct {
	t    *testing.T
	conn *ws.Conn
}

func dialPeer(t *testing.T, addr, name string) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := client.Dial(ctx, "ws://"+addr+"/ws?name="+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	p := &peer{t, conn}
	p.expect("welcome")
	return p
}

func (p *peer) send(typ string, payload any) {
	p.t.Helper()
	b, err := event.Encode(typ, payload)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.conn.WriteMessage(context.Background(), ws.Text, b); err != nil {
		p.t.Fatal(err)
	}
}

// expect reads events until one of type typ whose payload has the given
// key, value pairs, skipping the others, and decodes its payload.
func (p *peer) expect(typ string, kv ...string) map[string]any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, msg, err := p.conn.ReadMessage(ctx, nil)
		if err != nil {
			p.t.Fatalf("waiting for %q: %v", typ, err)
		}
		e, err := event.Parse(msg)
		if err != nil {
			p.t.Fatalf("bad event %q: %v", msg, err)
		}
		if e.Type != typ {
			continue
		}
		var v map[string]any
		if len(e.Payload) > 0 && e.Payload[0] == '{' {
			json.Unmarshal(e.Payload, &v)
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			match = match && v[kv[i]] == kv[i+1]
		}
		if match {
			return v
		}
	}
}

func TestChatRoomsMessagesPresenceAndErrors(t *testing.T) {
	_, addr := startTestChat(t)
	ann := dialPeer(t, addr, "ann")
	bob := dialPeer(t, addr, "bob")

	ann.send("join", map[string]string{"room": "lobby"})
	if j := ann.expect("joined"); j["room"] != "lobby" {
		t.Fatalf("joined %v", j)
	}
	bob.send("join", map[string]string{"room": "lobby"})
	bob.expect("joined")
	if p := ann.expect("presence", "user", "bob"); p["action"] != "join" || len(p["members"].([]any)) != 2 {
		t.Fatalf("presence %v", p)
	}

	bob.send("message", map[string]string{"text": "  hi ann  "})
	for _, p := range []*peer{ann, bob} {
		if m := p.expect("message"); m["from"] != "bob" || m["text"] != "hi ann" || m["room"] != "lobby" {
			t.Fatalf("message %v", m)
		}
	}

	// A newcomer gets the history.
	cat := dialPeer(t, addr, "cat")
	cat.send("join", map[string]string{"room": "lobby"})
	if h := cat.expect("joined")["history"].([]any); len(h) != 1 || h[0].(map[string]any)["text"] != "hi ann" {
		t.Fatalf("history %v", h)
	}

	// Switching rooms is a leave for the old one.
	bob.send("join", map[string]string{"room": "go"})
	bob.expect("joined")
	if p := ann.expect("presence", "user", "bob", "action", "leave"); len(p["members"].([]any)) != 2 {
		t.Fatalf("presence %v", p)
	}

	for _, tc := range []struct {
		typ     string
		payload any
	}{
		{"join", map[string]string{"room": "no spaces"}},
		{"message", map[string]string{"text": "   "}},
		{"leave", map[string]string{"room": "lobby"}}, // bob is in go
		{"join", map[string]int{"room": 1}},
	} {
		bob.send(tc.typ, tc.payload)
		if e := bob.expect("error"); e["code"] != event.CodeInvalidPayload {
			t.Errorf("%s %v: error %v", tc.typ, tc.payload, e)
		}
	}

	bob.send("rooms", nil)
	conn := bob.conn
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, msg, err := conn.ReadMessage(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Type    string     `json:"type"`
			Payload []roomInfo `json:"payload"`
		}
		if json.Unmarshal(msg, &e) != nil || e.Type != "rooms" {
			continue
		}
		got := map[string]int{}
		for _, r := range e.Payload {
			got[r.Name] = r.Members
		}
		if got["lobby"] != 2 || got["go"] != 1 || got["random"] != 0 {
			t.Errorf("rooms %v", e.Payload)
		}
		break
	}

	// A client that goes away is a leave for its room.
	cat.conn.Close(ws.CloseNormal, "")
	if p := ann.expect("presence", "user", "cat", "action", "leave"); len(p["members"].([]any)) != 1 {
		t.Fatalf("presence %v", p)
	}
}

func startTestChat(t *testing.T) (*chatInstanceT, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no banner")
	}
	line := sc.Text()
	i := strings.Index(line, "http://")
	addr := strings.TrimSuffix(strings.Fields(line[i+len("http://"):])[0], "/")
	go io.Copy(io.Discard, pr)
	in := &chatInstanceT{cancel: cancel, done: done}
	t.Cleanup(func() { in.stop(t) })
	return in, addr
}

type chatInstanceT struct {
	cancel context.CancelFunc
	done   chan error
	err    error
	ended  bool
}

func (in *chatInstanceT) stop(t *testing.T) error {
	if !in.ended {
		in.cancel()
		in.err = <-in.done
		in.ended = true
	}
	return in.err
}

// The page and its script are served from the binary.
func TestServesPage(t *testing.T) {
	_, addr := startTestChat(t)
	for path, want := range map[string]string{"/": "<script src=\"chat.js\">", "/chat.js": "new WebSocket("} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
}

// Stopping the server (SIGINT/SIGTERM in main) closes every client with
// 1001 "server shutting down", and run returns nil.
func TestShutdownClosesWithGoingAway(t *testing.T) {
	in, addr := startTestChat(t)
	p := dialPeer(t, addr, "ann")
	ended := make(chan error, 1)
	go func() { // the client reads, so that it answers the close at once
		var err error
		for err == nil {
			_, _, err = p.conn.ReadMessage(context.Background(), nil)
		}
		ended <- err
	}()
	if err := in.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	err := <-ended
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway || ce.Reason != "server shutting down" {
		t.Fatalf("client saw %v, want 1001 server shutting down", err)
	}
}
