//go:build js

package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"
	"unicode/utf8"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// BrowserSendBuffer is how many bytes the browser may hold queued for
// sending (its WebSocket's bufferedAmount) before a write waits for them to
// drain. The browser accepts any amount at once and keeps it in memory; this
// bound turns that into the backpressure a write on a socket gives.
const BrowserSendBuffer = 1 << 20

// Conn is a WebSocket connection. In a browser (GOOS=js) it is backed by the
// browser's own WebSocket object; see the package documentation for what
// differs there.
type Conn struct {
	v    js.Value // the browser's WebSocket
	opts Options
	url  string

	mu     sync.Mutex
	queue  []jsMessage // received, not yet read
	end    error       // what reads return once the queue is empty
	notify chan struct{}

	opened chan struct{} // closed by the open event
	closed chan struct{} // closed by the close event
	funcs  []js.Func

	readSem  chan struct{}
	writeSem chan struct{}
	sendBuf  js.Value // a Uint8Array that binary messages are copied into
	readLim  atomic.Int64
	rdl, wdl deadline
}

// jsMessage is a message received, waiting to be read.
type jsMessage struct {
	typ  MessageType
	data []byte
}

var (
	jsUint8Array = js.Global().Get("Uint8Array")
	jsArray      = js.Global().Get("Array")
)

// NewBrowserConn takes over v, a browser WebSocket object that is connecting
// or open, and returns the connection once it is open. It is what
// client.Dial uses in a browser; a page that opened a WebSocket in
// JavaScript can hand it to Go this way. v's event handlers are replaced
// (onopen, onmessage, onerror, onclose) and its binaryType set to
// "arraybuffer"; pass v before the event loop runs, so that no message is
// delivered to another handler.
//
// ctx bounds the wait for the open event; if it ends first, v is closed. The
// subprotocol and the permessage-deflate parameters are those the browser
// negotiated; opts may be nil.
//
// Like every blocking call, it must not run on the goroutine of a js.FuncOf
// callback, which holds the event loop: start a goroutine there.
func NewBrowserConn(ctx context.Context, v js.Value, opts *Options) (c *Conn, err error) {
	defer recoverJS(&err, "ws: taking over the browser's WebSocket")
	c = &Conn{
		v:        v,
		url:      v.Get("url").String(),
		notify:   make(chan struct{}, 1),
		opened:   make(chan struct{}),
		closed:   make(chan struct{}),
		readSem:  make(chan struct{}, 1),
		writeSem: make(chan struct{}, 1),
	}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.CloseTimeout <= 0 {
		c.opts.CloseTimeout = DefaultCloseTimeout
	}
	c.SetReadLimit(c.opts.ReadLimit)
	c.rdl.init()
	c.wdl.init()
	v.Set("binaryType", "arraybuffer")
	c.handle("onopen", func(js.Value) { close(c.opened) })
	c.handle("onmessage", c.onMessage)
	c.handle("onerror", func(js.Value) {}) // the close event follows
	c.handle("onclose", c.onClose)

	switch State(v.Get("readyState").Int()) {
	case StateConnecting:
		select {
		case <-c.opened:
		case <-c.closed:
			return nil, fmt.Errorf("ws: the browser could not open the WebSocket to %s (%w); browsers do not tell pages why (refused, not found, TLS, a failed handshake): the browser's console does", c.url, c.endError())
		case <-ctx.Done():
			c.CloseNow()
			return nil, ctx.Err()
		}
	case StateOpen:
	default:
		c.release()
		return nil, ErrClosed
	}
	c.opts.Subprotocol = v.Get("protocol").String()
	c.opts.Compression = negotiatedCompression(v.Get("extensions").String())
	return c, nil
}

// negotiatedCompression reads the permessage-deflate parameters in the
// extensions the browser negotiated (RFC 7692 §7.1).
func negotiatedCompression(exts string) *Compression {
	list, err := handshake.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {exts}})
	if err != nil {
		return nil
	}
	for _, e := range list {
		if e.Name != "permessage-deflate" {
			continue
		}
		ps := make([]deflate.Param, len(e.Params))
		for i, p := range e.Params {
			ps[i] = deflate.Param{Name: p.Name, Value: p.Value, HasValue: p.Value != ""}
		}
		if p, err := deflate.ParseParams(ps, true); err == nil {
			return &Compression{Params: p}
		}
	}
	return nil
}

// handle sets v's event handler name to fn.
func (c *Conn) handle(name string, fn func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.v.Set(name, f)
}

// release removes the event handlers and frees them.
func (c *Conn) release() {
	for _, name := range []string{"onopen", "onmessage", "onerror", "onclose"} {
		c.v.Set(name, js.Null())
	}
	for _, f := range c.funcs {
		f.Release()
	}
	c.funcs = nil
}

