//go:build js && wasm

// Command wasmclient is the browser side of interop's TestWasmClient: a Go
// program compiled to WebAssembly that runs in a page and uses client.Dial
// and ws.Conn, which are backed there by the browser's WebSocket. It talks
// to the test's server (this module's), checks what it sees, and posts each
// check to /check and a summary to /done, where the test reads them.
//
// The page passes the secure server's host in its query (?wss=host:port).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall/js"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
)

// check is one observation, as the test receives it.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

var (
	origin  string // http://host:port of the page
	wsBase  string // ws://host:port
	wssBase string // wss://host:port
	failed  int
	checks  int
)

func main() {
	loc := js.Global().Get("location")
	origin = loc.Get("origin").String()
	wsBase = "ws://" + loc.Get("host").String()
	q, _ := url.ParseQuery(strings.TrimPrefix(loc.Get("search").String(), "?"))
	wssBase = "wss://" + q.Get("wss")

	func() {
		defer func() {
			if r := recover(); r != nil {
				report("panic", false, fmt.Sprint(r))
			}
		}()
		run()
	}()
	post("/done", map[string]any{
		"checks": checks, "failed": failed,
		"userAgent": js.Global().Get("navigator").Get("userAgent").String(),
	})
}

// report records a check and posts it at once, so that the test sees how
// far the program got even if it hangs later.
func report(name string, ok bool, detail string, args ...any) {
	checks++
	if !ok {
		failed++
	}
	if len(args) > 0 {
		detail = fmt.Sprintf(detail, args...)
	}
	post("/check", check{name, ok, detail})
}

func post(path string, v any) {
	b, _ := json.Marshal(v)
	resp, err := http.Post(origin+path, "application/json", bytes.NewReader(b))
	if err != nil {
		js.Global().Get("console").Call("error", "post "+path+": "+err.Error())
		return
	}
	resp.Body.Close()
}

// expect reports a check that err is nil.
func expect(name string, err error) bool {
	report(name, err == nil, "%v", err)
	return err == nil
}

