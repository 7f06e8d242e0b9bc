//go:build linux

package main

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/rfc6455/ws/internal/chromium"
)

// chatInstance is one run of the chat server on a given address.
type chatInstance struct {
	c      *chat
	served chan error
}

// startChat serves a new chat on addr; with a fixed port it retries while
// the port is still being released.
func startChat(t *testing.T, addr string) (*chatInstance, string) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 100 {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	in := &chatInstance{c: newChat(), served: make(chan error, 1)}
	go func() { in.served <- in.c.serve(ln) }()
	return in, ln.Addr().String()
}

// stop shuts the chat down gracefully (1001 to every page).
func (in *chatInstance) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.c.shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	<-in.served
}

// Two headless Chromium pages join the same room; one sends, the other
// shows it. The server restarts on the same port; both pages reconnect,
// re-join, and chat again. Then one switches rooms and the other sees it
// leave. The test reads the pages' DOM and state through the DevTools
// protocol, spoken by a client built on this module's own WebSocket client.
func TestBrowserChatAcrossServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	start := time.Now()
	srv, addr := startChat(t, "127.0.0.1:0")
	defer func() { srv.stop(t) }()

	devtools := chromium.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	browser, err := chromium.Dial(ctx, devtools)
	if err != nil {
		t.Fatalf("devtools: %v", err)
	}
	defer browser.Close()

	base := "http://" + addr + "/"
	alice, err := browser.OpenPage(ctx, "alice", base+"?name=alice#browsertest", "window.chat")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := browser.OpenPage(ctx, "bob", base+"?name=bob#browsertest", "window.chat")
	if err != nil {
		t.Fatal(err)
	}

	bothHere := `window.chat && chat.status === "open" && chat.room === "browsertest" &&
		JSON.stringify(chat.members) === '["alice","bob"]'`
	alice.WaitFor(t, "both in the room", bothHere)
	bob.WaitFor(t, "both in the room", bothHere)

	say(t, ctx, alice, "hello from alice")
	bob.WaitFor(t, "alice's message shown", shows("alice", "hello from alice"))
	alice.WaitFor(t, "own message confirmed", shows("alice", "hello from alice"))

	// Restart: 1001 to both pages, then a new server on the same port.
	srv.stop(t)
	alice.WaitFor(t, "sees the server gone", `chat.status === "reconnecting"`)
	srv, _ = startChat(t, addr)

	again := bothHere + ` && chat.connects >= 2`
	alice.WaitFor(t, "reconnected and re-joined", again)
	bob.WaitFor(t, "reconnected and re-joined", again)
	say(t, ctx, bob, "hi again from bob")
	alice.WaitFor(t, "bob's message after the restart", shows("bob", "hi again from bob"))

	// An invalid room: the server refuses it and keeps alice where she
	// is; the page follows the server's answer, shows the error, and goes
	// on showing her room's messages.
	js := `(() => { document.getElementById("new-room").value = "bad room!";
		document.getElementById("room-form").requestSubmit(); return true })()`
	if err := alice.Eval(ctx, js, nil); err != nil {
		t.Fatal(err)
	}
	alice.WaitFor(t, "the refusal shown", `chat.lastError.startsWith("invalid_payload") && chat.joining === ""`)
	var where struct {
		Room, Hash, Title string
		Members           []string
	}
	if err := alice.Eval(ctx, `({room: chat.room, hash: location.hash, members: chat.members,
		title: document.getElementById("room-title").textContent})`, &where); err != nil {
		t.Fatal(err)
	}
	if where.Room != "browsertest" || where.Hash != "#browsertest" || where.Title != "#browsertest" || len(where.Members) != 2 {
		t.Errorf("after the refused join alice's page shows %+v, want the room browsertest she is still in", where)
	}
	say(t, ctx, bob, "still there, alice?")
	alice.WaitFor(t, "bob's message after the refused join", shows("bob", "still there, alice?"))

	// Room switch: alice clicks another room; bob sees her leave.
	if err := alice.Eval(ctx, `document.querySelector('#rooms button[data-room="lobby"]').click()`, nil); err != nil {
		t.Fatal(err)
	}
	alice.WaitFor(t, "switched to lobby", `chat.room === "lobby" && chat.members.includes("alice") && location.hash === "#lobby"`)
	bob.WaitFor(t, "alice left the room", `JSON.stringify(chat.members) === '["bob"]'`)

	var rooms []struct {
		Name    string `json:"name"`
		Members int    `json:"members"`
	}
	if err := bob.Eval(ctx, `chat.rooms`, &rooms); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range rooms {
		counts[r.Name] = r.Members
	}
	if counts["lobby"] != 1 || counts["browsertest"] != 1 {
		t.Errorf("room list %v, want lobby and browsertest with one member each", rooms)
	}
	t.Logf("browser test ran in %v", time.Since(start).Round(time.Millisecond))
}

// say types text into the page's input and submits the form, as a user
// would.
func say(t *testing.T, ctx context.Context, p *chromium.Page, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	js := `(() => { const i = document.getElementById("text"); i.value = ` + string(q) + `;
		document.getElementById("send-form").requestSubmit(); return true })()`
	if err := p.Eval(ctx, js, nil); err != nil {
		t.Fatalf("%s: send: %v", p.Name(), err)
	}
}

// shows is an expression true when the page's message list shows text from
// a user.
func shows(from, text string) string {
	return `[...document.querySelectorAll("#messages li")].some(li =>
		li.querySelector(".from")?.textContent === ` + strconv.Quote(from) + ` &&
		li.querySelector(".text")?.textContent === ` + strconv.Quote(text) + `)`
}
