package loop_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/loop"
)

// echo sends every message back.
type echo struct{}

func (echo) OnOpen(*loop.Conn)                                    {}
func (echo) OnMessage(c *loop.Conn, typ ws.MessageType, b []byte) { c.Send(typ, b) }
func (echo) OnClose(*loop.Conn, error)                            {}

// An echo server on the event loop, and a client of it.
func Example() {
	s := &loop.Server{Handler: echo{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	c.WriteMessage(ctx, ws.Text, []byte("hello"))
	_, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msg))
	c.Close(ws.CloseNormal, "")
	// Output: hello
}

// chat sends each message to every connection. Send never blocks: a slow
// reader's queue fills up to its Policy, then (CloseSlow) it is closed,
// and the others go on.
type chat struct {
	mu    sync.Mutex
	conns map[*loop.Conn]bool
}

func (h *chat) OnOpen(c *loop.Conn) {
	h.mu.Lock()
	h.conns[c] = true
	h.mu.Unlock()
	c.Send(ws.Text, []byte("welcome"))
}

func (h *chat) OnMessage(_ *loop.Conn, typ ws.MessageType, b []byte) {
	// Encoded once for all; b is valid only during OnMessage, and the
	// prepared message keeps a copy.
	pm, err := ws.NewPreparedMessage(typ, b)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.SendPrepared(pm)
	}
}

func (h *chat) OnClose(c *loop.Conn, err error) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// A broadcast to every connection, with a bounded send queue per
// connection and a heartbeat.
func ExampleConn_SendPrepared() {
	s := &loop.Server{
		Handler: &chat{conns: map[*loop.Conn]bool{}},
		Policy: loop.Policy{
			QueueBytes:   1 << 20,
			Overflow:     loop.CloseSlow,
			PingInterval: 30 * time.Second,
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws://" + ln.Addr().String() + "/"
	alice, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer alice.CloseNow()
	bob, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer bob.CloseNow()
	for _, c := range []*ws.Conn{alice, bob} {
		c.ReadMessage(ctx, nil) // welcome: in the chat
	}
	alice.WriteMessage(ctx, ws.Text, []byte("hi all"))
	_, msg, err := bob.ReadMessage(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob got:", string(msg))
	// Output: bob got: hi all
}

// wss: with TLSConfig the server speaks TLS on its listener, and serves
// those connections with the goroutine driver (the event loop speaks plain
// TCP; for event-loop memory on wss, terminate TLS in front of it).
func ExampleServer_tls() {
	cert, err := tls.LoadX509KeyPair("cert.pem", "key.pem")
	if err != nil {
		log.Fatal(err)
	}
	s := &loop.Server{
		Handler:   echo{},
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	log.Fatal(s.ListenAndServe(":8443"))
}
