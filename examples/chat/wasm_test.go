//go:build linux

package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws/internal/chromium"
)

// The chat page's client written in Go, compiled to WebAssembly, and the
// JavaScript one chat with each other in headless Chromium: same room, both
// ways; across a server restart, with a message typed in the Go page while
// the server was down and sent once it is back; a join the server refuses,
// after which the Go page stays in its room; and a room switch clicked in the
// Go page.
func TestBrowserWasmChatWithTheJavaScriptPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the WebAssembly client and starts a browser")
	}
	start := time.Now()
	srv, addr := startChat(t, "127.0.0.1:0")
	defer func() { srv.stop(t) }()
	base := "http://" + addr + "/"

	// The server builds chat.wasm at the first request: do it here, so
	// that a build error shows as such.
	hc := &http.Client{Timeout: 5 * time.Minute}
	resp, err := hc.Get(base + "wasm/chat.wasm")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("GET /wasm/chat.wasm: %s %s: %.2000s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	t.Logf("chat.wasm: %d bytes, built in %v", len(body), time.Since(start).Round(time.Millisecond))

	devtools := chromium.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	browser, err := chromium.Dial(ctx, devtools)
	if err != nil {
		t.Fatalf("devtools: %v", err)
	}
	defer browser.Close()

	alice, err := browser.OpenPage(ctx, "alice (JavaScript)", base+"?name=alice#wasmtest", "window.chat")
	if err != nil {
		t.Fatal(err)
	}
	gopher, err := browser.OpenPage(ctx, "gopher (Go)", base+"wasm/?name=gopher#wasmtest", "window.chat")
	if err != nil {
		t.Fatal(err)
	}
	bothHere := `window.chat && chat.status === "open" && chat.room === "wasmtest" &&
		JSON.stringify(chat.members) === '["alice","gopher"]'`
	alice.WaitFor(t, "both in the room", bothHere)
	gopher.WaitFor(t, "both in the room, in Go", bothHere+` && chat.impl === "go-wasm"`)

	say(t, ctx, gopher, "hello from Go")
	alice.WaitFor(t, "the Go page's message shown", shows("gopher", "hello from Go"))
	gopher.WaitFor(t, "own message confirmed", shows("gopher", "hello from Go"))
	say(t, ctx, alice, "hello from JavaScript")
	gopher.WaitFor(t, "the JavaScript page's message shown", shows("alice", "hello from JavaScript"))

	// Restart: the Go page sees the server go, takes a message while it is
	// down, and sends it after reconnecting and re-joining.
	srv.stop(t)
	gopher.WaitFor(t, "sees the server gone", `chat.status === "reconnecting"`)
	say(t, ctx, gopher, "typed while the server was down")
	srv, _ = startChat(t, addr)
	again := bothHere + ` && chat.connects >= 2`
	alice.WaitFor(t, "reconnected and re-joined", again)
	gopher.WaitFor(t, "reconnected and re-joined", again)
	alice.WaitFor(t, "the message typed while down", shows("gopher", "typed while the server was down"))

	// An invalid room: the server refuses it, and the Go page stays in its
	// room, as the JavaScript page does.
	js := `(() => { document.getElementById("new-room").value = "bad room!";
		document.getElementById("room-form").requestSubmit(); return true })()`
	if err := gopher.Eval(ctx, js, nil); err != nil {
		t.Fatal(err)
	}
	gopher.WaitFor(t, "the refusal shown", `chat.lastError.startsWith("invalid_payload") && chat.joining === "" && chat.room === "wasmtest"`)
	say(t, ctx, alice, "still there?")
	gopher.WaitFor(t, "a message after the refused join", shows("alice", "still there?"))

	// Room switch, clicked in the Go page.
	if err := gopher.Eval(ctx, `document.querySelector('#rooms button[data-room="lobby"]').click()`, nil); err != nil {
		t.Fatal(err)
	}
	gopher.WaitFor(t, "switched to lobby", `chat.room === "lobby" && chat.members.includes("gopher") && location.hash === "#lobby"`)
	alice.WaitFor(t, "the Go page left the room", `JSON.stringify(chat.members) === '["alice"]'`)
	var title string
	if err := gopher.Eval(ctx, `document.getElementById("room-title").textContent`, &title); err != nil || !strings.HasPrefix(title, "#lobby") {
		t.Errorf("room title %q, %v", title, err)
	}
	t.Logf("wasm chat test ran in %v", time.Since(start).Round(time.Millisecond))
}
