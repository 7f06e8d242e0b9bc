package reconnect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// Defaults for Options fields left zero.
const (
	DefaultQueueMessages = 1024
	DefaultQueueBytes    = 1 << 20
	DefaultPongTimeout   = 10 * time.Second
)

// Errors returned by Send and Run.
var (
	// ErrQueueFull is returned by Send when the message would take the
	// queue over Options.QueueMessages or Options.QueueBytes.
	ErrQueueFull = errors.New("reconnect: send queue full")
	// ErrClosed is returned by Send once the client has stopped, and by
	// Run when called on a stopped client.
	ErrClosed = errors.New("reconnect: client closed")
	// ErrRunning is returned by Run when the client is already running.
	ErrRunning = errors.New("reconnect: Run already called")
	// ErrGaveUp is wrapped by the error Run returns after MaxAttempts
	// consecutive attempts failed; the error wraps the last attempt's
	// error as well.
	ErrGaveUp = errors.New("reconnect: gave up")
	// ErrPongTimeout ends a connection whose pong did not come within
	// Options.PongTimeout; the client then reconnects.
	ErrPongTimeout = errors.New("reconnect: no pong within the timeout")
)

// State is where a Client is in its life; see the package documentation
// for the edges between states.
type State int32

// Client states.
const (
	// StateIdle: Run has not been called yet.
	StateIdle State = iota
	// StateConnecting: dialing, or running the OnConnect hook.
	StateConnecting
	// StateOpen: connected and the hook succeeded; messages flow.
	StateOpen
	// StateWaiting: disconnected, waiting out the backoff delay before the
	// next attempt.
	StateWaiting
	// StateClosed: stopped for good; Run has returned or is returning.
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateWaiting:
		return "waiting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Transition is one change of state.
type Transition struct {
	From, To State
	// Attempt is the number of the connection attempt, counted from 1 since
	// the last time the client was open: into Connecting, the attempt
	// starting; into Open, the attempt that succeeded; into Waiting, the
	// attempts failed so far (0 after an open connection ended).
	Attempt int
	// Err is what caused the change: the dial or hook error, or the end
	// of the connection, into Waiting; the final error into Closed (nil
	// when stopped by Close).
	Err error
	// Delay is the wait chosen, into Waiting.
	Delay time.Duration
}

// String describes the transition for logs.
func (t Transition) String() string {
	s := t.From.String() + " -> " + t.To.String()
	if t.To == StateConnecting {
		s += fmt.Sprintf(" (attempt %d)", t.Attempt)
	}
	if t.To == StateWaiting {
		s += fmt.Sprintf(" (retry in %v)", t.Delay.Round(time.Millisecond))
	}
	if t.Err != nil {
		s += ": " + t.Err.Error()
	}
	return s
}

// Message is a message received, as delivered on the Messages channel.
type Message struct {
	Type ws.MessageType
	Data []byte
}

// Options configure a Client. The zero value is ready to use.
type Options struct {
	// Dialer configures each client.Dial (headers, subprotocols, TLS,
	// proxy, handshake timeout, the Conn's options). Ignored when Dial is
	// set.
	Dialer *client.Options

	// Dial, if set, opens each connection instead of client.Dial, for
	// example to put a fresh token in the headers of every attempt.
	Dial func(ctx context.Context, url string) (*ws.Conn, error)

	// Backoff is the schedule of waits between attempts.
	Backoff Backoff

	// MaxAttempts is the number of consecutive failed attempts (dial or
	// hook) after which Run gives up and returns an error wrapping
	// ErrGaveUp; zero or negative means never give up.
	MaxAttempts int

	// ShouldRetry decides whether to go on after an error: a failed
	// attempt, or the end of an open connection. Returning false makes Run
	// return that error. Nil means DefaultShouldRetry.
	ShouldRetry func(err error) bool

	// OnConnect, if set, runs after each connection is established, before
	// the reader starts and before queued messages are sent: authenticate
	// and re-subscribe here. It may write and read on conn. An error fails
	// the attempt: the connection is closed and the client backs off.
	OnConnect func(ctx context.Context, conn *ws.Conn) error

	// OnMessage, if set, is called with each message received, on the
	// client's reading goroutine, one at a time; data is valid only until
	// it returns. Without it, messages go to the Messages channel.
	OnMessage func(typ ws.MessageType, data []byte)

	// OnStateChange, if set, is called with each transition, in order, on
	// the goroutine running Run. It must not block for long: the client
	// waits for it.
	OnStateChange func(Transition)

	// QueueMessages bounds the messages waiting to be sent; zero means
	// DefaultQueueMessages (1024), negative means no bound.
	QueueMessages int
	// QueueBytes bounds the payload bytes waiting to be sent; zero means
	// DefaultQueueBytes (1 MiB), negative means no bound.
	QueueBytes int64

	// MessageBuffer is the capacity of the Messages channel; zero means
	// 64.
	MessageBuffer int

	// PingInterval, if positive, makes the client ping the server at that
	// interval while open; a pong that does not come within PongTimeout
	// ends the connection with ErrPongTimeout, and the client reconnects.
	PingInterval time.Duration
	// PongTimeout is how long a ping waits for its pong; zero means
	// DefaultPongTimeout (10 s).
	PongTimeout time.Duration
}

// DefaultShouldRetry retries every error except invalid dial options and
// handshake refusals that retrying cannot fix: a 4xx answer other than 408
// (request timeout) and 429 (too many requests), such as 401 or 403.
func DefaultShouldRetry(err error) bool {
	if errors.Is(err, client.ErrInvalidOptions) {
		return false
	}
	var he *client.HandshakeError
	if errors.As(err, &he) && he.Response != nil {
		s := he.Response.StatusCode
		if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
			return false
		}
	}
	return true
}

