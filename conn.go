//go:build !js

package ws

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/rfc6455/ws/wsproto"
)

// smallReadSize is the small buffer an idle connection reads into, so that
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

// readBufSlots holds a few read buffers in front of readBufPool, which
// the poller's callback (rawRead) takes and gives back: unlike a
// sync.Pool's, its operations never allocate, nor lock, nor go deep into
// the runtime, so the callback stays shallow (see fill). Like a pool's,
// what it holds is dropped at each GC (dropSlotsAtGC).
var readBufSlots bufSlots

func init() { dropSlotsAtGC() }

// dropSlotsAtGC empties readBufSlots after the next GC, and again after
// each one: a cleanup of an object nothing refers to runs once a GC has
// found it unreachable, and makes the next.
func dropSlotsAtGC() {
	runtime.AddCleanup(new([2]uintptr), func(struct{}) {
		for i := range readBufSlots {
			readBufSlots[i].p.Store(nil)
		}
		dropSlotsAtGC()
	}, struct{}{})
}

// bufSlots is a small set of buffers: one atomic pointer each, taken with
// Swap and filled with CompareAndSwap, so no two goroutines ever get the
// same buffer. Callers start at a slot of their own (a file descriptor)
// to spread out. The buffers it holds stay (16 × readBufSize at most);
// the pool takes the rest.
type bufSlots [16]struct {
	p atomic.Pointer[[]byte]
	_ [56]byte // a cache line each
}

// get takes a buffer, or returns nil if there is none.
func (s *bufSlots) get(hint uintptr) *[]byte {
	for i := range len(s) {
		slot := &s[(hint+uintptr(i))%uintptr(len(s))].p
		if slot.Load() != nil {
			if b := slot.Swap(nil); b != nil {
				return b
			}
		}
	}
	return nil
}

// put stores b and reports whether there was room.
func (s *bufSlots) put(hint uintptr, b *[]byte) bool {
	for i := range len(s) {
		slot := &s[(hint+uintptr(i))%uintptr(len(s))].p
		if slot.Load() == nil && slot.CompareAndSwap(nil, b) {
			return true
		}
	}
	return false
}

// putReadBuf gives a read buffer back: to readBufSlots if it has room,
// where rawRead finds it, else to the pool.
func putReadBuf(b *[]byte) {
	if !readBufSlots.put(uintptr(unsafe.Pointer(b))>>4, b) {
		readBufPool.Put(b)
	}
}

// getReadBuf takes a read buffer: from readBufSlots if it has one, else
// from the pool.
func getReadBuf() *[]byte {
	if b := readBufSlots.get(0); b != nil {
		return b
	}
	return readBufPool.Get().(*[]byte)
}

// Conn is a WebSocket connection over a net.Conn, past the opening
// handshake. See the package documentation for its concurrency rules.
type Conn struct {
	nc net.Conn
	// opts are the options with their defaults filled in: connDefaults,
	// shared, when every option but ReadLimit (kept in readLim) has its
	// default, as is usual, else a copy of the Conn's own.
	opts *Options
	// Small fields share words (each Conn is on the heap for its
	// connection's lifetime): role, then flags of the read and write
	// sides, each guarded as the side it belongs to.
	role      Role
	lastFull  bool // the last read filled the buffer: more is probably waiting
	rawDirect bool // rawRead reads into rbuf, a message's own buffer (readDirect)
	rawNeed   bool // rawRead needs a buffer: fill takes one from the pool
	rawAgain  bool // rawRead found nothing to read and kept its buffer
	serving   bool // Serve is the reader
	writev    bool // nc writes net.Buffers in one system call; guarded by frameSem
	ncClosed  bool // nc was closed; guarded by closeMu
	state     atomic.Int32
	inHook    atomic.Bool // a callback is running on the reading goroutine (hook.go)

	// Read side: owned by the holder of readSem.
	readSem sem
	// rx is the protocol core's receiving half: every rule of what
	// arrives lives there (package wsproto); this driver moves bytes.
	rx      wsproto.Receiver
	rbuf    []byte // buffered input: small[:], a pooled buffer, or handshake leftovers
	rpooled *[]byte
	rpos    int
	rend    int
	small   *[smallReadSize]byte // the idle read buffer; nil on sockets, which need none (raw)
	// raw, when not nil, is the socket's raw connection: fill waits for
	// readability in the poller and only then takes a pooled buffer (see
	// rawRead). rawFn is c.rawRead, bound once; rawN and rawErrno carry
	// its result.
	raw   syscall.RawConn
	rawFn func(fd uintptr) bool
	rawN  int
	// ev is the event the core reports (nextData); kept here rather
	// than on the stack of the read path.
	ev wsproto.Event
	// rbuf[chunkAt:chunkAt+chunkN] is payload of the message being read
	// that the core reported and the application has not taken yet (the
	// core reports payload where it is, in rbuf); final says the message
	// ends with it.
	chunkAt  int32
	chunkN   int32
	final    bool
	msgType  MessageType  // type of the data message being read
	inMsg    bool         // a data message is partly read
	msgCompr bool         // the data message being read is compressed
	rawErrno uint32       // rawRead's syscall.Errno (in the padding above)
	readGen  uint64       // counts messages started; stale readers check it
	readLim  atomic.Int64 // ReadLimit as set now; applied at each message start
	hooks    *Handler     // set by Serve for its duration

	// Write side.
	msgSem   sem // held by a data message for its whole duration
	frameSem sem // held while one frame is written
	// tx is the protocol core's sending half. Its framing (and closeSent)
	// is guarded by frameSem, its compressor by msgSem (messages are
	// compressed in the order they go out).
	tx wsproto.Sender
	// The fields below are guarded by frameSem.
	// On a socket (raw set), frames are written through the raw
	// connection: rawWFn is c.rawWrite, bound once; it writes wraw, or
	// wvec when it is set, and reports a failure in wErrno.
	rawWFn func(fd uintptr) bool
	wraw   []byte
	wvec   *rawIovecs
	wErrno syscall.Errno

	// closeMu is held while nc is closed (a second closeTransport waits
	// for the first).
	closeMu sync.Mutex

	// ext holds what most connections never use, or use only as they
	// end; nil until first needed (see extra).
	ext atomic.Pointer[connExt]
}

