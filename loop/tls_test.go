package loop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// TestTLSIsServedByTheGoroutineDriver: with TLSConfig, Serve speaks TLS
// (wss://) on the listener it is given, and the connections go to the
// goroutine driver through the same Handler and Conn API (the package's
// TLS stance); a plain client on that port gets no WebSocket.
func TestTLSIsServedByTheGoroutineDriver(t *testing.T) {
	// httptest's certificate for 127.0.0.1, and a pool that trusts it.
	ts := httptest.NewTLSServer(nil)
	cert := ts.TLS.Certificates[0]
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	ts.Close()

	eventLoop := make(chan bool, 1)
	h := &openFunc{echoHandler: newEcho(), open: func(c *Conn) { eventLoop <- c.EventLoop() }}
	s := &Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	addr := start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "wss://"+addr+"/", &client.Options{TLSConfig: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if <-eventLoop {
		t.Error("a TLS connection was served by the event loop")
	}
	for _, size := range []int{0, 125, 70000} {
		msg := make([]byte, size)
		if err := c.WriteMessage(ctx, ws.Binary, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(ctx, nil); err != nil || len(got) != size {
			t.Fatalf("echo of %d bytes: %d bytes, %v", size, len(got), err)
		}
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		t.Errorf("Close: %v", err)
	}

	// A plain-text request on the TLS port is not upgraded.
	if _, _, err := client.Dial(ctx, "ws://"+addr+"/", nil); err == nil {
		t.Error("a plain ws:// client was upgraded on the TLS port")
	}
	// And the same handler without TLSConfig runs on the event loop.
	s2 := &Server{Handler: &openFunc{echoHandler: newEcho(), open: func(c *Conn) { eventLoop <- c.EventLoop() }}}
	addr2 := start(t, s2)
	c2, _, err := client.Dial(ctx, "ws://"+addr2+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if got := <-eventLoop; got != onEventLoop {
		t.Errorf("a plain connection: EventLoop() = %v, want %v on this platform", got, onEventLoop)
	}
}

// onEventLoop: plain connections are served by the event loop (Linux).
const onEventLoop = runtime.GOOS == "linux"

// openFunc is an echoHandler that also calls open from OnOpen.
type openFunc struct {
	*echoHandler
	open func(*Conn)
}

func (h *openFunc) OnOpen(c *Conn) {
	h.echoHandler.OnOpen(c)
	h.open(c)
}