// Client is a WebSocket client that reconnects. Make one with New, run it
// with Run; Send, State, Messages, Queued and Close may be called from any
// goroutine.
type Client struct {
	url  string
	opts Options

	stop     context.CancelFunc // ends the context Run runs with
	stopOnce sync.Once
	stopped  chan struct{} // closed by Close
	done     chan struct{} // closed when Run has returned
	messages chan Message  // nil with OnMessage

	mu      sync.Mutex
	state   State
	running bool
	closed  bool // no more sends accepted
	queue   []Message
	qbytes  int64
	wake    chan struct{} // signals the writer that the queue grew
}

// New returns a client for url (ws:// or wss://). It does nothing until Run
// is called. opts may be nil.
func New(url string, opts *Options) *Client {
	c := &Client{
		url:     url,
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
	}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	o.Backoff = o.Backoff.withDefaults()
	if o.QueueMessages == 0 {
		o.QueueMessages = DefaultQueueMessages
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = DefaultPongTimeout
	}
	if o.ShouldRetry == nil {
		o.ShouldRetry = DefaultShouldRetry
	}
	if o.OnMessage == nil {
		n := o.MessageBuffer
		if n <= 0 {
			n = 64
		}
		c.messages = make(chan Message, n)
	}
	return c
}

// State returns the client's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Messages returns the channel messages are delivered on when
// Options.OnMessage is nil (nil otherwise). Each Message owns its Data. The
// channel is closed when Run returns. While it is full, the client stops
// reading from the server.
func (c *Client) Messages() <-chan Message { return c.messages }

// Done returns a channel closed when Run has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

// Queued returns the messages waiting to be sent and their bytes.
func (c *Client) Queued() (messages int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue), c.qbytes
}

// Send queues a message and returns at once; the client writes it when
// connected, after the messages queued before it. data is copied. Send
// returns ErrQueueFull when the queue is at its bound and ErrClosed once
// the client has stopped.
func (c *Client) Send(typ ws.MessageType, data []byte) error {
	if typ != ws.Text && typ != ws.Binary {
		return fmt.Errorf("reconnect: invalid message type %d", typ)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	n := int64(len(data))
	if (c.opts.QueueMessages > 0 && len(c.queue) >= c.opts.QueueMessages) ||
		(c.opts.QueueBytes > 0 && c.qbytes+n > c.opts.QueueBytes) {
		return ErrQueueFull
	}
	c.queue = append(c.queue, Message{Type: typ, Data: bytes.Clone(data)})
	c.qbytes += n
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close stops the client: Run closes the open connection, if any, with
// 1000, and returns nil. Close does not wait for that; Done does. From
// Close on, Send refuses messages with ErrClosed, and the messages still
// queued are dropped. Called before Run, Close stops the client at once: Run
// will return ErrClosed, and Done and the Messages channel are closed. It
// may be called from the client's callbacks, and more than once.
func (c *Client) Close() error {
	c.stopOnce.Do(func() { close(c.stopped) })
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	// Before Run, nothing else will finish the client; Run, once
	// started, does it when it returns.
	finish := first && !c.running
	if finish {
		c.queue, c.qbytes = nil, 0
	}
	c.mu.Unlock()
	if finish {
		c.transition(Transition{To: StateClosed})
		if c.messages != nil {
			close(c.messages)
		}
		close(c.done)
	}
	return nil
}

// Run connects and keeps the client connected until ctx ends (it returns
// ctx's error), Close is called (it returns nil), MaxAttempts attempts in a
// row fail (it returns an error wrapping ErrGaveUp and the last error), or
// ShouldRetry refuses an error (it returns that error). Every goroutine the
// client started has ended when Run returns. A Client runs once.
func (c *Client) Run(ctx context.Context) (err error) {
	c.mu.Lock()
	if c.running || c.closed {
		c.mu.Unlock()
		if c.closed {
			return ErrClosed
		}
		return ErrRunning
	}
	c.running = true
	c.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-c.stopped:
			cancel()
		case <-ctx.Done():
		}
	})
	defer func() {
		if c.closedByUser(ctx) {
			err = nil
		}
		cancel()
		watcher.Wait()
		c.mu.Lock()
		c.closed = true
		c.queue, c.qbytes = nil, 0
		c.mu.Unlock()
		c.transition(Transition{To: StateClosed, Err: err})
		if c.messages != nil {
			close(c.messages)
		}
		close(c.done)
	}()

	failed := 0 // consecutive failed attempts
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.transition(Transition{To: StateConnecting, Attempt: failed + 1})
		conn, err := c.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			if !c.opts.ShouldRetry(err) {
				return err
			}
			if c.opts.MaxAttempts > 0 && failed >= c.opts.MaxAttempts {
				return fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, failed, err)
			}
			if err := c.wait(ctx, failed, failed, err); err != nil {
				return err
			}
			continue
		}
		c.transition(Transition{To: StateOpen, Attempt: failed + 1})
		failed = 0
		err = c.session(ctx, conn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.opts.ShouldRetry(err) {
			return err
		}
		if err := c.wait(ctx, 1, 0, err); err != nil {
			return err
		}
	}
}