// connExt is the part of a Conn that an idle connection does not carry:
// made by the first deadline, Ping, wait for the close, or close frame.
type connExt struct {
	// Deadlines set by the user, and closeBy; ctx deadlines are applied
	// on top of them. dl is nil until one is set (a context that can end
	// does not need it).
	dlMu sync.Mutex
	dl   *deadlines

	// closed is nil until something waits for the close (see done), then
	// the channel that closes with nc; once nc is closed it is
	// &closedChan.
	closed     atomic.Pointer[chan struct{}]
	peerClose  atomic.Pointer[CloseError] // set when the peer's close frame arrived
	abortCause atomic.Pointer[error]      // why abort closed the connection

	pings pingWaiters // the Ping calls waiting for their pong

	// The sticky errors: reads after readErr fail with it (guarded by
	// readSem), writes after writeErr (guarded by frameSem).
	readErr, writeErr error

	// Read side, guarded by readSem: pending holds what Close read and
	// the application has not taken yet; rctx is the context of the read
	// in progress when it can end, for the pongs the read sends (nil:
	// context.Background()).
	pending *pendingQueue
	rctx    context.Context

	// hookG is the ID of the goroutine that runs the callbacks (hook.go);
	// set before inHook.
	hookG atomic.Uint64

	// Compression with context takeover, guarded by msgSem: sendUsed, a
	// message was compressed since the compressor janitor last looked;
	// lastCompressed, when the last message was compressed, in
	// compressClock ticks (0: never).
	sendUsed       bool
	lastCompressed uint32
}

// readError returns the error reads fail with from now on, or nil;
// readSem must be held.
func (c *Conn) readError() error {
	if x := c.ext.Load(); x != nil {
		return x.readErr
	}
	return nil
}

// writeError returns the error writes fail with from now on, or nil;
// frameSem must be held.
func (c *Conn) writeError() error {
	if x := c.ext.Load(); x != nil {
		return x.writeErr
	}
	return nil
}

// pendingQueue returns what Close set aside, or nil; readSem must be held.
func (c *Conn) pendingQueue() *pendingQueue {
	if x := c.ext.Load(); x != nil {
		return x.pending
	}
	return nil
}

// setReadCtx records the context of the read that starts, for the pongs
// it sends: only one that can end needs recording. readSem must be held;
// clearReadCtx undoes it.
func (c *Conn) setReadCtx(ctx context.Context) {
	if ctx.Done() != nil {
		c.extra().rctx = ctx
	}
}

// clearReadCtx forgets the context of the read that ended.
func (c *Conn) clearReadCtx() {
	if x := c.ext.Load(); x != nil {
		x.rctx = nil
	}
}

// deadlines returns x's deadlines, making them on first use; dlMu must be
// held.
func (x *connExt) deadlines() *deadlines {
	if x.dl == nil {
		x.dl = new(deadlines)
	}
	return x.dl
}

// extra returns c's connExt, making it on first use.
func (c *Conn) extra() *connExt {
	if x := c.ext.Load(); x != nil {
		return x
	}
	c.ext.CompareAndSwap(nil, new(connExt))
	return c.ext.Load()
}

