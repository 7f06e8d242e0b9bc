package hub_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// rawHandshake opens a TCP connection to the env's server, completes the
// opening handshake by hand, and returns the connection, which the caller
// then never reads: a peer that is connected but dead.
func rawHandshake(t *testing.T, e *env, query string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET /?" + query + " HTTP/1.1\r\nHost: " + e.ts.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %s", resp.Status)
	}
	return nc
}

func TestHeartbeatTerminatesADeadClientAndKeepsALiveOne(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{PingInterval: 20 * time.Millisecond, PongTimeout: time.Second}, server.Options{})
	live, liveClient := e.dial("user=live")
	read(live) // answers pings as part of reading

	rawHandshake(t, e, "user=dead")
	dead := e.nextClient()

	g := e.nextGone()
	if g.c != dead || !errors.Is(g.err, hub.ErrPongTimeout) {
		t.Fatalf("disconnect of %q with %v, want the dead client with ErrPongTimeout", g.c.User(), g.err)
	}
	if e.h.Client(dead.ID()) != nil || e.h.Client(liveClient.ID()) != liveClient {
		t.Fatal("after the heartbeat: the dead client is registered or the live one is not")
	}
	// The live client keeps answering: wait (bounded) for more pongs.
	pongs := e.h.Stats().Pongs
	deadline := time.Now().Add(testTimeout)
	for e.h.Stats().Pongs < pongs+3 {
		if time.Now().After(deadline) {
			t.Fatal("the live client stopped answering pings")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := e.h.Stats(); s.PongTimeouts != 1 || e.h.Len() != 1 {
		t.Fatalf("stats %+v, Len %d: want one pong timeout and the live client", s, e.h.Len())
	}
}

func TestHeartbeatFindsAClientThatStoppedReading(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{PingInterval: 20 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, server.Options{})
	// A WebSocket client that never reads never sees the pings.
	e.dial("user=deaf")
	if g := e.nextGone(); !errors.Is(g.err, hub.ErrPongTimeout) {
		t.Fatalf("disconnect with %v, want ErrPongTimeout", g.err)
	}
}

func TestHeartbeatCanBeDisabled(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{PingInterval: -1}, server.Options{})
	rawHandshake(t, e, "user=quiet")
	c := e.nextClient()
	// With no heartbeat nothing ends the silent client: a broadcast
	// still reaches its queue, and it stays registered.
	if n := e.h.Broadcast(text("x")); n != 1 || e.h.Client(c.ID()) != c {
		t.Fatal("client without heartbeat gone")
	}
}