// closedByUser reports whether ctx ended because of Close.
func (c *Client) closedByUser(ctx context.Context) bool {
	select {
	case <-c.stopped:
		return ctx.Err() != nil
	default:
		return false
	}
}

// wait goes to Waiting for the delay of retry n, or until ctx ends.
func (c *Client) wait(ctx context.Context, n, failed int, cause error) error {
	d := c.opts.Backoff.Delay(n)
	c.transition(Transition{To: StateWaiting, Attempt: failed, Err: cause, Delay: d})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// transition moves to t.To and reports it.
func (c *Client) transition(t Transition) {
	c.mu.Lock()
	t.From = c.state
	c.state = t.To
	c.mu.Unlock()
	if c.opts.OnStateChange != nil {
		c.opts.OnStateChange(t)
	}
}

// connect dials and runs the hook.
func (c *Client) connect(ctx context.Context) (*ws.Conn, error) {
	var conn *ws.Conn
	var err error
	if c.opts.Dial != nil {
		conn, err = c.opts.Dial(ctx, c.url)
	} else {
		conn, _, err = client.Dial(ctx, c.url, c.opts.Dialer)
	}
	if err != nil {
		return nil, err
	}
	if c.opts.OnConnect != nil {
		if err := c.runHook(ctx, conn); err != nil {
			conn.CloseNow()
			return nil, err
		}
	}
	return conn, nil
}

// runHook runs OnConnect; if ctx ends meanwhile, the connection is closed
// so that a hook blocked on it returns.
func (c *Client) runHook(ctx context.Context, conn *ws.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.CloseNow() })
	defer stop()
	if err := c.opts.OnConnect(ctx, conn); err != nil {
		return fmt.Errorf("reconnect: OnConnect: %w", err)
	}
	return ctx.Err()
}

// session runs an open connection until it ends: the reader on this
// goroutine, the writer and the pinger beside it. It returns why it ended.
func (c *Client) session(ctx context.Context, conn *ws.Conn) error {
	sctx, cancel := context.WithCancelCause(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.writeLoop(sctx, conn); err != nil {
			cancel(err)
			conn.CloseNow()
		}
	})
	if c.opts.PingInterval > 0 {
		wg.Go(func() {
			if err := c.pingLoop(sctx, conn); err != nil {
				cancel(err)
				conn.CloseNow()
			}
		})
	}
	// Stopping closes the connection with the handshake; the reader sees
	// the server's answer and returns.
	wg.Go(func() {
		select {
		case <-ctx.Done():
			conn.Close(ws.CloseNormal, "")
		case <-sctx.Done():
		}
	})

	err := conn.Serve(sctx, ws.Handler{OnMessage: c.deliver(ctx)})
	cancel(err)
	wg.Wait()
	conn.CloseNow()
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) && cause != err {
		return cause // the writer or the pinger ended the connection
	}
	return err
}

// deliver returns the Serve callback that hands messages over.
func (c *Client) deliver(ctx context.Context) func(ws.MessageType, []byte) {
	if c.opts.OnMessage != nil {
		return c.opts.OnMessage
	}
	return func(typ ws.MessageType, data []byte) {
		select {
		case c.messages <- Message{Type: typ, Data: bytes.Clone(data)}:
		case <-ctx.Done():
		}
	}
}

// writeLoop writes queued messages, in order, until ctx ends or a write
// fails. A message leaves the queue only once written.
func (c *Client) writeLoop(ctx context.Context, conn *ws.Conn) error {
	for {
		c.mu.Lock()
		var m Message
		ok := len(c.queue) > 0
		if ok {
			m = c.queue[0]
		}
		c.mu.Unlock()
		if !ok {
			select {
			case <-c.wake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		if err := conn.WriteMessage(ctx, m.Type, m.Data); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		c.mu.Lock()
		if len(c.queue) > 0 {
			c.queue[0] = Message{}
			c.queue = c.queue[1:]
			c.qbytes -= int64(len(m.Data))
		}
		c.mu.Unlock()
	}
}

// pingLoop pings at PingInterval until ctx ends or a pong is late.
func (c *Client) pingLoop(ctx context.Context, conn *ws.Conn) error {
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.opts.PongTimeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return ErrPongTimeout
			}
			return err
		}
	}
}