// peerCloseErr returns the peer's close, if its close frame arrived.
func (c *Conn) peerCloseErr() *CloseError {
	if x := c.ext.Load(); x != nil {
		return x.peerClose.Load()
	}
	return nil
}

// connDefaults are the options of a Conn whose options all have their
// defaults (ReadLimit aside): it is shared, so that an idle connection does
// not carry a copy.
var connDefaults = Options{ReadLimit: DefaultReadLimit, CloseTimeout: DefaultCloseTimeout, FragmentSize: DefaultFragmentSize}

// closedChan is a closed channel: what done returns once the transport is
// closed.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// done returns a channel that is closed when the net.Conn is closed. It is
// made on first use: most connections never wait for it (the locks need it
// only under contention), and an idle connection should not carry one.
func (c *Conn) done() <-chan struct{} {
	x := c.extra()
	for {
		if p := x.closed.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{})
		if !x.closed.CompareAndSwap(nil, &ch) {
			continue
		}
		if c.State() == StateClosed {
			// closeTransport may have looked for the channel before
			// it was there: whichever of the two swaps it out closes
			// it.
			x.closeDone()
		}
		return ch
	}
}

// closeDone closes the channel done returned, if it has not been closed
// yet, and makes done return closedChan from now on.
func (x *connExt) closeDone() {
	if p := x.closed.Swap(&closedChan); p != nil && p != &closedChan {
		close(*p)
	}
}

// NewConn takes over nc after a completed opening handshake and returns the
// WebSocket connection running over it. buffered holds bytes already read
// from nc past the handshake (a client may send its first frames in the same
// packet as its request); they are consumed first and the Conn keeps the
// slice. role says which side this is. opts may be nil.
func NewConn(nc net.Conn, buffered []byte, role Role, opts *Options) *Conn {
	return newConn(nc, nil, buffered, role, opts)
}

// newConn is NewConn; rc, if not nil, is nc's raw connection, which a
// server's handshake has made already (wsconn.NewConn).
func newConn(nc net.Conn, rc syscall.RawConn, buffered []byte, role Role, opts *Options) *Conn {
	if role != RoleServer && role != RoleClient {
		panic("ws: NewConn with an invalid role")
	}
	c := &Conn{
		nc:   nc,
		role: role,
		opts: connOptions(opts),
	}
	cfg := wsproto.Config{Role: wsproto.Role(role), PullInflate: true}
	if c.opts.Compression != nil {
		cfg.Compression = c.opts.Compression
	}
	c.rx.Init(cfg)
	c.tx.Init(cfg)
	var limit int64
	if opts != nil {
		limit = opts.ReadLimit
	}
	c.SetReadLimit(limit)
	c.writev = isWritev(nc)
	if rc == nil {
		rc = rawConnOf(nc)
	}
	if c.raw = rc; c.raw != nil {
		c.rawFn = c.rawRead
		c.rawWFn = c.rawWrite
	} else {
		c.small = new([smallReadSize]byte)
	}
	if len(buffered) > 0 {
		c.rbuf = buffered
		c.rend = len(buffered)
		c.lastFull = true
	} else {
		c.rbuf = c.idleBuf()
	}
	c.state.Store(int32(StateOpen))
	return c
}

// connOptions returns the options of a new Conn: opts with the defaults
// filled in, connDefaults if they are all the defaults.
func connOptions(opts *Options) *Options {
	if opts == nil {
		return &connDefaults
	}
	o := *opts
	o.ReadLimit = DefaultReadLimit // applied by SetReadLimit, read from readLim
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	if o.FragmentSize <= 0 {
		o.FragmentSize = DefaultFragmentSize
	}
	if o.WriteTimeout < 0 {
		o.WriteTimeout = 0
	}
	if o.CloseTimeout == DefaultCloseTimeout && o.FragmentSize == DefaultFragmentSize && o.WriteTimeout == 0 &&
		o.Compression == nil && o.Subprotocol == "" && o.OnPing == nil && o.OnPong == nil && o.OnPeerClose == nil {
		return &connDefaults
	}
	// o stays on the stack (returning &o would put it on the heap for
	// every Conn, those that get the shared defaults too): the copy is
	// made only here.
	p := new(Options)
	*p = o
	return p
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
		c.rx.SetReadLimit(n)
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

// deadlines are the user's deadlines, and the time by which reads end once
// a close frame was sent; guarded by connExt.dlMu.
type deadlines struct {
	read, write time.Time
	closeBy     time.Time // reads end by then once a close frame was sent
}

// userDeadlines returns the deadlines the user set (closeBy included),
// zero when none was.
func (c *Conn) userDeadlines() deadlines {
	x := c.ext.Load()
	if x == nil {
		return deadlines{}
	}
	x.dlMu.Lock()
	defer x.dlMu.Unlock()
	if x.dl == nil {
		return deadlines{}
	}
	return *x.dl
}

// readDeadline returns the user's read deadline (closeBy included).
func (c *Conn) readDeadline() time.Time { return c.userDeadlines().read }

// writeDeadline returns the user's write deadline.
func (c *Conn) writeDeadline() time.Time { return c.userDeadlines().write }

// SetReadDeadline sets the deadline for reads, as net.Conn does. A read that
// times out fails the connection. A context deadline given to a read
// applies as well; the earlier one wins.
func (c *Conn) SetReadDeadline(t time.Time) error {
	x := c.extra()
	x.dlMu.Lock()
	defer x.dlMu.Unlock()
	d := x.deadlines()
	if !d.closeBy.IsZero() && (t.IsZero() || d.closeBy.Before(t)) {
		t = d.closeBy
	}
	d.read = t
	return c.nc.SetReadDeadline(t)
}

// SetWriteDeadline sets the deadline for writes, as net.Conn does. A write
// that times out fails the connection, since part of a frame may be out.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	x := c.extra()
	x.dlMu.Lock()
	x.deadlines().write = t
	x.dlMu.Unlock()
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
	if s.tryLock() {
		return nil
	}
	return s.lockSlow(ctx, c.done())
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
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.ncClosed {
		return ErrClosed
	}
	c.ncClosed = true
	err := c.nc.Close()
	c.setState(StateClosed)
	if x := c.ext.Load(); x != nil {
		x.closeDone()
	}
	return err
}

