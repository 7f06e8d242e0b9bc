package ws

import (
	"context"
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/utf8"
)

// MessageType is the type of a data message (RFC 6455 §5.6).
type MessageType uint8

// Message types. Their values are the frame opcodes.
const (
	// Text messages carry UTF-8 text; it is validated as it arrives.
	Text MessageType = MessageType(frame.OpText)
	// Binary messages carry arbitrary bytes.
	Binary MessageType = MessageType(frame.OpBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string { return frame.Opcode(t).String() }

// Role says which side of the connection a Conn is. It decides the masking
// rules (RFC 6455 §5.1) and who closes TCP first (§7.1.1).
type Role uint8

// Roles.
const (
	RoleServer Role = 1
	RoleClient Role = 2
)

// String returns "server" or "client".
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	case RoleClient:
		return "client"
	}
	return "invalid role"
}

// State is the state of a connection (the readyState of RFC 6455 §4 and §7).
type State int32

// Connection states.
const (
	// StateConnecting: the opening handshake has not completed. A Conn
	// made by NewConn starts past it, so only handshake code reports it.
	StateConnecting State = iota
	// StateOpen: messages flow in both directions.
	StateOpen
	// StateClosing: a close frame has been sent or received.
	StateClosing
	// StateClosed: the TCP connection is closed.
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateClosing:
		return "closing"
	case StateClosed:
		return "closed"
	}
	return "invalid state"
}

// CloseCode is a close status code (RFC 6455 §7.4); see package closecode.
type CloseCode = closecode.Code

// CloseError is returned by reads once the peer's close frame has arrived; it
// carries the peer's code and reason. See package closecode.
type CloseError = closecode.CloseError

// Close codes, re-exported from package closecode for convenience.
const (
	CloseNormal             = closecode.Normal
	CloseGoingAway          = closecode.GoingAway
	CloseProtocolError      = closecode.ProtocolError
	CloseUnsupportedData    = closecode.UnsupportedData
	CloseNoStatus           = closecode.NoStatus
	CloseAbnormal           = closecode.Abnormal
	CloseInvalidPayload     = closecode.InvalidPayload
	ClosePolicyViolation    = closecode.PolicyViolation
	CloseMessageTooBig      = closecode.MessageTooBig
	CloseMandatoryExtension = closecode.MandatoryExtension
	CloseInternalError      = closecode.InternalError
	CloseServiceRestart     = closecode.ServiceRestart
	CloseTryAgainLater      = closecode.TryAgainLater
	CloseBadGateway         = closecode.BadGateway
)

// Defaults for Options fields left zero.
const (
	DefaultReadLimit    = 32 << 20
	DefaultCloseTimeout = 5 * time.Second
	DefaultFragmentSize = 32 << 10
)

// Options configure a Conn. The zero value is ready to use; NewConn copies
// the struct, so one Options value can serve many connections.
type Options struct {
	// ReadLimit is the largest message, in bytes, that reads accept. A
	// longer message fails the connection with 1009 (message too big), and
	// is rejected on its frame headers before anything is allocated for
	// it. Zero means DefaultReadLimit (32 MiB); a negative value means no
	// limit.
	ReadLimit int64

	// CloseTimeout bounds the close handshake: how long Close waits for the
	// peer's close frame, and how long a client waits for the server to
	// close TCP afterwards (RFC 6455 §7.1.1). Zero means 5 seconds.
	CloseTimeout time.Duration

	// FragmentSize is the payload size of each frame that a message writer
	// (NextWriter) sends. Zero means 32 KiB.
	FragmentSize int

	// WriteTimeout, if positive, bounds each frame write. A write that
	// times out fails the connection, as any failed write does. A context
	// deadline on the write applies as well; the earlier one wins.
	WriteTimeout time.Duration

	// Compression is the permessage-deflate extension negotiated in the
	// opening handshake (RFC 7692); nil means it is not in use, and a
	// frame with RSV1 set is then a protocol error (RFC 6455 §5.2). The
	// server and client packages set it.
	Compression *Compression

	// Subprotocol is the subprotocol negotiated in the opening handshake;
	// Conn.Subprotocol reports it. The server and client packages set it.
	Subprotocol string

	// OnPing, if set, is called with the payload of each ping received,
	// after the pong reply was written (RFC 6455 §5.5.2). It runs on the
	// goroutine that reads and must not keep the payload.
	OnPing func(payload []byte)

	// OnPong, if set, is called with the payload of each pong received. It
	// runs on the goroutine that reads and must not keep the payload.
	OnPong func(payload []byte)
}

// smallReadSize is the inline buffer an idle connection reads into, so that
// a connection waiting for its next message holds no pooled buffer. It fits a
// small message with its header in one read; a read that fills it switches
// to the pooled buffer for what follows. It is kept small because every idle
// connection holds it.
const smallReadSize = 128

// readBufSize is the pooled buffer used while data arrives faster than one
// small read can take it.
const readBufSize = 16 << 10

