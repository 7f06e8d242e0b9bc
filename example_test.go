//go:build !js

package ws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
)

// A server and a client Conn over an in-memory pipe: the client sends a
// message, the server echoes it, and the client closes.
func Example() {
	a, b := net.Pipe()
	server := ws.NewConn(a, nil, ws.RoleServer, nil)
	client := ws.NewConn(b, nil, ws.RoleClient, nil)
	ctx := context.Background()

	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []byte
		for {
			typ, msg, err := server.ReadMessage(ctx, buf)
			var ce *ws.CloseError
			if errors.As(err, &ce) {
				fmt.Println("server: peer closed with", ce.Code, ce.Reason)
				return
			}
			if err != nil {
				return
			}
			server.WriteMessage(ctx, typ, msg)
			buf = msg
		}
	}()

	client.WriteMessage(ctx, ws.Text, []byte("hello"))
	_, msg, _ := client.ReadMessage(ctx, nil)
	fmt.Printf("client: got %q\n", msg)
	client.Close(ws.CloseNormal, "bye")
	<-done
	// Output:
	// client: got "hello"
	// server: peer closed with 1000 (normal closure) bye
}

// Serve dispatches a connection's events to callbacks.
func ExampleConn_Serve() {
	a, b := net.Pipe()
	server := ws.NewConn(a, nil, ws.RoleServer, nil)
	client := ws.NewConn(b, nil, ws.RoleClient, nil)
	ctx := context.Background()
	go func() {
		client.WriteMessage(ctx, ws.Text, []byte("first"))
		client.WriteMessage(ctx, ws.Binary, []byte{1, 2, 3})
		client.Close(ws.CloseGoingAway, "done")
	}()
	server.Serve(ctx, ws.Handler{
		OnMessage: func(typ ws.MessageType, data []byte) { fmt.Println(typ, len(data), "bytes") },
		OnClose:   func(code ws.CloseCode, reason string) { fmt.Println("closed:", code, reason) },
	})
	// Output:
	// text 5 bytes
	// binary 3 bytes
	// closed: 1001 (going away) done
}

// A message streamed in fragments with NextWriter and read back as a
// stream with NextReader.
func ExampleConn_NextWriter() {
	a, b := net.Pipe()
	server := ws.NewConn(a, nil, ws.RoleServer, &ws.Options{FragmentSize: 4})
	client := ws.NewConn(b, nil, ws.RoleClient, nil)
	ctx := context.Background()
	go func() {
		w, _ := server.NextWriter(ctx, ws.Text)
		fmt.Fprintf(w, "streamed in %d-byte fragments", 4)
		w.Close()
	}()
	_, r, _ := client.NextReader(ctx)
	var sb [64]byte
	n := 0
	for {
		k, err := r.Read(sb[n:])
		n += k
		if err != nil {
			break
		}
	}
	fmt.Println(string(sb[:n]))
	// Output:
	// streamed in 4-byte fragments
}

// KeepAlive finds a peer that stopped answering: here the other end reads
// the connection but never answers a ping, as a client behind a dropped
// network would.
func ExampleConn_KeepAlive() {
	a, b := net.Pipe()
	go io.Copy(io.Discard, b) // reads everything, answers nothing
	c := ws.NewConn(a, nil, ws.RoleServer, nil)
	ctx := context.Background()

	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, ws.Handler{}) }() // pongs are seen by the reader
	err := c.KeepAlive(ctx, 50*time.Millisecond, 100*time.Millisecond)
	fmt.Println("KeepAlive:", err)

	err = <-served
	code, _ := closecode.Of(err)
	fmt.Println("reader:", code, errors.Is(err, ws.ErrKeepAliveTimeout))
	// Output:
	// KeepAlive: ws: keepalive: the peer did not answer a ping in time
	// reader: 1006 (abnormal closure) true
}
