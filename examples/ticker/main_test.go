package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/wsjson"
)

// The server pushes quotes to a subscriber and shuts down with 1001.
func TestServerPushesQuotesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-interval", "1ms"}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no banner")
	}
	line := sc.Text()
	url := line[strings.Index(line, "ws://"):]
	go io.Copy(io.Discard, pr)

	c, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	sub, _ := event.Encode("subscribe", map[string][]string{"symbols": {"RFC"}})
	if err := c.WriteMessage(ctx, ws.Text, sub); err != nil {
		t.Fatal(err)
	}
	var e event.Event
	for _, want := range []string{"snapshot", "price", "price"} {
		if err := wsjson.Read(ctx, c, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type != want {
			t.Fatalf("got %s %s, want %s", e.Type, e.Payload, want)
		}
		if !strings.Contains(string(e.Payload), `"RFC"`) {
			t.Fatalf("%s payload %s is not about RFC", e.Type, e.Payload)
		}
	}
	go func() { // read on, so that the close is answered
		for wsjson.Read(context.Background(), c, &e) == nil {
		}
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
