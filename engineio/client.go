package engineio

// The client side of Engine.IO v4: Dial opens a session to a server (this
// package's, the reference engine.io, or any other) over HTTP long-polling,
// upgrading to WebSocket when the server offers it, or over WebSocket
// directly. It shares this package's packet codec and Prepared with the
// server. Owner: helper "sioc" (client*.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// Defaults of the ClientOptions fields left zero.
const (
	// DefaultClientReadLimit bounds a polling response and a WebSocket
	// message the client reads.
	DefaultClientReadLimit = 32 << 20
	// DefaultClientMaxBuffered bounds the bytes a client queues before
	// Send blocks.
	DefaultClientMaxBuffered = 4 << 20
	// DefaultProbeTimeout bounds the upgrade probe.
	DefaultProbeTimeout = 10 * time.Second
)

// ClientOptions configure a client session (Dial). The zero value, or a nil
// *ClientOptions, starts on polling and upgrades to WebSocket when the
// server offers it, as the reference client does.
type ClientOptions struct {
	// Transports lists the transports the client may use, in order of
	// preference for the first request: nil means {Polling, WebSocket}
	// (start polling, then upgrade). {WebSocket} opens the session on
	// WebSocket directly; {Polling} never upgrades.
	Transports []string
	// DisableUpgrade keeps the session on its first transport (the
	// reference client's upgrade: false).
	DisableUpgrade bool
	// Header is added to every polling request and to the WebSocket
	// handshake (Authorization, Origin, ...).
	Header http.Header
	// HTTPClient makes the polling requests. nil means a client of this
	// package's shared transport with a cookie jar of the session's own,
	// so that a load balancer's sticky-session cookie (set on the
	// handshake response) comes back on every request of the session,
	// the WebSocket handshake included. A client given here keeps its own
	// Jar, which is used for the WebSocket handshake as well.
	HTTPClient *http.Client
	// WebSocket configures the WebSocket dial (TLS, proxy, compression,
	// message limits). Its Header is merged with Header.
	WebSocket client.Options
	// ReadLimit bounds a polling response body and a WebSocket message, in
	// bytes. Zero means DefaultClientReadLimit.
	ReadLimit int64
	// MaxBufferedAmount bounds the bytes queued and not yet handed to the
	// transport; over it Send waits. Zero means DefaultClientMaxBuffered.
	MaxBufferedAmount int64
	// ProbeTimeout bounds the upgrade's probe; zero means
	// DefaultProbeTimeout. A probe that fails leaves the session on
	// polling.
	ProbeTimeout time.Duration

	// OnMessage receives each message packet, one call at a time, in
	// order, on a goroutine of the client. data is valid only during the
	// call. It may call Send and Close.
	OnMessage func(typ ws.MessageType, data []byte)
	// OnUpgrade is called once the session has moved to WebSocket.
	OnUpgrade func()
	// OnClose is called once when the session ends, after the last
	// OnMessage, with the reason: ErrClientClose after Close,
	// ErrTransportClose when the server closed the session or the
	// connection, ErrTransportError (wrapping the cause) when a request or
	// the WebSocket failed, ErrPingTimeout when the server's pings stopped,
	// ErrParseError when it sent a malformed packet.
	OnClose func(reason error)
	// Logger receives debug records; nil means none.
	Logger *slog.Logger
}

// HandshakeInfo is what the server announced in its open packet.
type HandshakeInfo struct {
	SID          string
	Upgrades     []string
	PingInterval time.Duration
	PingTimeout  time.Duration
	MaxPayload   int64
}

// Client is the client side of one Engine.IO session. Its methods are safe
// for concurrent use.
type Client struct {
	opts  ClientOptions
	base  *url.URL // http or https URL of the endpoint, with the caller's query
	httpc *http.Client
	hs    HandshakeInfo

	ctx    context.Context // ends when the session ends
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond // signals writing, polling, closed changes
	transport string
	conn      *ws.Conn // the WebSocket, once on it
	queue     []*Prepared
	queued    int64
	space     chan struct{} // closed when queued drops, or on close
	writing   bool          // a writer goroutine is running
	polling   bool          // a GET is in flight
	paused    bool          // polling paused for the upgrade
	closing   bool          // Close was called: no more sends
	closed    bool
	reason    error
	timer     *time.Timer // heartbeat

	dmu sync.Mutex // held while calling OnMessage and OnClose
}

// sharedTransport is the HTTP transport of clients without an HTTPClient:
// one pool of keep-alive connections for every session of the process.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 1024
	t.MaxIdleConns = 4096
	return t
}()

