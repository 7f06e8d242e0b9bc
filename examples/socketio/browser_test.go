//go:build linux

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rfc6455/ws/internal/chromium"
)

// Two headless Chromium pages use the example as a person would: the seed's
// "message" on the main namespace, then the /chat namespace: a refused
// connection without a name, names, a room with both members, a message
// acknowledged to its sender and shown to the other, a room switch seen by
// the one left behind. The page loads the real socket.io-client bundle.
func TestBrowserPages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(filepath.Join(nodeModules, "socket.io-client", "dist", "socket.io.min.js")); err != nil {
		missingPeer(t, "socket.io-client", err)
	}
	url := startExample(t)
	devtools := chromium.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	browser, err := chromium.Dial(ctx, devtools)
	if err != nil {
		t.Fatalf("devtools: %v", err)
	}
	defer browser.Close()
	alice, err := browser.OpenPage(ctx, "alice", url+"/", "window.app")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := browser.OpenPage(ctx, "bob", url+"/", "window.app")
	if err != nil {
		t.Fatal(err)
	}
	alice.WaitFor(t, "the main namespace connected", `window.app && app.main.connected`)
	bob.WaitFor(t, "the main namespace connected", `window.app && app.main.connected`)

	// The seed's message: the sender is answered, everyone gets it.
	submit(t, ctx, alice, "main-text", "main-form", "hello everyone")
	alice.WaitFor(t, "the answer to the sender", `app.main.messages.includes("Message received") && app.main.messages.includes("hello everyone")`)
	bob.WaitFor(t, "the message, twice (io.emit and socket.broadcast.emit)", `app.main.messages.filter((m) => m === "hello everyone").length === 2`)

	// The chat refuses a connection without a name.
	submit(t, ctx, alice, "name", "name-form", "")
	alice.WaitFor(t, "connect_error", `app.chat.error === "a name is required"`)
	submit(t, ctx, alice, "name", "name-form", "alice")
	submit(t, ctx, bob, "name", "name-form", "bob")
	both := `app.chat.connected && app.chat.room === "lobby" && JSON.stringify(app.chat.members) === '["alice","bob"]'`
	alice.WaitFor(t, "both in the lobby", both)
	bob.WaitFor(t, "both in the lobby", both)

	submit(t, ctx, alice, "say-text", "say-form", "hi bob")
	alice.WaitFor(t, "her message acknowledged", `app.chat.acked === 1 && app.chat.messages.includes("alice: hi bob")`)
	bob.WaitFor(t, "alice's message", `app.chat.messages.includes("alice: hi bob")`)

	if err := bob.Eval(ctx, `document.querySelector('#rooms button[data-room="go"]').click()`, nil); err != nil {
		t.Fatal(err)
	}
	bob.WaitFor(t, "in room go", `app.chat.room === "go" && JSON.stringify(app.chat.members) === '["bob"]'`)
	alice.WaitFor(t, "bob left the lobby", `JSON.stringify(app.chat.members) === '["alice"]'`)
}

// submit types text into the input and submits the form, as a user would.
func submit(t *testing.T, ctx context.Context, p *chromium.Page, input, form, text string) {
	t.Helper()
	q, _ := json.Marshal(text)
	js := `(() => { document.getElementById("` + input + `").value = ` + string(q) + `;
		document.getElementById("` + form + `").requestSubmit(); return true })()`
	if err := p.Eval(ctx, js, nil); err != nil {
		t.Fatalf("submit %s: %v", form, err)
	}
}
