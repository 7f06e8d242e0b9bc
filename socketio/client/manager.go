package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/reconnect"
	"github.com/rfc6455/ws/socketio/parser"
)

// DefaultPath is where Socket.IO servers serve Engine.IO.
const DefaultPath = "/socket.io/"

// DefaultBackoff is the reconnection schedule when Options.Backoff is zero:
// the reference client's (1 s, doubling up to 5 s, with up to half of each
// delay taken off at random).
var DefaultBackoff = reconnect.Backoff{Initial: time.Second, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.5}

// Options configure a Manager. The zero value, or a nil *Options, is the
// reference client's configuration: path /socket.io/, polling upgraded to
// WebSocket, reconnection forever with DefaultBackoff.
type Options struct {
	// Path is where the server serves Socket.IO; empty means
	// DefaultPath.
	Path string
	// Engine configures the Engine.IO session: transports, headers, the
	// HTTP client (and its cookie jar), the WebSocket dial, limits. Its
	// OnMessage, OnUpgrade and OnClose are the Manager's own.
	Engine engineio.ClientOptions
	// NoReconnect turns automatic reconnection off.
	NoReconnect bool
	// Backoff is the schedule of waits between reconnection attempts
	// (package reconnect's); the zero value means DefaultBackoff.
	Backoff reconnect.Backoff
	// MaxAttempts is how many consecutive reconnection attempts are made
	// before giving up; zero means no limit.
	MaxAttempts int
	// OnReconnect, if set, is called after each successful reconnection
	// with the number of attempts it took.
	OnReconnect func(attempt int)
	// Logger receives debug records and the errors of event handlers
	// (arguments that do not decode); nil means slog.Default().
	Logger *slog.Logger
}

// Manager is one connection to a Socket.IO server (one Engine.IO session
// at a time), multiplexing the Sockets of its namespaces, and reconnecting
// when the session is lost. Its methods are safe for concurrent use.
type Manager struct {
	opts   Options
	url    string // the Engine.IO endpoint
	logger *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc

	mu        sync.Mutex
	engine    *engineio.Client
	dec       parser.Decoder
	sockets   map[string]*Socket
	opening   chan struct{} // closed when an open attempt ends; nil when none runs
	openErr   error
	reconnect bool // a reconnection loop runs
	closed    bool
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or
// wss; its path is ignored, Options.Path is used, and its query is sent
// with every request). It does no I/O: the connection opens when a Socket
// connects.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	m := &Manager{sockets: map[string]*Socket{}}
	if opts != nil {
		m.opts = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("socket.io client: unsupported URL scheme %q", u.Scheme)
	}
	u.Path = m.opts.Path
	if u.Path == "" {
		u.Path = DefaultPath
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Fragment = ""
	m.url = u.String()
	if m.opts.Backoff == (reconnect.Backoff{}) {
		m.opts.Backoff = DefaultBackoff
	}
	m.logger = m.opts.Logger
	if m.logger == nil {
		m.logger = slog.Default()
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Connect connects to the namespace in rawURL's path ("/" when it has
// none), as the reference client's io(url) does, with a Manager of its
// own, and waits until the server has accepted it or ctx ends. The socket
// reconnects by itself afterwards; Disconnect ends it and its Manager.
func Connect(ctx context.Context, rawURL string, opts *Options, sopts *SocketOptions) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(nsp, sopts)
	s.ownsManager = true
	if err := s.Connect(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return s, nil
}

// Socket returns the Socket of namespace nsp ("/" if empty), making it on
// first use; later calls return the same Socket and ignore opts. It does
// not connect: call Socket.Connect.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sockets[nsp]; ok {
		return s
	}
	s := newSocket(m, nsp, opts)
	m.sockets[nsp] = s
	return s
}

// Close disconnects every Socket and ends the connection; the Manager
// cannot be used again.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	socks := make([]*Socket, 0, len(m.sockets))
	for _, s := range m.sockets {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.disconnect(ErrClientDisconnect, true)
	}
	m.cancel()
	m.mu.Lock()
	e := m.engine
	m.engine = nil
	m.mu.Unlock()
	if e != nil {
		e.Close()
	}
	return nil
}

// Engine returns the current Engine.IO session, nil while disconnected.
func (m *Manager) Engine() *engineio.Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.engine
}