// Dial opens an Engine.IO session to rawURL, the endpoint's URL: http,
// https, ws or wss, with the path the server is mounted at ("/engine.io/"
// when the path is empty or "/") and any query parameters of the
// application's own. ctx bounds the handshake, not the session. A refused
// handshake returns a *RequestError carrying the server's code and message
// when it sent one.
func Dial(ctx context.Context, rawURL string, opts *ClientOptions) (*Client, error) {
	c := &Client{}
	if opts != nil {
		c.opts = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("engineio: unsupported URL scheme %q", u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/engine.io/"
	}
	u.Fragment = ""
	c.base = u
	if c.opts.ReadLimit <= 0 {
		c.opts.ReadLimit = DefaultClientReadLimit
	}
	if c.opts.MaxBufferedAmount <= 0 {
		c.opts.MaxBufferedAmount = DefaultClientMaxBuffered
	}
	if c.opts.ProbeTimeout <= 0 {
		c.opts.ProbeTimeout = DefaultProbeTimeout
	}
	transports := c.opts.Transports
	if len(transports) == 0 {
		transports = []string{Polling, WebSocket}
	}
	for _, t := range transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("engineio: unknown transport %q", t)
		}
	}
	c.opts.Transports = transports
	c.httpc = c.opts.HTTPClient
	if c.httpc == nil {
		jar, _ := cookiejar.New(nil)
		c.httpc = &http.Client{Transport: sharedTransport, Jar: jar}
	}
	c.cond = sync.NewCond(&c.mu)
	c.space = make(chan struct{})
	c.done = make(chan struct{})
	c.ctx, c.cancel = context.WithCancel(context.Background())

	if transports[0] == WebSocket {
		err = c.openWebSocket(ctx)
	} else {
		err = c.openPolling(ctx)
	}
	if err != nil {
		c.cancel()
		return nil, err
	}
	return c, nil
}

// ID returns the session id.
func (c *Client) ID() string { return c.hs.SID }

// Handshake returns what the server announced.
func (c *Client) Handshake() HandshakeInfo { return c.hs }

// Transport returns the current transport, Polling or WebSocket.
func (c *Client) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done returns a channel closed when the session has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the session ended, nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Send queues one message packet: text (valid UTF-8) or binary, which
// travels as a binary frame on WebSocket and as "b" and base64 on polling.
// It copies data. It waits while more than MaxBufferedAmount bytes are
// queued, until ctx ends or the session closes (ErrClosed, wrapping the
// reason). Packets go out in the order their Send calls returned.
func (c *Client) Send(ctx context.Context, typ ws.MessageType, data []byte) error {
	p, err := newMessage(typ, data, true)
	if err != nil {
		return err
	}
	return c.enqueue(ctx, p)
}

// SendPrepared queues several message packets at once, in order, with
// nothing of other senders between them (a Socket.IO packet and its
// attachments). A Prepared may be shared with other sessions and servers.
func (c *Client) SendPrepared(ctx context.Context, ps ...*Prepared) error {
	return c.enqueue(ctx, ps...)
}

func (c *Client) enqueue(ctx context.Context, ps ...*Prepared) error {
	var n int64
	for _, p := range ps {
		n += p.size()
	}
	c.mu.Lock()
	for !c.closed && !c.closing && c.queued > 0 && c.queued+n > c.opts.MaxBufferedAmount {
		space := c.space
		c.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	if c.closed || c.closing {
		err := c.closedErr()
		c.mu.Unlock()
		return err
	}
	c.push(ps...)
	c.mu.Unlock()
	return nil
}

// push appends to the queue and starts the writer if it can write; mu held.
func (c *Client) push(ps ...*Prepared) {
	c.queue = append(c.queue, ps...)
	for _, p := range ps {
		c.queued += p.size()
	}
	c.kick()
}

// kick starts the writer when there is something to write and a transport
// to write it on; mu held.
func (c *Client) kick() {
	if c.writing || c.closed || len(c.queue) == 0 || c.paused {
		return
	}
	if c.transport == WebSocket && c.conn == nil {
		return
	}
	c.writing = true
	go c.writer()
}

func (c *Client) closedErr() error {
	if c.reason != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.reason)
	}
	return ErrClosed
}

// writer drains the queue onto the current transport, then exits.
func (c *Client) writer() {
	c.mu.Lock()
	for {
		if c.closed || c.paused || len(c.queue) == 0 {
			break
		}
		var batch []*Prepared
		var size int64
		transport, conn := c.transport, c.conn
		if transport == WebSocket {
			batch, c.queue = c.queue, nil
		} else {
			// One POST carries at most maxPayload bytes (the server
			// refuses more), and at least one packet.
			n, total := 0, 0
			for n < len(c.queue) {
				l := c.queue[n].pollingLen() + 1
				if n > 0 && c.hs.MaxPayload > 0 && int64(total+l) > c.hs.MaxPayload {
					break
				}
				total += l
				n++
			}
			batch = c.queue[:n:n]
			c.queue = c.queue[n:]
		}
		for _, p := range batch {
			size += p.size()
		}
		c.mu.Unlock()
		var err error
		if transport == WebSocket {
			err = c.writeWebSocket(conn, batch)
		} else {
			err = c.post(batch)
		}
		c.mu.Lock()
		c.queued -= size
		if !c.closed {
			close(c.space)
			c.space = make(chan struct{})
		}
		if err != nil {
			c.mu.Unlock()
			c.fail(fmt.Errorf("%w: %w", ErrTransportError, err))
			c.mu.Lock()
			break
		}
	}
	c.writing = false
	c.cond.Broadcast()
	c.mu.Unlock()
}