// writeBufSize is the pooled buffer frames are assembled in.
const writeBufSize = 16 << 10

// directThreshold: payloads at least this long are read straight from the
// network into their destination and, on the server, written from the
// caller's slice without a copy.
const directThreshold = 2 << 10

var (
	readBufPool  = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	writeBufPool = sync.Pool{New: func() any { b := make([]byte, writeBufSize); return &b }}
)

// Errors returned by Conn methods.
var (
	// ErrClosed is returned by operations on a connection whose close
	// frame was already sent or whose TCP connection is closed.
	ErrClosed = errors.New("ws: connection closed")
	// ErrStaleReader is returned by a message reader used after the next
	// message was requested.
	ErrStaleReader = errors.New("ws: message reader used after the next message was requested")
	// ErrWriterClosed is returned by a message writer used after Close.
	ErrWriterClosed = errors.New("ws: message writer used after Close")
	// ErrInvalidMessageType is returned when a write names a type other
	// than Text or Binary.
	ErrInvalidMessageType = errors.New("ws: message type must be Text or Binary")
)

// Conn is a WebSocket connection over a net.Conn, past the opening
// handshake. See the package documentation for its concurrency rules.
type Conn struct {
	nc    net.Conn
	role  Role
	opts  Options
	state atomic.Int32

	// Read side: owned by the holder of readSem.
	readSem  sem
	p        frame.Parser
	rbuf     []byte // buffered input: small[:], a pooled buffer, or handshake leftovers
	rpooled  *[]byte
	rpos     int
	rend     int
	lastFull bool // the last read filled the buffer: more is probably waiting
	small    [smallReadSize]byte
	hdr      frame.Header // header of the frame being read
	utf8v    utf8.Validator
	msgType  MessageType     // type of the data message being read
	inMsg    bool            // a data message is partly read
	readGen  uint64          // counts messages started; stale readers check it
	readErr  error           // sticky: reads after it fail with it
	pending  *pendingQueue   // read by Close, not yet returned to the application; nil until then
	readLim  atomic.Int64    // ReadLimit as set now; applied at each message start
	inHook   atomic.Bool     // a Serve callback is running
	msgCompr bool            // the data message being read is compressed
	deflate  *deflateState   // permessage-deflate; nil when not negotiated
	hooks    Handler         // set by Serve for its duration
	rctx     context.Context // the context of the read in progress, for the pongs it sends

	// Write side.
	msgSem   sem // held by a data message for its whole duration
	frameSem sem // held while one frame is written
	// The fields below are guarded by frameSem.
	writeErr  error
	closeSent bool
	rng       *rand.ChaCha8 // masking keys for the client role
	writev    bool          // nc writes net.Buffers in one system call
	hbuf      [frame.MaxHeaderSize]byte
	iov       [2][]byte
	bufs      net.Buffers

	// Deadlines set by the user; ctx deadlines are applied on top of them.
	dlMu          sync.Mutex
	readDeadline  time.Time
	writeDeadline time.Time
	closeBy       time.Time // reads end by then once a close frame was sent

	// Close.
	closeOnce sync.Once
	closed    chan struct{}              // closed when the net.Conn is closed
	peerClose atomic.Pointer[CloseError] // set when the peer's close frame arrived

	// Ping.
	pingMu  sync.Mutex
	pingSeq uint64
	pings   map[uint64]chan struct{}
}

// NewConn takes over nc after a completed opening handshake and returns the
// WebSocket connection running over it. buffered holds bytes already read
// from nc past the handshake (a client may send its first frames in the same
// packet as its request); they are consumed first and the Conn keeps the
// slice. role says which side this is. opts may be nil.
func NewConn(nc net.Conn, buffered []byte, role Role, opts *Options) *Conn {
	if role != RoleServer && role != RoleClient {
		panic("ws: NewConn with an invalid role")
	}
	c := &Conn{
		nc:     nc,
		role:   role,
		closed: make(chan struct{}),
	}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.ReadLimit == 0 {
		c.opts.ReadLimit = DefaultReadLimit
	}
	if c.opts.CloseTimeout <= 0 {
		c.opts.CloseTimeout = DefaultCloseTimeout
	}
	if c.opts.FragmentSize <= 0 {
		c.opts.FragmentSize = DefaultFragmentSize
	}
	c.p.Role = frame.Server
	if role == RoleClient {
		c.p.Role = frame.Client
		// RFC 6455 §5.3: masking keys come from a strong source of
		// entropy and must not be predictable. A ChaCha8 stream seeded
		// from crypto/rand is both, and costs no system call per frame.
		var seed [32]byte
		crand.Read(seed[:])
		c.rng = rand.NewChaCha8(seed)
	}
	c.SetReadLimit(c.opts.ReadLimit)
	if c.opts.Compression != nil {
		c.deflate = newDeflateState(role, c.opts.Compression)
		// RFC 7692 §6: the extension claims RSV1.
		c.p.AllowedRSV = frame.RSV1
	}
	if len(buffered) > 0 {
		c.rbuf = buffered
		c.rend = len(buffered)
		c.lastFull = true
	} else {
		c.rbuf = c.small[:]
	}
	c.writev = isWritev(nc)
	c.state.Store(int32(StateOpen))
	return c
}

