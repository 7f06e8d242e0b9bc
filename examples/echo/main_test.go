package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

func TestDemoTalksToTheServerAndExitsCleanly(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-addr", "127.0.0.1:0"}, &out, nil); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`client -> server: "hello"` + "\n" + `server -> client: "hello"`,
		"client -> server: binary 00 01 02 ff\nserver -> client: binary 00 01 02 ff",
		"client -> server: ping\nserver -> client: pong",
		`client -> server: close 1000 "done"` + "\nserver -> client: close 1000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
}

func TestServeShutsDownWithGoingAway(t *testing.T) {
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-serve", "-addr", "127.0.0.1:0"}, pw, stop)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	lines.Scan()
	url, ok := strings.CutPrefix(lines.Text(), "echo server listening on ")
	if !ok {
		t.Fatalf("first line %q", lines.Text())
	}
	lines.Scan() // the hint

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*ws.Conn
	for range 2 {
		c, _, err := client.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.WriteMessage(ctx, ws.Text, []byte("ping?")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.ReadMessage(ctx, nil); err != nil || string(msg) != "ping?" {
			t.Fatalf("echo = %q, %v", msg, err)
		}
		conns = append(conns, c)
	}
	reads := make(chan error, len(conns))
	for _, c := range conns {
		go func() {
			_, _, err := c.ReadMessage(context.Background(), nil)
			reads <- err
		}()
	}
	close(stop)
	go io.Copy(io.Discard, pr) // the shutdown line
	for range conns {
		var ce *ws.CloseError
		if err := <-reads; !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway || ce.Reason != "server shutting down" {
			t.Fatalf("client read %v, want close 1001 \"server shutting down\"", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestBadFlagsAndAddress(t *testing.T) {
	if err := run([]string{"-nope"}, io.Discard, nil); err == nil {
		t.Error("unknown flag accepted")
	}
	if err := run([]string{"-addr", "256.0.0.1:bad"}, io.Discard, nil); err == nil {
		t.Error("bad address accepted")
	}
}