// payload returns n pseudo-random bytes, the same for the same seed.
func payload(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// text returns n bytes of valid UTF-8 text, with one-, two-, three- and
// four-byte code points.
func text(n int) string {
	const unit = "WebSocket é ✓ 🌍 " // 1+…: 24 bytes
	var sb strings.Builder
	for sb.Len()+len(unit) <= n {
		sb.WriteString(unit)
	}
	for sb.Len() < n {
		sb.WriteByte('.')
	}
	return sb.String()
}

func dial(ctx context.Context, url string, opts *client.Options) (*ws.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return client.Dial(ctx, url, opts)
}

func run() {
	ctx := context.Background()
	echo(ctx, wsBase+"/plain", false)
	echo(ctx, wsBase+"/echo", true)
	echoSecure(ctx)
	contexts(ctx)
	unsupported(ctx)
	serverClose(ctx)
	clientClose(ctx)
	readLimit(ctx)
	refused(ctx)
	netConn(ctx)
}

// echo exchanges text and binary messages with the echo server at url, and
// checks the subprotocol and the compression the browser negotiated.
// Without compression the messages go up to 16 MiB, and the buffered amount
// is checked; with it, up to 1 MiB (the server compresses every echo, and
// under the race detector 16 MiB of random bytes would take long).
func echo(ctx context.Context, url string, compressed bool) {
	name := "echo"
	if compressed {
		name = "echo+deflate"
	}
	c, resp, err := dial(ctx, url, &client.Options{Subprotocols: []string{"v2.echo", "v1.echo"}})
	if !expect(name+": dial", err) {
		return
	}
	defer c.CloseNow()
	report(name+": subprotocol", c.Subprotocol() == "v1.echo" && resp.Header.Get("Sec-WebSocket-Protocol") == "v1.echo",
		"Subprotocol %q, response header %q; want v1.echo", c.Subprotocol(), resp.Header.Get("Sec-WebSocket-Protocol"))
	report(name+": response", resp.StatusCode == 101, "status %d", resp.StatusCode)
	params, ok := c.Compression()
	report(name+": permessage-deflate as negotiated", ok == compressed && strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") == compressed,
		"Compression() = %v, %v; extensions %q", params, ok, resp.Header.Get("Sec-WebSocket-Extensions"))
	report(name+": state open", c.State() == ws.StateOpen, "state %v", c.State())
	report(name+": addresses", c.RemoteAddr().String() == url && c.LocalAddr().String() == origin && c.RemoteAddr().Network() == "websocket",
		"local %v, remote %v", c.LocalAddr(), c.RemoteAddr())

	roundTrip := func(name string, typ ws.MessageType, msg []byte) {
		t0 := time.Now()
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			report(name, false, "write: %v", err)
			return
		}
		t1 := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		gotTyp, got, err := c.ReadMessage(rctx, nil)
		t2 := time.Now()
		switch {
		case err != nil:
			report(name, false, "read: %v", err)
		case gotTyp != typ || !bytes.Equal(got, msg):
			report(name, false, "got %v of %d bytes, want %v of %d", gotTyp, len(got), typ, len(msg))
		default:
			report(name, true, "write %v, read %v, compare %v", t1.Sub(t0), t2.Sub(t1), time.Since(t2))
		}
	}
	texts := []string{"hello", "héllo wörld ✓ 🌍", "", text(125), text(126), text(65536), text(1 << 20)}
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20}
	if !compressed {
		texts = append(texts, text(16<<20))
		sizes = append(sizes, 16<<20)
	}
	for _, s := range texts {
		roundTrip(fmt.Sprintf("%s: text of %d bytes", name, len(s)), ws.Text, []byte(s))
	}
	for i, n := range sizes {
		roundTrip(fmt.Sprintf("%s: binary of %d bytes", name, n), ws.Binary, payload(n, uint64(i)))
	}
	if compressed {
		expect(name+": Close", c.Close(ws.CloseNormal, ""))
		return
	}

	// Messages of up to 1 MiB share the Go side's send buffer: written
	// back to back, their echoes show the browser copied each.
	var small [][]byte
	for i := range 4 {
		m := payload(256<<10, uint64(200+i))
		small = append(small, m)
		if err := c.WriteMessage(ctx, ws.Binary, m); err != nil {
			report(name+": back-to-back writes", false, "write: %v", err)
			return
		}
	}
	for i, m := range small {
		_, got, err := c.ReadMessage(ctx, nil)
		if err != nil || !bytes.Equal(got, m) {
			report(name+": back-to-back writes", false, "echo %d: %d bytes, %v", i, len(got), err)
			return
		}
	}
	report(name+": back-to-back writes", true, "")

	// The browser queues what send hands it: right after a write of 16
	// MiB, it holds nearly all of it; the next write waits until at most
	// BrowserSendBuffer is left.
	big := [][]byte{payload(16<<20, 100), payload(4<<20, 101), payload(4<<20, 102)}
	var after []int
	for _, m := range big {
		if err := c.WriteMessage(ctx, ws.Binary, m); err != nil {
			report("echo: writes queued by the browser", false, "write: %v", err)
			return
		}
		after = append(after, c.BufferedAmount())
	}
	report("echo: BufferedAmount right after a 16 MiB write", after[0] >= 15<<20, "%d bytes buffered", after[0])
	report("echo: a write waits while more than BrowserSendBuffer is buffered",
		after[1] <= ws.BrowserSendBuffer+4<<20 && after[2] <= ws.BrowserSendBuffer+4<<20, "buffered after each write: %v", after)
	for i, m := range big {
		_, got, err := c.ReadMessage(ctx, nil)
		if err != nil || !bytes.Equal(got, m) {
			report("echo: writes queued by the browser", false, "echo %d: %d bytes, %v", i, len(got), err)
			return
		}
	}
	report("echo: writes queued by the browser", true, "")
	// The browser lowers bufferedAmount in tasks of its own, which may
	// come after the last echo's message event: it reaches 0 soon after.
	drained := time.Now().Add(10 * time.Second)
	for c.BufferedAmount() != 0 && time.Now().Before(drained) {
		time.Sleep(10 * time.Millisecond)
	}
	report("echo: BufferedAmount drains to 0 once everything was echoed", c.BufferedAmount() == 0, "%d", c.BufferedAmount())

	// NextWriter collects a message, NextReader reads one.
	w, _ := c.NextWriter(ctx, ws.Text)
	io.WriteString(w, "in ")
	io.WriteString(w, "parts")
	expect("echo: NextWriter", w.Close())
	typ, r, err := c.NextReader(ctx)
	var got []byte
	if err == nil {
		got, err = io.ReadAll(r)
	}
	report("echo: NextReader", err == nil && typ == ws.Text && string(got) == "in parts", "%v %q %v", typ, got, err)

	// A clean close: the server echoes 1000 (its echo carries no reason).
	err = c.Close(ws.CloseNormal, "done")
	report("echo: Close", err == nil, "%v", err)
	_, _, err = c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	report("echo: read after Close", errors.As(err, &ce) && ce.Code == ws.CloseNormal, "%v", err)
	report("echo: state closed", c.State() == ws.StateClosed, "state %v", c.State())
}