// Close ends the session from the client's side: packets already queued go
// out, then a close packet ("1"), and the transport is closed. OnClose gets
// ErrClientClose. Close waits for the queue to drain for at most the
// server's ping timeout.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.push(closePacket)
	deadline := time.AfterFunc(c.hs.PingTimeout+time.Second, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	start := time.Now()
	for !c.closed && (len(c.queue) > 0 || c.writing) && time.Since(start) < c.hs.PingTimeout+time.Second {
		c.cond.Wait()
	}
	deadline.Stop()
	c.mu.Unlock()
	c.fail(ErrClientClose)
	return nil
}

// fail ends the session with reason, once.
func (c *Client) fail(reason error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.closing {
		// Whatever ended the session after Close was called (the
		// server's answer to the close packet, the pending GET refused),
		// the client closed it.
		reason = ErrClientClose
	}
	c.closed = true
	c.reason = reason
	conn := c.conn
	if c.timer != nil {
		c.timer.Stop()
	}
	close(c.space)
	c.cond.Broadcast()
	c.mu.Unlock()
	c.debug("engine.io client closed", "reason", reason)
	c.cancel()
	if conn != nil {
		if errors.Is(reason, ErrClientClose) {
			// The close packet went out; end the WebSocket cleanly.
			go conn.Close(ws.CloseNormal, "")
		} else {
			conn.CloseNow()
		}
	}
	close(c.done)
	go func() {
		c.dmu.Lock()
		defer c.dmu.Unlock()
		if c.opts.OnClose != nil {
			c.opts.OnClose(reason)
		}
	}()
}

// deliver hands a message to OnMessage unless the session has ended.
func (c *Client) deliver(typ ws.MessageType, data []byte) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	if c.opts.OnMessage != nil {
		c.opts.OnMessage(typ, data)
	}
}

// onPacket handles one packet from the server; false stops the reader.
func (c *Client) onPacket(p packet) bool {
	switch p.kind {
	case packetMessage:
		c.deliver(p.typ, p.data)
	case packetPing:
		// Engine.IO v4, "Heartbeat": the server pings, the client
		// answers with a pong and expects the next ping within
		// pingInterval + pingTimeout.
		c.resetHeartbeat()
		c.mu.Lock()
		if !c.closed {
			c.push(pongPacket)
		}
		c.mu.Unlock()
	case packetClose:
		c.fail(ErrTransportClose)
		return false
	case packetOpen, packetPong, packetUpgrade, packetNoop:
		// noop: sent to a pending GET during an upgrade; the others
		// have no meaning here once the session is open.
	}
	return true
}

var pongPacket = control(packetPong, "")

// resetHeartbeat (re)arms the ping deadline.
func (c *Client) resetHeartbeat() {
	d := c.hs.PingInterval + c.hs.PingTimeout
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(d, func() { c.fail(ErrPingTimeout) })
		return
	}
	c.timer.Reset(d)
}

// handshake parses the open packet's JSON (Engine.IO v4, "Handshake").
func (c *Client) handshake(p packet) error {
	if p.kind != packetOpen {
		return fmt.Errorf("%w: the first packet is not an open packet", ErrParseError)
	}
	var hs struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	if err := json.Unmarshal(p.data, &hs); err != nil || hs.SID == "" || hs.PingInterval <= 0 || hs.PingTimeout <= 0 {
		return fmt.Errorf("%w: invalid open packet %q", ErrParseError, p.data)
	}
	c.hs = HandshakeInfo{
		SID:          hs.SID,
		Upgrades:     hs.Upgrades,
		PingInterval: time.Duration(hs.PingInterval) * time.Millisecond,
		PingTimeout:  time.Duration(hs.PingTimeout) * time.Millisecond,
		MaxPayload:   hs.MaxPayload,
	}
	return nil
}

// query returns the endpoint URL for a transport, with EIO=4 and the sid.
func (c *Client) endpoint(transport string, withSID bool) *url.URL {
	u := *c.base
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", transport)
	if withSID {
		q.Set("sid", c.hs.SID)
	}
	u.RawQuery = q.Encode()
	if transport == WebSocket {
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	return &u
}

func (c *Client) canUpgrade() bool {
	return !c.opts.DisableUpgrade && slices.Contains(c.opts.Transports, WebSocket) && slices.Contains(c.hs.Upgrades, WebSocket)
}

func (c *Client) debug(msg string, args ...any) {
	if c.opts.Logger != nil {
		c.opts.Logger.Debug(msg, append(args, "sid", c.hs.SID)...)
	}
}