// onMessage queues a message the browser delivered. It runs on the event
// loop and does not block.
func (c *Conn) onMessage(ev js.Value) {
	data := ev.Get("data")
	var m jsMessage
	if data.Type() == js.TypeString {
		m = jsMessage{Text, []byte(data.String())}
	} else {
		u := jsUint8Array.New(data)
		m = jsMessage{Binary, make([]byte, u.Length())}
		js.CopyBytesToGo(m.data, u)
	}
	c.mu.Lock()
	if c.end == nil {
		if lim := c.readLim.Load(); lim > 0 && int64(len(m.data)) > lim {
			// The browser has the whole message already; the limit
			// keeps it out of the program. 1009 (RFC 6455 §7.4.1)
			// is not a code a page may send, so the close carries
			// no status.
			c.end = &closecode.Error{Code: closecode.MessageTooBig,
				Rule: fmt.Sprintf("message of %d bytes over the read limit of %d (RFC 6455 §7.4.1, 1009)", len(m.data), lim)}
			c.v.Call("close")
		} else {
			c.queue = append(c.queue, m)
		}
	}
	c.mu.Unlock()
	c.wake()
}

// onClose records the end of the connection.
func (c *Conn) onClose(ev js.Value) {
	c.mu.Lock()
	if c.end == nil {
		code := CloseCode(ev.Get("code").Int())
		if ev.Get("wasClean").Bool() {
			c.end = &CloseError{Code: code, Reason: ev.Get("reason").String()}
		} else {
			c.end = &closedAbnormally{code: code}
		}
	}
	c.mu.Unlock()
	close(c.closed)
	c.release()
	c.wake()
}

func (c *Conn) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *Conn) endError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}

// closedAbnormally reports a connection that ended without a close
// handshake (RFC 6455 §7.1.5: 1006 at the browser).
type closedAbnormally struct{ code CloseCode }

func (e *closedAbnormally) Error() string {
	return fmt.Sprintf("ws: connection closed abnormally (%d): the browser does not tell pages why", uint16(e.code))
}
func (e *closedAbnormally) Unwrap() error     { return io.ErrUnexpectedEOF }
func (e *closedAbnormally) CloseCode() uint16 { return uint16(closecode.Abnormal) }

// ReadMessage reads the next data message whole and appends its payload to
// buf[:0] when buf has room for it (else the payload comes in a new slice).
// When the server closes the connection it returns a *CloseError with the
// server's code and reason, after the messages received before it.
//
// ctx bounds the wait. In the browser a read ended by its context or a
// deadline leaves the connection open: messages arrive whole, so nothing
// is cut in half.
func (c *Conn) ReadMessage(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	m, err := c.next(ctx)
	if err != nil {
		return 0, buf[:0], err
	}
	if cap(buf) >= len(m.data) {
		return m.typ, append(buf[:0], m.data...), nil
	}
	return m.typ, m.data, nil
}

// NextReader waits for the next data message and returns a reader for its
// payload. In the browser messages arrive whole, so the reader reads from
// memory.
func (c *Conn) NextReader(ctx context.Context) (MessageType, io.Reader, error) {
	m, err := c.next(ctx)
	if err != nil {
		return 0, nil, err
	}
	return m.typ, bytes.NewReader(m.data), nil
}

// next returns the next message received, waiting for it.
func (c *Conn) next(ctx context.Context) (jsMessage, error) {
	if err := ctx.Err(); err != nil {
		return jsMessage{}, err
	}
	dl := c.rdl.wait()
	select {
	case <-dl:
		return jsMessage{}, errReadDeadline
	default:
	}
	select {
	case c.readSem <- struct{}{}:
	case <-ctx.Done():
		return jsMessage{}, ctx.Err()
	case <-dl:
		return jsMessage{}, errReadDeadline
	}
	defer func() { <-c.readSem }()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.queue[0] = jsMessage{}
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return m, nil
		}
		end := c.end
		c.mu.Unlock()
		if end != nil {
			return jsMessage{}, end
		}
		select {
		case <-c.notify:
		case <-ctx.Done():
			return jsMessage{}, ctx.Err()
		case <-dl:
			return jsMessage{}, errReadDeadline
		}
	}
}

var (
	errReadDeadline  = fmt.Errorf("ws: read: %w", os.ErrDeadlineExceeded)
	errWriteDeadline = fmt.Errorf("ws: write: %w", os.ErrDeadlineExceeded)
	errWriteTimeout  = fmt.Errorf("ws: write: Options.WriteTimeout: %w", os.ErrDeadlineExceeded)
)