// CloseNow closes the TCP connection at once, without a close handshake.
// Blocked reads and writes return. Prefer Close, which tells the peer why.
func (c *Conn) CloseNow() error { return c.closeTransport() }

// watch applies ctx to a blocking operation on the net.Conn: its deadline is
// set (combined with the user's), and cancellation interrupts the operation
// by moving the deadline to the past. The caller ends it with stop, which
// undoes it and reports whether ctx ended the operation. A context that can
// be neither cancelled nor reach a deadline costs nothing: watch returns nil.
// The caller checks ctx.Err() first: an operation whose context has already
// ended does not start.
func (c *Conn) watch(ctx context.Context, write bool) *ctxWatch {
	if ctx.Done() == nil {
		return nil
	}
	w := &ctxWatch{c: c, ctx: ctx, write: write}
	if write {
		w.user = c.writeDeadline()
	} else {
		w.user = c.readDeadline()
	}
	w.deadline, w.hasDeadline = ctx.Deadline()
	if w.hasDeadline && (w.user.IsZero() || w.deadline.Before(w.user)) {
		w.set(w.deadline)
	}
	w.unregister = context.AfterFunc(ctx, w.interrupt)
	return w
}

// ctxWatch is a context applied to one blocking operation by watch.
type ctxWatch struct {
	c           *Conn
	ctx         context.Context
	write       bool
	user        time.Time // the user's deadline, restored by stop
	deadline    time.Time // ctx's deadline, if hasDeadline
	hasDeadline bool
	unregister  func() bool

	// mu orders interrupt against stop: once stop has run, interrupt
	// does nothing, so a cancellation that comes as the operation ends
	// cannot leave a deadline in the past on the connection.
	mu      sync.Mutex
	stopped bool
	fired   bool
}

func (w *ctxWatch) set(t time.Time) {
	if w.write {
		w.c.nc.SetWriteDeadline(t)
	} else {
		w.c.nc.SetReadDeadline(t)
	}
}

// interrupt runs when ctx ends: it makes the blocked operation return.
func (w *ctxWatch) interrupt() {
	w.mu.Lock()
	if !w.stopped {
		w.fired = true
		w.set(time.Unix(1, 0))
	}
	w.mu.Unlock()
}

// stop ends the watch and restores the user's deadline. It reports whether
// ctx ended (or may have ended) the operation. When stop returns,
// interrupt has either finished or will never touch the connection.
func (w *ctxWatch) stop() bool {
	if w == nil {
		return false
	}
	if !w.unregister() {
		// interrupt has started or is about to: wait for it, or keep
		// it from acting.
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	}
	w.set(w.user)
	// The network deadline can expire a moment before ctx notices.
	return w.fired || w.ctx.Err() != nil || (w.hasDeadline && !time.Now().Before(w.deadline))
}

// stopWatch ends a read's watch of ctx. When ctx ended the read, the
// connection, whose stream position is lost, is closed and ctx's error is
// returned.
func (c *Conn) stopWatch(ctx context.Context, w *ctxWatch, err error) error {
	if w == nil || !w.stop() || err == nil {
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

// idleBuf returns the buffer a connection without pending input reads into:
// the small one, or none on a socket, whose reads take a pooled buffer
// once data is there.
func (c *Conn) idleBuf() []byte {
	if c.small == nil {
		return nil
	}
	return c.small[:]
}