// ensureOpen opens the Engine.IO session if there is none, waiting for it
// within ctx. While a reconnection loop runs, it waits for that loop's
// next success instead.
func (m *Manager) ensureOpen(ctx context.Context) error {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return ErrManagerClosed
		}
		if m.engine != nil {
			m.mu.Unlock()
			return nil
		}
		ch := m.opening
		if ch == nil && !m.reconnect {
			ch = make(chan struct{})
			m.opening = ch
			m.mu.Unlock()
			err := m.open(ctx)
			m.mu.Lock()
			m.opening = nil
			m.openErr = err
			close(ch)
			m.mu.Unlock()
			return err
		}
		m.mu.Unlock()
		if ch == nil {
			// A reconnection loop runs; the socket connects when it
			// succeeds.
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// open dials the Engine.IO session and, on success, installs it and sends
// CONNECT for every active socket.
func (m *Manager) open(ctx context.Context) error {
	eopts := m.opts.Engine
	var e *engineio.Client
	ready := make(chan struct{})
	eopts.OnMessage = func(typ ws.MessageType, data []byte) {
		<-ready
		m.onMessage(e, typ, data)
	}
	eopts.OnClose = func(reason error) {
		<-ready
		m.onEngineClose(e, reason)
	}
	eopts.OnUpgrade = nil
	if eopts.Logger == nil {
		eopts.Logger = m.opts.Logger
	}
	var err error
	e, err = engineio.Dial(ctx, m.url, &eopts)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		close(ready)
		e.Close()
		return ErrManagerClosed
	}
	m.engine = e
	m.reconnect = false // a reconnection loop that called open is over
	m.dec.Reset()
	var socks []*Socket
	for _, s := range m.sockets {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	close(ready)
	for _, s := range socks {
		s.onEngineOpen(e)
	}
	return nil
}

// onMessage decodes the Socket.IO packets of the session and routes them
// to their namespace.
func (m *Manager) onMessage(e *engineio.Client, typ ws.MessageType, data []byte) {
	var p *parser.Packet
	var err error
	if typ == ws.Text {
		p, err = m.dec.DecodeText(data)
	} else {
		p, err = m.dec.DecodeBinary(data)
	}
	if err != nil {
		m.logger.Debug("socket.io client: malformed packet", "err", err)
		go m.engineFailed(e, fmt.Errorf("%w: %w", engineio.ErrParseError, err))
		return
	}
	if p == nil {
		return // attachments follow
	}
	m.mu.Lock()
	s := m.sockets[p.Nsp()]
	m.mu.Unlock()
	if s == nil {
		return
	}
	s.onPacket(e, p)
}

// engineFailed ends a session that broke the protocol.
func (m *Manager) engineFailed(e *engineio.Client, reason error) {
	m.onEngineClose(e, reason) // first: the Close below reports ErrClientClose, then ignored
	e.Close()
}

// onEngineClose handles the end of a session: every socket is
// disconnected with the reason, and unless the client closed it, a
// reconnection loop starts.
func (m *Manager) onEngineClose(e *engineio.Client, reason error) {
	m.mu.Lock()
	if m.engine != e {
		m.mu.Unlock()
		return
	}
	m.engine = nil
	var socks []*Socket
	for _, s := range m.sockets {
		socks = append(socks, s)
	}
	again := !m.closed && !m.opts.NoReconnect && !errors.Is(reason, engineio.ErrClientClose) && !m.reconnect
	if again {
		m.reconnect = true
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.onEngineClose(reason)
	}
	if again {
		go m.reconnectLoop()
	}
}

// reconnectLoop dials again with backoff until it succeeds, the Manager is
// closed, no socket wants a connection, or MaxAttempts is reached.
//
// m.reconnect stays set until the loop ends: open clears it on success,
// in the same critical section that installs the session, so that a
// session lost right after it was installed starts a loop of its own
// (were the flag cleared later, onEngineClose could see the old loop's
// flag and start none, and nothing would reconnect). Every other exit
// clears it here.
func (m *Manager) reconnectLoop() {
	done := false
	defer func() {
		if !done {
			m.mu.Lock()
			m.reconnect = false
			m.mu.Unlock()
		}
	}()
	for attempt := 1; ; attempt++ {
		if m.opts.MaxAttempts > 0 && attempt > m.opts.MaxAttempts {
			m.logger.Debug("socket.io client: reconnection failed", "attempts", attempt-1)
			m.giveUp()
			return
		}
		delay := m.opts.Backoff.Delay(attempt)
		t := time.NewTimer(delay)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !m.wanted() {
			return
		}
		ctx, cancel := context.WithTimeout(m.ctx, 20*time.Second)
		err := m.open(ctx)
		cancel()
		if err == nil {
			done = true
			if m.opts.OnReconnect != nil {
				m.opts.OnReconnect(attempt)
			}
			return
		}
		m.logger.Debug("socket.io client: reconnection attempt failed", "attempt", attempt, "err", err)
	}
}

// wanted reports whether some socket wants to be connected.
func (m *Manager) wanted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	for _, s := range m.sockets {
		if s.isActive() {
			return true
		}
	}
	return false
}

// giveUp tells the active sockets that reconnection has failed.
func (m *Manager) giveUp() {
	m.mu.Lock()
	var socks []*Socket
	for _, s := range m.sockets {
		socks = append(socks, s)
	}
	m.mu.Unlock()
	for _, s := range socks {
		s.disconnect(ErrReconnectFailed, false)
	}
}

// socketDone is called when a socket no longer wants a connection: the
// session ends when no socket does (the reference client's behaviour).
func (m *Manager) socketDone() {
	if m.wanted() {
		return
	}
	m.mu.Lock()
	e := m.engine
	m.engine = nil
	m.mu.Unlock()
	if e != nil {
		e.Close()
	}
}