// WriteMessage sends p as one message of type typ (Text or Binary). It
// waits, bounded by ctx, the write deadline and Options.WriteTimeout, while
// the browser holds more than BrowserSendBuffer bytes queued, then hands the
// message to the browser, which copies it. If the wait ends first, nothing
// was sent and the connection stays open. Text must be valid UTF-8: a
// JavaScript string cannot carry anything else.
func (c *Conn) WriteMessage(ctx context.Context, typ MessageType, p []byte) (err error) {
	if typ != Text && typ != Binary {
		return ErrInvalidMessageType
	}
	if typ == Text && !utf8.Valid(p) {
		return errors.New("ws: text message is not valid UTF-8 (RFC 6455 §8.1), which the browser cannot send")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dl := c.wdl.wait()
	select {
	case <-dl:
		return errWriteDeadline
	default:
	}
	var timeout <-chan time.Time
	if c.opts.WriteTimeout > 0 {
		t := time.NewTimer(c.opts.WriteTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-dl:
		return errWriteDeadline
	case <-timeout:
		return errWriteTimeout
	}
	defer func() { <-c.writeSem }()
	defer recoverJS(&err, "ws: send")
	for poll := time.Millisecond; c.v.Get("bufferedAmount").Int() > BrowserSendBuffer; poll = min(2*poll, 50*time.Millisecond) {
		if c.State() != StateOpen {
			return ErrClosed
		}
		t := time.NewTimer(poll)
		select {
		case <-t.C:
		case <-c.closed:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-dl:
			t.Stop()
			return errWriteDeadline
		case <-timeout:
			t.Stop()
			return errWriteTimeout
		}
	}
	// send on a closing or closed WebSocket drops the message silently.
	if c.State() != StateOpen {
		return ErrClosed
	}
	if typ == Text {
		c.v.Call("send", string(p))
		return nil
	}
	// Binary messages are copied into a JavaScript array, which the
	// browser copies again when it queues the message (WHATWG WebSockets,
	// send). The array is kept for the next messages up to
	// jsSendBufMax bytes; a larger message gets one of its own.
	var buf js.Value
	if len(p) > jsSendBufMax {
		buf = jsUint8Array.New(len(p))
	} else {
		if c.sendBuf.IsUndefined() || c.sendBuf.Length() < len(p) {
			c.sendBuf = jsUint8Array.New(min(max(len(p), 2*c.sendCap(), 4096), jsSendBufMax))
		}
		buf = c.sendBuf.Call("subarray", 0, len(p))
	}
	js.CopyBytesToJS(buf, p)
	c.v.Call("send", buf)
	return nil
}

// jsSendBufMax is the largest send buffer a connection keeps.
const jsSendBufMax = 1 << 20

func (c *Conn) sendCap() int {
	if c.sendBuf.IsUndefined() {
		return 0
	}
	return c.sendBuf.Length()
}

// NextWriter returns a writer for a message of type typ. The browser sends
// messages whole, so the message is collected and sent by Close with
// WriteMessage.
func (c *Conn) NextWriter(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != Text && typ != Binary {
		return nil, ErrInvalidMessageType
	}
	return &jsMessageWriter{c: c, ctx: ctx, typ: typ}, nil
}

type jsMessageWriter struct {
	c    *Conn
	ctx  context.Context
	typ  MessageType
	buf  []byte
	done bool
}

func (w *jsMessageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, ErrWriterClosed
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *jsMessageWriter) Close() error {
	if w.done {
		return ErrWriterClosed
	}
	w.done = true
	return w.c.WriteMessage(w.ctx, w.typ, w.buf)
}

// errBrowserPing is returned by Ping and WritePing in the browser.
var errBrowserPing = fmt.Errorf("ws: the browser's WebSocket cannot send pings (it answers the server's itself): %w", errors.ErrUnsupported)

// Ping is not available in the browser: it returns an error that wraps
// errors.ErrUnsupported. The browser answers the server's pings itself.
func (c *Conn) Ping(ctx context.Context) error { return errBrowserPing }

// WritePing is not available in the browser: it returns an error that
// wraps errors.ErrUnsupported.
func (c *Conn) WritePing(ctx context.Context, payload []byte) error { return errBrowserPing }

// KeepAlive is not available in the browser, which cannot send pings: it
// returns an error that wraps errors.ErrUnsupported at once. The browser
// keeps its connections alive on its own terms.
func (c *Conn) KeepAlive(ctx context.Context, interval, timeout time.Duration) error {
	return errBrowserPing
}

// Close starts the close handshake with code and reason and waits up to
// Options.CloseTimeout for it to end. The browser lets a page send 1000 and
// 3000 to 4999 only (and no code at all, with 0); other codes return an
// error that wraps errors.ErrUnsupported, before anything is sent. Codes and
// reasons are checked as elsewhere (RFC 6455 §5.5.1, §7.4). It returns nil
// once the handshake ended cleanly. Messages received before the close stay
// readable. Calling it again waits for the connection to end.
func (c *Conn) Close(code CloseCode, reason string) (err error) {
	if _, err := closecode.Append(nil, code, reason); err != nil {
		return err
	}
	if code != 0 && code != CloseNormal && (code < 3000 || code > 4999) {
		return fmt.Errorf("ws: the browser's WebSocket can send close codes 1000 and 3000-4999 only, not %v: %w", code, errors.ErrUnsupported)
	}
	if c.State() < StateClosing {
		func() {
			defer recoverJS(&err, "ws: close")
			if code == 0 {
				c.v.Call("close")
			} else {
				c.v.Call("close", int(code), reason)
			}
		}()
		if err != nil {
			return err
		}
	}
	t := time.NewTimer(c.opts.CloseTimeout)
	defer t.Stop()
	select {
	case <-c.closed:
	case <-t.C:
		return ErrCloseTimeout
	}
	var ab *closedAbnormally
	if errors.As(c.endError(), &ab) {
		return ab
	}
	return nil
}

// CloseNow closes the connection without waiting. A page cannot drop the
// TCP connection: the browser still runs the close handshake, without a
// status code.
func (c *Conn) CloseNow() (err error) {
	if c.State() >= StateClosing {
		return nil
	}
	defer recoverJS(&err, "ws: close")
	c.v.Call("close")
	return nil
}

// State reports the connection's state: the WebSocket's readyState.
func (c *Conn) State() State {
	select {
	case <-c.closed:
		return StateClosed
	default:
	}
	return State(c.v.Get("readyState").Int())
}

// BufferedAmount returns the bytes the browser holds queued for sending (the
// WebSocket's bufferedAmount).
func (c *Conn) BufferedAmount() int { return c.v.Get("bufferedAmount").Int() }

// Role returns RoleClient: a page is always the client.
func (c *Conn) Role() Role { return RoleClient }

// Subprotocol returns the subprotocol the server chose, or "".
func (c *Conn) Subprotocol() string { return c.opts.Subprotocol }

// Compression reports the permessage-deflate parameters the browser
// negotiated, and whether it did. The browser compresses and decompresses
// on its own.
func (c *Conn) Compression() (deflate.Params, bool) {
	if c.opts.Compression == nil {
		return deflate.Params{}, false
	}
	return c.opts.Compression.Params, true
}

// SetReadLimit changes the largest message reads accept (see
// Options.ReadLimit). The browser receives a message whole before the limit
// can be applied; a message over it ends the connection (without a status
// code: a page cannot send 1009), and reads return an error whose close
// code, for closecode.Of, is 1009.
func (c *Conn) SetReadLimit(n int64) {
	if n == 0 {
		n = DefaultReadLimit
	}
	c.readLim.Store(n)
}

// URL returns the URL of the WebSocket, as the browser resolved it.
func (c *Conn) URL() string { return c.url }

// LocalAddr returns an address naming the page's origin: a page cannot see
// its network address.
func (c *Conn) LocalAddr() net.Addr {
	origin := js.Global().Get("location")
	if origin.Truthy() {
		return browserAddr(origin.Get("origin").String())
	}
	return browserAddr("")
}

// RemoteAddr returns an address naming the WebSocket's URL: a page cannot
// see the server's network address.
func (c *Conn) RemoteAddr() net.Addr { return browserAddr(c.url) }

// browserAddr is a net.Addr of network "websocket" for what a page knows of
// an endpoint.
type browserAddr string

func (a browserAddr) Network() string { return "websocket" }
func (a browserAddr) String() string  { return string(a) }

// SetReadDeadline sets the deadline for reads. A read that times out returns
// an error that wraps os.ErrDeadlineExceeded; the connection stays open.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline for writes, that is for their wait
// while the browser's send buffer is full. A write that times out sent
// nothing and returns an error that wraps os.ErrDeadlineExceeded.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// Serve runs a read loop that dispatches messages and the server's close
// to h until the connection ends, and returns the error that ended it (a
// *CloseError when the server closed). OnPing and OnPong are never called
// in the browser, which handles pings itself and does not show pongs. If
// ctx ends first, the connection is closed.
func (c *Conn) Serve(ctx context.Context, h Handler) error {
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	defer stop()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			var ce *CloseError
			if h.OnClose != nil && errors.As(err, &ce) {
				h.OnClose(ce.Code, ce.Reason)
			}
			return err
		}
		if h.OnMessage != nil {
			h.OnMessage(typ, msg)
		}
		buf = msg
	}
}

// recoverJS turns a JavaScript exception thrown by a call into *err.
func recoverJS(err *error, what string) {
	if r := recover(); r != nil {
		jerr, ok := r.(js.Error)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("%s: %w", what, jerr)
	}
}