// SetReadLimit changes the largest message reads accept (see
// Options.ReadLimit; a negative value means no limit, zero the default). It
// may be called at any time; it applies from the next message on.
func (c *Conn) SetReadLimit(n int64) {
	if n == 0 {
		n = DefaultReadLimit
	}
	c.readLim.Store(n)
	if n < 0 {
		n = 0
	}
	if c.readSem.tryLock() {
		c.p.MaxMessage = n
		c.readSem.unlock()
	}
}

// Role returns the side of the connection this Conn is.
func (c *Conn) Role() Role { return c.role }

// Subprotocol returns the subprotocol negotiated in the opening handshake, or
// "" if none.
func (c *Conn) Subprotocol() string { return c.opts.Subprotocol }

// State reports the connection's state.
func (c *Conn) State() State { return State(c.state.Load()) }

// NetConn returns the underlying connection. Reading or writing it directly
// corrupts the WebSocket stream; it is meant for addresses, TLS state and
// socket options.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadDeadline sets the deadline for reads, as net.Conn does. A read that
// times out fails the connection. A context deadline given to a read
// applies as well; the earlier one wins.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if !c.closeBy.IsZero() && (t.IsZero() || c.closeBy.Before(t)) {
		t = c.closeBy
	}
	c.readDeadline = t
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for writes, as net.Conn does. A write
// that times out fails the connection, since part of a frame may be out.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dlMu.Lock()
	c.writeDeadline = t
	c.dlMu.Unlock()
	return c.nc.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// acquire takes s, giving up when ctx is done or the connection is closed.
func (c *Conn) acquire(ctx context.Context, s *sem) error {
	return s.lock(ctx, c.closed)
}

// acquireRead takes readSem. Unlike acquire it keeps waiting after the
// connection closed: the holder always lets go soon, and the next reader
// must see the error that ended the connection.
func (c *Conn) acquireRead(ctx context.Context) error {
	return c.readSem.lock(ctx, nil)
}

// setState moves the state forward, never back.
func (c *Conn) setState(s State) {
	for {
		old := c.state.Load()
		if old >= int32(s) || c.state.CompareAndSwap(old, int32(s)) {
			return
		}
	}
}

// closeTransport closes the net.Conn once and marks the Conn closed.
func (c *Conn) closeTransport() error {
	err := ErrClosed
	c.closeOnce.Do(func() {
		err = c.nc.Close()
		c.setState(StateClosed)
		close(c.closed)
	})
	return err
}

// CloseNow closes the TCP connection at once, without a close handshake.
// Blocked reads and writes return. Prefer Close, which tells the peer why.
func (c *Conn) CloseNow() error { return c.closeTransport() }

// watch applies ctx to a blocking operation on the net.Conn: its deadline is
// set (combined with the user's), and cancellation interrupts the operation
// by moving the deadline to the past. The returned function undoes it and
// reports whether ctx ended the operation. A context that can be neither
// cancelled nor reach a deadline costs nothing.
func (c *Conn) watch(ctx context.Context, write bool) (stop func() bool) {
	if ctx.Done() == nil {
		return nil
	}
	set := c.nc.SetReadDeadline
	if write {
		set = c.nc.SetWriteDeadline
	}
	c.dlMu.Lock()
	user := c.readDeadline
	if write {
		user = c.writeDeadline
	}
	c.dlMu.Unlock()
	if d, ok := ctx.Deadline(); ok && (user.IsZero() || d.Before(user)) {
		set(d)
	}
	d, hasDeadline := ctx.Deadline()
	var fired atomic.Bool
	unregister := context.AfterFunc(ctx, func() {
		fired.Store(true)
		set(time.Unix(1, 0))
	})
	return func() bool {
		unregister()
		set(user)
		// The network deadline can expire a moment before ctx notices.
		return fired.Load() || ctx.Err() != nil || (hasDeadline && !time.Now().Before(d))
	}
}

// stopWatch ends a read's watch of ctx. When ctx ended the read, the
// connection, whose stream position is lost, is closed and ctx's error is
// returned.
func (c *Conn) stopWatch(ctx context.Context, stop func() bool, err error) error {
	if stop == nil || !stop() || err == nil {
		return err
	}
	c.closeTransport()
	return ctxError(ctx, err)
}

// ctxError turns an I/O error caused by ctx into ctx's error.
func ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

// newMaskKey returns a fresh masking key; frameSem must be held.
func (c *Conn) newMaskKey() [4]byte {
	u := c.rng.Uint64()
	return [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}