// echoSecure runs a shorter echo over wss://, with the test's CA.
func echoSecure(ctx context.Context) {
	c, _, err := dial(ctx, wssBase+"/echo", nil)
	if !expect("wss: dial", err) {
		return
	}
	defer c.CloseNow()
	msg := payload(1<<20, 7)
	if !expect("wss: write", c.WriteMessage(ctx, ws.Binary, msg)) {
		return
	}
	_, got, err := c.ReadMessage(ctx, nil)
	report("wss: echo of 1 MiB", err == nil && bytes.Equal(got, msg), "%d bytes, %v", len(got), err)
	expect("wss: Close", c.Close(ws.CloseNormal, ""))
}

// contexts: a read ended by its context or a deadline leaves the
// connection open.
func contexts(ctx context.Context) {
	c, _, err := dial(ctx, wsBase+"/echo", nil)
	if !expect("contexts: dial", err) {
		return
	}
	defer c.CloseNow()
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	start := time.Now()
	_, _, err = c.ReadMessage(tctx, nil)
	cancel()
	report("contexts: ReadMessage ends with its context", errors.Is(err, context.DeadlineExceeded) && time.Since(start) >= 150*time.Millisecond,
		"%v after %v", err, time.Since(start))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = c.WriteMessage(cctx, ws.Text, []byte("never sent"))
	report("contexts: WriteMessage with a cancelled context sends nothing", errors.Is(err, context.Canceled), "%v", err)
	c.SetReadDeadline(time.Now().Add(-time.Second))
	_, _, err = c.ReadMessage(ctx, nil)
	report("contexts: a past read deadline", errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	c.SetReadDeadline(time.Time{})
	c.WriteMessage(ctx, ws.Text, []byte("still open"))
	_, got, err := c.ReadMessage(ctx, nil)
	report("contexts: the connection stays open", err == nil && string(got) == "still open", "%q %v", got, err)
}

// unsupported: what the browser does not allow gives a clear error.
func unsupported(ctx context.Context) {
	for _, tc := range []struct {
		name string
		opts client.Options
	}{
		{"Header", client.Options{Header: http.Header{"Authorization": {"Bearer x"}}}},
		{"Compression", client.Options{Compression: &deflate.ClientConfig{}}},
		{"Conn.OnPing", client.Options{Conn: ws.Options{OnPing: func([]byte) {}}}},
		{"Proxy", client.Options{Proxy: client.NoProxy}},
	} {
		_, _, err := dial(ctx, wsBase+"/echo", &tc.opts)
		report("unsupported: Dial with "+tc.name, errors.Is(err, client.ErrInvalidOptions) && errors.Is(err, errors.ErrUnsupported), "%v", err)
	}
	_, _, err := dial(ctx, "ftp://example.invalid/", nil)
	report("unsupported: a URL that is not ws or wss", errors.Is(err, client.ErrInvalidOptions), "%v", err)

	c, _, err := dial(ctx, wsBase+"/echo", nil)
	if !expect("unsupported: dial", err) {
		return
	}
	defer c.CloseNow()
	err = c.Ping(ctx)
	report("unsupported: Ping", errors.Is(err, errors.ErrUnsupported), "%v", err)
	err = c.Close(ws.CloseGoingAway, "")
	report("unsupported: Close with 1001", errors.Is(err, errors.ErrUnsupported) && c.State() == ws.StateOpen, "%v, state %v", err, c.State())
	err = c.WriteMessage(ctx, ws.Text, []byte("\xff"))
	report("unsupported: text that is not UTF-8", err != nil, "%v", err)
	expect("unsupported: Close with 4000", c.Close(4000, "fine"))
}

// serverClose: the server's close code and reason reach the page, after
// the message sent before them; Serve sees both.
func serverClose(ctx context.Context) {
	c, _, err := dial(ctx, wsBase+"/bye", nil)
	if !expect("server close: dial", err) {
		return
	}
	defer c.CloseNow()
	_, msg, err := c.ReadMessage(ctx, nil)
	report("server close: the message before the close", err == nil && string(msg) == "bye soon", "%q %v", msg, err)
	_, _, err = c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	report("server close: code and reason", errors.As(err, &ce) && ce.Code == 4001 && ce.Reason == "server closing: ✓ done",
		"%v", err)
	code, ok := closecode.Of(err)
	report("server close: closecode.Of", ok && code == 4001, "%v %v", code, ok)

	c, _, err = dial(ctx, wsBase+"/bye", nil)
	if !expect("server close: dial for Serve", err) {
		return
	}
	defer c.CloseNow()
	var got []string
	err = c.Serve(ctx, ws.Handler{
		OnMessage: func(typ ws.MessageType, data []byte) { got = append(got, typ.String()+" "+string(data)) },
		OnClose: func(code ws.CloseCode, reason string) {
			got = append(got, fmt.Sprintf("close %d %s", uint16(code), reason))
		},
	})
	report("server close: Serve", errors.As(err, &ce) && strings.Join(got, "|") == "text bye soon|close 4001 server closing: ✓ done",
		"events %q, %v", got, err)
}

// clientClose: the server sees the page's close code and reason.
func clientClose(ctx context.Context) {
	c, _, err := dial(ctx, wsBase+"/client-close", nil)
	if !expect("client close: dial", err) {
		return
	}
	defer c.CloseNow()
	expect("client close: Close(4000)", c.Close(4000, "client says ✓ bye"))
}

// readLimit: a message over the read limit ends the connection with an
// error whose close code is 1009.
func readLimit(ctx context.Context) {
	c, _, err := dial(ctx, wsBase+"/echo", &client.Options{Conn: ws.Options{ReadLimit: 1000}})
	if !expect("read limit: dial", err) {
		return
	}
	defer c.CloseNow()
	c.WriteMessage(ctx, ws.Binary, make([]byte, 1000))
	_, got, err := c.ReadMessage(ctx, nil)
	report("read limit: a message at the limit", err == nil && len(got) == 1000, "%d %v", len(got), err)
	c.WriteMessage(ctx, ws.Binary, make([]byte, 1001))
	_, _, err = c.ReadMessage(ctx, nil)
	code, _ := closecode.Of(err)
	report("read limit: a message over it", code == ws.CloseMessageTooBig, "%v", err)
}

// refused: a server that refuses the handshake makes Dial fail.
func refused(ctx context.Context) {
	_, _, err := dial(ctx, wsBase+"/refuse", nil)
	report("refused: Dial fails", err != nil && strings.Contains(err.Error(), "could not open"), "%v", err)
}

// netConn: ws.NetConn works over the browser's WebSocket too.
func netConn(ctx context.Context) {
	c, _, err := dial(ctx, wsBase+"/echo", nil)
	if !expect("NetConn: dial", err) {
		return
	}
	nc := ws.NetConn(ctx, c, ws.Binary)
	for _, s := range []string{"across ", "message ", "boundaries"} {
		nc.Write([]byte(s))
	}
	got := make([]byte, len("across message boundaries"))
	_, err = io.ReadFull(nc, got)
	report("NetConn: Read across messages", err == nil && string(got) == "across message boundaries", "%q %v", got, err)
	nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err = nc.Read(got)
	report("NetConn: a read deadline", errors.Is(err, os.ErrDeadlineExceeded), "%v", err)
	expect("NetConn: Close", nc.Close())
	expect("NetConn: handshake done", c.Close(ws.CloseNormal, ""))
}
