package loop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/handshake"
)

// TestUpgradeRefusal: an Upgrade hook that returns a *Refusal answers the
// handshake with that response, on both drivers; other errors keep
// package server's answers.
func TestUpgradeRefusal(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newEcho(), Goroutines: d.goroutines}
			s.Upgrade = func(c *Conn, r *handshake.RawRequest) error {
				switch r.URL.Path {
				case "/json":
					return &Refusal{
						Status: http.StatusBadRequest,
						Header: http.Header{"Content-Type": {"application/json"}, "X-Bad": {"a\r\nb"}, "X-Evil\r\nSet-Cookie": {"forged"}},
						Body:   []byte(`{"code":3,"message":"Bad request"}`),
					}
				case "/plain":
					return &handshake.Error{Status: http.StatusForbidden, Reason: "no"}
				}
				return nil
			}
			addr := start(t, s)
			for _, tc := range []struct {
				path   string
				status int
				ctype  string
				body   string
			}{
				{"/json", 400, "application/json", `{"code":3,"message":"Bad request"}`},
				{"/plain", 403, "text/plain; charset=utf-8", "websocket handshake: no\n"},
			} {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", tc.path)
				res, err := http.ReadResponse(bufio.NewReader(nc), nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				nc.Close()
				if res.StatusCode != tc.status || res.Header.Get("Content-Type") != tc.ctype || string(body) != tc.body {
					t.Errorf("%s: %d %q %q, want %d %q %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), body, tc.status, tc.ctype, tc.body)
				}
				if tc.path == "/json" && res.Header.Get("X-Bad") != "ab" {
					t.Errorf("X-Bad: %q, want the value without its line break", res.Header.Get("X-Bad"))
				}
				if v := res.Header.Get("Set-Cookie"); v != "" {
					t.Errorf("%s: a field name with a line break forged Set-Cookie: %q", tc.path, v)
				}
				if !res.Close {
					t.Errorf("%s: the response does not close the connection", tc.path)
				}
			}
		})
	}
}

// TestFallbackRequestWithBody: a request with a body (a POST, which
// handshake.ParseRequest refuses, as no body may precede a WebSocket's
// frames) goes to the Fallback handler whole, on both drivers; a WebSocket
// handshake with a body is still refused.
func TestFallbackRequestWithBody(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: newEcho(), Goroutines: d.goroutines, testReadSize: 16,
				Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
				})}
			addr := start(t, s)
			for _, tc := range []struct {
				req    string
				status int
				body   string
			}{
				{"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 200, "POST /p hello"},
				{"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "POST /c abc"},
				{"GET /w HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nContent-Length: 5\r\n" +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nhello", 400, ""},
			} {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(nc, tc.req)
				res, err := http.ReadResponse(bufio.NewReader(nc), nil)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				nc.Close()
				if res.StatusCode != tc.status || tc.body != "" && string(body) != tc.body {
					t.Errorf("%q: %d %q, want %d %q", tc.req, res.StatusCode, body, tc.status, tc.body)
				}
			}
		})
	}
}

// pauser echoes each message; on "pause" it pauses the reading first.
type pauser struct {
	*echoHandler
	conns chan *Conn
}

func (h *pauser) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	if string(data) == "pause" {
		c.PauseReading()
		h.conns <- c
	}
	c.Send(typ, data)
}

// TestPauseReading: after PauseReading the connection's next messages are
// not handed to OnMessage until ResumeReading, on both drivers; a paused
// connection that the server closes still completes its closing handshake.
func TestPauseReading(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			h := &pauser{echoHandler: newEcho(), conns: make(chan *Conn, 1)}
			s := &Server{Handler: h, Goroutines: d.goroutines}
			addr := start(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, "ws://"+addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			read := func() string {
				t.Helper()
				_, m, err := c.ReadMessage(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				return string(m)
			}
			c.WriteMessage(ctx, ws.Text, []byte("pause"))
			if m := read(); m != "pause" {
				t.Fatalf("echo %q", m)
			}
			sc := <-h.conns
			c.WriteMessage(ctx, ws.Text, []byte("after"))
			// Nothing comes while paused (a check that a slow machine
			// cannot make fail).
			got := make(chan string, 1)
			go func() {
				_, m, err := c.ReadMessage(ctx, nil)
				if err != nil {
					m = []byte(err.Error())
				}
				got <- string(m)
			}()
			select {
			case m := <-got:
				t.Fatalf("got %q while paused", m)
			case <-time.After(100 * time.Millisecond):
			}
			sc.ResumeReading()
			if m := <-got; m != "after" {
				t.Fatalf("after resuming: %q", m)
			}
			// Paused again, then closed by the server: the closing
			// handshake completes and OnClose comes.
			c.WriteMessage(ctx, ws.Text, []byte("pause"))
			if m := read(); m != "pause" {
				t.Fatalf("echo %q", m)
			}
			sc = <-h.conns
			sc.Close(ws.CloseNormal, "bye")
			var ce *ws.CloseError
			if _, _, err := c.ReadMessage(ctx, nil); !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
				t.Fatalf("read after the server's close: %v", err)
			}
			select {
			case <-h.done:
			case <-ctx.Done():
				t.Fatal("no OnClose")
			}
		})
	}
}

// batcher answers "batch" with three prepared messages in one
// SendPreparedBatch.
type batcher struct{ *echoHandler }

func (h batcher) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	var pms []*ws.PreparedMessage
	for _, s := range []string{"one", "two", strings.Repeat("3", 70_000)} {
		pm, _ := ws.NewPreparedMessage(ws.Text, []byte(s))
		pms = append(pms, pm)
	}
	if err := c.SendPreparedBatch(pms); err != nil {
		c.Close(ws.CloseInternalError, err.Error())
	}
}

// TestSendPreparedBatch: a batch arrives whole and in order, on both
// drivers, also when the socket does not take it at once (the large one).
func TestSendPreparedBatch(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			s := &Server{Handler: batcher{newEcho()}, Goroutines: d.goroutines}
			addr := start(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, "ws://"+addr+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for range 3 {
				c.WriteMessage(ctx, ws.Text, []byte("batch"))
			}
			for i := range 9 {
				_, m, err := c.ReadMessage(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"one", "two", strings.Repeat("3", 70_000)}[i%3]
				if string(m) != want {
					t.Fatalf("message %d: %d bytes %.10q, want %.10q", i, len(m), m, want)
				}
			}
		})
	}
}
