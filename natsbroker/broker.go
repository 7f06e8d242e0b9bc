package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
)

// DefaultSubject is the subject prefix used when Options.Subject is empty.
const DefaultSubject = "ws.hub"

// Header names of the messages on NATS.
const (
	HeaderOrigin      = "Ws-Origin"       // the publishing hub's ServerID
	HeaderType        = "Ws-Type"         // "text" or "binary"
	HeaderRooms       = "Ws-Rooms"        // Namespace.BroadcastTo's rooms, one value each
	HeaderExceptRooms = "Ws-Except-Rooms" // and the rooms it excludes
)

// ErrUnavailable is returned by Publish while the broker is not connected
// to NATS and Options.OutageBuffer is zero: the publication is dropped.
var ErrUnavailable = errors.New("natsbroker: not connected to NATS")

// Options configure a Broker. The zero value is ready to use.
type Options struct {
	// Subject is the prefix of the subjects the broker publishes on and
	// subscribes to; DefaultSubject ("ws.hub") if empty. Clusters that
	// share a NATS server use different prefixes.
	Subject string

	// Name is the connection's name, shown by the NATS server's
	// monitoring; "rfc6455-ws hub" if empty.
	Name string

	// ReconnectWait is how long the client waits between attempts to
	// reconnect to a server; zero means one second. Attempts go on for
	// as long as the broker is open.
	ReconnectWait time.Duration

	// OutageBuffer is how many bytes of publications are kept while
	// reconnecting, and sent once the connection is back. Zero (the
	// default) keeps none: while NATS is unreachable, Publish fails at
	// once with ErrUnavailable and the other servers miss those
	// broadcasts, which suits live traffic (a chat line seconds late is
	// worse than none). A positive bound keeps up to that many bytes;
	// beyond it Publish fails with nats.ErrReconnectBufExceeded.
	OutageBuffer int

	// RetryOnFailedConnect lets Connect succeed while no server is
	// reachable yet: the broker then connects in the background, as it
	// reconnects after an outage. Without it Connect fails.
	RetryOnFailedConnect bool

	// Logger receives the broker's log records: disconnects and
	// asynchronous errors (a subscription falling behind) at Warn,
	// reconnects and close at Info. Nil means slog.Default().
	Logger *slog.Logger

	// NATS are extra options for nats.Connect, applied after the
	// broker's own (credentials, TLS, timeouts …). An option that
	// installs a disconnect, reconnect, closed or error handler replaces
	// the broker's, and with it the Stats and logs it keeps.
	NATS []nats.Option
}

// Broker is a hub.Broker over NATS core publish/subscribe: an at-most-once
// delivery to the servers connected at the time, in order from each
// publisher. It owns one NATS connection and serves one hub. It is safe
// for concurrent use.
type Broker struct {
	nc       *nats.Conn
	url      string
	prefix   string
	failFast bool
	log      *slog.Logger

	mu         sync.Mutex
	downSince  time.Time // zero while connected
	closedOnce sync.Once

	published   atomic.Uint64
	failed      atomic.Uint64
	received    atomic.Uint64
	invalid     atomic.Uint64
	disconnects atomic.Uint64
	reconnects  atomic.Uint64
	asyncErrors atomic.Uint64
}

// Stats is a snapshot of a Broker's counters.
type Stats struct {
	Connected     bool   `json:"connected"`      // connected to a NATS server now
	Published     uint64 `json:"published"`      // messages published
	PublishErrors uint64 `json:"publish_errors"` // publications that failed (during outages, ErrUnavailable)
	Received      uint64 `json:"received"`       // messages from other servers handed to the hub (counted once handled)
	Invalid       uint64 `json:"invalid"`        // messages on the subjects that were not ours, dropped
	Disconnects   uint64 `json:"disconnects"`    // connections lost
	Reconnects    uint64 `json:"reconnects"`     // connections restored
	AsyncErrors   uint64 `json:"async_errors"`   // asynchronous errors, such as a slow subscription dropping messages
}

// Connect connects to the NATS server(s) at url (comma-separated URLs, as
// nats.Connect takes) and returns a Broker for one hub. The connection
// reconnects by itself, without limit, every ReconnectWait; outages are
// logged and counted in Stats. The broker sets NoEcho, so that the server
// does not send a hub's own publications back to it. opts may be nil.
func Connect(url string, opts *Options) (*Broker, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	b := &Broker{url: url, prefix: o.Subject, failFast: o.OutageBuffer <= 0, log: o.Logger}
	if b.prefix == "" {
		b.prefix = DefaultSubject
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	name := o.Name
	if name == "" {
		name = "rfc6455-ws hub"
	}
	wait := o.ReconnectWait
	if wait <= 0 {
		wait = time.Second
	}
	buf := o.OutageBuffer
	if buf <= 0 {
		buf = -1 // nats.go: no reconnect buffer
	}
	nopts := []nats.Option{
		nats.Name(name),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		nats.ReconnectBufSize(buf),
		nats.RetryOnFailedConnect(o.RetryOnFailedConnect),
		nats.DisconnectErrHandler(b.onDisconnect),
		nats.ReconnectHandler(b.onReconnect),
		nats.ClosedHandler(b.onClosed),
		nats.ErrorHandler(b.onAsyncError),
	}
	nc, err := nats.Connect(url, append(nopts, o.NATS...)...)
	if err != nil {
		return nil, fmt.Errorf("natsbroker: %w", err)
	}
	b.nc = nc
	if !nc.IsConnected() {
		b.mu.Lock()
		b.downSince = time.Now()
		b.mu.Unlock()
		b.log.Warn("natsbroker: NATS unreachable; connecting in the background", "url", url)
	}
	return b, nil
}

// Conn returns the broker's NATS connection, for monitoring or a Flush.
// Closing it closes the broker.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Close sends what is buffered (waiting at most a second) and closes the
// connection, which ends its subscriptions. The hub using the broker should be shut down
// first.
func (b *Broker) Close() error {
	b.closedOnce.Do(func() {
		if b.nc.IsConnected() {
			b.nc.FlushTimeout(time.Second)
		}
		b.nc.Close()
	})
	return nil
}

// Stats returns a snapshot of the broker's counters.
func (b *Broker) Stats() Stats {
	return Stats{
		Connected:     b.nc.IsConnected(),
		Published:     b.published.Load(),
		PublishErrors: b.failed.Load(),
		Received:      b.received.Load(),
		Invalid:       b.invalid.Load(),
		Disconnects:   b.disconnects.Load(),
		Reconnects:    b.reconnects.Load(),
		AsyncErrors:   b.asyncErrors.Load(),
	}
}

// Publish publishes m on its subject (see the package documentation). While
// the connection is down it fails at once with ErrUnavailable, unless
// Options.OutageBuffer lets NATS keep it.
func (b *Broker) Publish(ctx context.Context, m *hub.Message) error {
	if err := ctx.Err(); err != nil {
		b.failed.Add(1)
		return err
	}
	if b.failFast && !b.nc.IsConnected() {
		b.failed.Add(1)
		return ErrUnavailable
	}
	typ := "text"
	if m.Type == ws.Binary {
		typ = "binary"
	}
	msg := &nats.Msg{
		Subject: b.subject(m),
		Header:  nats.Header{HeaderOrigin: []string{m.Origin}, HeaderType: []string{typ}},
		Data:    m.Data,
	}
	if m.Scope == hub.ScopeRooms {
		// Room names travel escaped as subject tokens are, so that any
		// byte survives the header encoding.
		for _, r := range m.Rooms {
			msg.Header.Add(HeaderRooms, token(r))
		}
		for _, r := range m.ExceptRooms {
			msg.Header.Add(HeaderExceptRooms, token(r))
		}
	}
	if err := b.nc.PublishMsg(msg); err != nil {
		b.failed.Add(1)
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	b.published.Add(1)
	return nil
}

// Subscribe subscribes to every subject under the prefix and hands each
// message to handle, one at a time, in order per publisher. The
// subscription survives reconnects.
func (b *Broker) Subscribe(handle func(*hub.Message)) (unsubscribe func(), err error) {
	sub, err := b.nc.Subscribe(b.prefix+".>", func(msg *nats.Msg) {
		m, ok := b.decode(msg)
		if !ok {
			b.invalid.Add(1)
			b.log.Debug("natsbroker: dropped a message that is not a hub's", "subject", msg.Subject)
			return
		}
		handle(m)
		b.received.Add(1)
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: %w", err)
	}
	return func() {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			b.log.Warn("natsbroker: unsubscribe failed", "err", err)
		}
	}, nil
}

// subject returns the subject m is published on.
func (b *Broker) subject(m *hub.Message) string {
	var s strings.Builder
	s.WriteString(b.prefix)
	switch m.Scope {
	case hub.ScopeAll:
		s.WriteString(".all")
	case hub.ScopeNamespace:
		s.WriteString(".ns.")
		appendToken(&s, m.Namespace)
	case hub.ScopeRoom:
		s.WriteString(".room.")
		appendToken(&s, m.Namespace)
		s.WriteByte('.')
		appendToken(&s, m.Room)
	case hub.ScopeUser:
		s.WriteString(".user.")
		appendToken(&s, m.User)
	case hub.ScopeRooms:
		s.WriteString(".rooms.")
		appendToken(&s, m.Namespace)
	default:
		fmt.Fprintf(&s, ".scope%d", m.Scope)
	}
	return s.String()
}

// decode turns a NATS message back into a hub.Message.
func (b *Broker) decode(msg *nats.Msg) (*hub.Message, bool) {
	rest, ok := strings.CutPrefix(msg.Subject, b.prefix+".")
	if !ok {
		return nil, false
	}
	m := &hub.Message{Origin: msg.Header.Get(HeaderOrigin), Data: msg.Data}
	switch msg.Header.Get(HeaderType) {
	case "text":
		m.Type = ws.Text
	case "binary":
		m.Type = ws.Binary
	default:
		return nil, false
	}
	if m.Origin == "" {
		return nil, false
	}
	tok := strings.Split(rest, ".")
	names := make([]string, len(tok)-1)
	for i, t := range tok[1:] {
		if names[i], ok = parseToken(t); !ok {
			return nil, false
		}
	}
	switch {
	case tok[0] == "all" && len(names) == 0:
		m.Scope = hub.ScopeAll
	case tok[0] == "ns" && len(names) == 1:
		m.Scope, m.Namespace = hub.ScopeNamespace, names[0]
	case tok[0] == "room" && len(names) == 2:
		m.Scope, m.Namespace, m.Room = hub.ScopeRoom, names[0], names[1]
	case tok[0] == "user" && len(names) == 1:
		m.Scope, m.User = hub.ScopeUser, names[0]
	case tok[0] == "rooms" && len(names) == 1:
		m.Scope, m.Namespace = hub.ScopeRooms, names[0]
		for _, t := range msg.Header.Values(HeaderRooms) {
			r, ok := parseToken(t)
			if !ok {
				return nil, false
			}
			m.Rooms = append(m.Rooms, r)
		}
		for _, t := range msg.Header.Values(HeaderExceptRooms) {
			r, ok := parseToken(t)
			if !ok {
				return nil, false
			}
			m.ExceptRooms = append(m.ExceptRooms, r)
		}
	default:
		return nil, false
	}
	return m, true
}

// token returns name escaped as appendToken does.
func token(name string) string {
	var s strings.Builder
	appendToken(&s, name)
	return s.String()
}

// appendToken writes name as a subject token: letters, digits and '-' as
// they are, every other byte as '_' and two hex digits, and the empty name
// as a lone '_'. Tokens thus never hold '.', '*', '>' or white space, and
// names stay readable in NATS monitoring ("lobby", "chat_20room").
func appendToken(s *strings.Builder, name string) {
	if name == "" {
		s.WriteByte('_')
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' {
			s.WriteByte(c)
			continue
		}
		s.WriteByte('_')
		s.WriteByte(hex[c>>4])
		s.WriteByte(hex[c&15])
	}
}

// parseToken reverses appendToken.
func parseToken(t string) (string, bool) {
	if t == "_" {
		return "", true
	}
	if t == "" {
		return "", false
	}
	if !strings.Contains(t, "_") {
		return t, true
	}
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if t[i] != '_' {
			out = append(out, t[i])
			continue
		}
		if i+2 >= len(t) {
			return "", false
		}
		hi, ok1 := unhex(t[i+1])
		lo, ok2 := unhex(t[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return string(out), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// onDisconnect is nats.go's disconnect handler: an outage begins.
func (b *Broker) onDisconnect(nc *nats.Conn, err error) {
	if nc.IsClosed() {
		return // Close, not an outage
	}
	b.mu.Lock()
	b.downSince = time.Now()
	b.mu.Unlock()
	mode := "publications fail until it is back; local delivery goes on"
	if !b.failFast {
		mode = "publications are buffered (bounded) until it is back; local delivery goes on"
	}
	b.log.Warn("natsbroker: disconnected from NATS; "+mode, "url", b.url, "err", err)
	b.disconnects.Add(1) // after the log, so that a count seen means a record written
}

// onReconnect is nats.go's reconnect handler: the outage is over.
func (b *Broker) onReconnect(nc *nats.Conn) {
	b.mu.Lock()
	since := b.downSince
	b.downSince = time.Time{}
	b.mu.Unlock()
	var outage time.Duration
	if !since.IsZero() {
		outage = time.Since(since)
	}
	b.log.Info("natsbroker: reconnected to NATS", "server", nc.ConnectedUrlRedacted(), "outage", outage)
	b.reconnects.Add(1)
}

func (b *Broker) onClosed(nc *nats.Conn) {
	b.log.Info("natsbroker: connection closed")
}

func (b *Broker) onAsyncError(nc *nats.Conn, sub *nats.Subscription, err error) {
	b.asyncErrors.Add(1)
	subject := ""
	if sub != nil {
		subject = sub.Subject
	}
	b.log.Warn("natsbroker: asynchronous error", "subject", subject, "err", err)
}
