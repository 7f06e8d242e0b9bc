package engineio

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
)

// Session states.
const (
	stateOpen    = iota
	stateClosing // Close was called: a close packet is queued
	stateClosed
)

// Heartbeat phases: what the session's one timer is waiting for.
const (
	phaseInterval = iota // the next ping
	phasePong            // the pong of the ping sent
	phaseClosing         // the client to fetch the close packet
)

// epoch is the origin of the monotonic times kept as int64 nanoseconds.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// Socket is one Engine.IO session. Its methods are safe for concurrent use.
//
// Outgoing packets go through one bounded queue whichever the transport: a
// polling GET takes everything queued when it is answered, and on
// WebSocket a writer goroutine, started when the queue becomes non-empty
// and gone when it is drained, writes them in order. An idle session has no
// goroutine of its own besides the WebSocket read loop, and one timer for
// its heartbeat.
type Socket struct {
	srv *Server
	id  string
	hs  handshakeInfo

	mu        sync.Mutex
	state     uint8
	phase     uint8
	ws        bool // the transport is WebSocket
	b64       bool // binary as base64 text on WebSocket too (b64 query)
	upgrading bool // a probe WebSocket is open
	probed    bool // its probe was answered: GETs are answered at once
	polling   bool // a GET is in flight
	posting   bool // a POST is in flight
	writing   bool // the WebSocket writer goroutine runs
	// final is the packet a pending GET gets when the session ends
	// without one queued: close ('1') when the server ends it, noop ('6')
	// when the client did.
	final   byte
	beating bool // the heartbeat started
	// closeDue and closeDone (below) go with dmu.
	closeDue atomic.Bool
	queue    []*Prepared
	buffered int64
	conn     wsTransport  // the WebSocket transport
	more     *sessionMore // made when first needed
	// data is what the Handler's OpenData returned (see OpenDataHandler),
	// stored once before any Message.
	data   atomic.Value
	reason error
	due    int64 // when the timer's phase is due (nanotime)
	// hbAt and hbIdx are the session's place in the server's heartbeats
	// (guarded by their lock): when its onTimer is due, and its index
	// there plus one (0: not there).
	hbAt  int64
	hbIdx int32

	lastRecv atomic.Int64 // nanotime of the last packet received

	// dmu serialises the calls of the Handler; closeDue asks for the
	// Close call, closeDone records it.
	dmu       sync.Mutex
	closeDone atomic.Bool
	// loopFlags holds flagOnLoop and flagLoopQueued.
	loopFlags atomic.Uint32
	// msgCall is odd while the WebSocket reading goroutine is in
	// Handler.Message: the call's number (msgSeq, under dmu) shifted left,
	// plus one. Unblock clears the bit to detach the call.
	msgCall atomic.Uint64
	msgSeq  uint64
}

// sessionMore is the state of a Socket that a WebSocket session seldom
// uses (an upgrade's probe, the session context, polling's GETs, the
// channel of senders blocked on a full buffer), made
// when first needed (see Socket.extra): an idle WebSocket session is
// smaller without it. Its fields are guarded by Socket.mu.
type sessionMore struct {
	probe      wsTransport // the probe connection of an upgrade
	probeTimer *time.Timer // the probe's UpgradeTimeout
	ctx        context.Context
	cancel     context.CancelCauseFunc
	pollEnd    int64         // when the last GET was answered (nanotime)
	pollWake   chan struct{} // wakes the GET in flight
	drained    chan struct{} // closed when the queue shrinks, for blocked senders
	// loopQ holds the messages an event loop read while another
	// goroutine held dmu, in order (see deliverLoop).
	loopQ []loopMsg
}

// The bits of Socket.loopFlags.
const (
	flagOnLoop     = 1 << iota // an event loop is in Handler.Message
	flagLoopQueued             // more.loopQ is not empty
)

// loopQueued reports whether more.loopQ is not empty.
func (s *Socket) loopQueued() bool { return s.loopFlags.Load()&flagLoopQueued != 0 }

// loopMsg is a message that waits in sessionMore.loopQ for the Handler.
type loopMsg struct {
	typ  ws.MessageType
	data []byte
}

// extra returns s.more, making it if needed; s.mu is held.
func (s *Socket) extra() *sessionMore {
	if s.more == nil {
		s.more = new(sessionMore)
	}
	return s.more
}

// probeConn returns the probe connection of an upgrade, or nil; s.mu is
// held.
func (s *Socket) probeConn() wsTransport {
	if s.more == nil {
		return nil
	}
	return s.more.probe
}

func newSocket(srv *Server, r *http.Request, websocket, b64 bool) *Socket {
	s := &Socket{srv: srv, id: newID(), hs: packRequest(r), ws: websocket, b64: b64}
	s.lastRecv.Store(nanotime())
	return s
}

// Data returns the value the server's Handler attached to the session
// when it opened (see OpenDataHandler), or nil. It is safe to call from
// any goroutine.
func (s *Socket) Data() any { return s.data.Load() }

// ID returns the session id (the sid).
func (s *Socket) ID() string { return s.id }

// Request returns the handshake request: its method, URL and query,
// headers, host, remote address and TLS state; not its body, nor the
// headers of the WebSocket handshake itself (Upgrade, Connection,
// Sec-WebSocket-Key, -Version, -Extensions). Its context is not the
// session's (see Context). The session keeps these in a compact form and
// builds a new Request on each call: keep what you need of it rather than
// calling it often.
func (s *Socket) Request() *http.Request { return s.hs.request() }

// Transport returns the current transport: Polling or WebSocket.
func (s *Socket) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ws {
		return WebSocket
	}
	return Polling
}

// Upgraded reports whether the session moved from polling to WebSocket or
// started there.
func (s *Socket) Upgraded() bool { return s.Transport() == WebSocket }

// Context returns a context that ends when the session closes; its cause
// (context.Cause) is the close reason.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extra()
	if x.ctx == nil {
		x.ctx, x.cancel = context.WithCancelCause(context.Background())
		if s.state == stateClosed {
			x.cancel(s.reason)
		}
	}
	return x.ctx
}

// BufferedAmount returns the bytes queued for the session and not yet
// handed to its transport, or, on the event-loop driver (see LoopMux),
// not yet written to the network.
func (s *Socket) BufferedAmount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending()
}

// pending is BufferedAmount; s.mu is held.
func (s *Socket) pending() int64 {
	n := s.buffered
	if s.ws && s.conn != nil {
		n += s.conn.buffered()
	}
	return n
}

// Writable reports whether a packet queued now would go out at once: on
// WebSocket when nothing is queued ahead of it (on the event-loop driver,
// whose writer never waits, when nothing waits in the connection's send
// queue for the peer to read), on polling when a GET is waiting and
// nothing is queued. Volatile messages are dropped otherwise.
func (s *Socket) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return false
	}
	if l, ok := s.conn.(*loopConn); ok && s.ws {
		return l.buffered() == 0
	}
	if len(s.queue) > 0 {
		return false
	}
	if s.ws {
		return !s.writing
	}
	return s.more != nil && s.more.pollWake != nil
}

// Send queues one message packet: "4" and the text, or a binary message
// (a binary frame on WebSocket, "b" and base64 on polling). data is
// copied. Send blocks while the session's outgoing buffer is over
// Options.MaxBufferedAmount, so that a client that does not read cannot
// make the server buffer without bound, until ctx ends or the session
// closes (ErrClosed). Messages are delivered in the order their Send calls
// returned.
func (s *Socket) Send(ctx context.Context, typ ws.MessageType, data []byte) error {
	p, err := newMessage(typ, data, true)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, true, false, p)
}

// SendPrepared queues several message packets atomically and in order (a
// Socket.IO packet and its binary attachments), blocking as Send does.
func (s *Socket) SendPrepared(ctx context.Context, ps ...*Prepared) error {
	return s.enqueue(ctx, true, false, ps...)
}

// TrySendPrepared queues ps atomically, in order, or nothing, and never
// blocks: it returns ErrBufferFull when the outgoing buffer is over its
// bound and ErrClosed once the session is closing or closed.
func (s *Socket) TrySendPrepared(ps ...*Prepared) error {
	return s.enqueue(context.Background(), false, false, ps...)
}

// WritePrepared queues ps as TrySendPrepared does and then, on WebSocket
// when no writer is at work, writes the queue itself, on the caller's
// goroutine, instead of starting a writer goroutine for it: it returns
// once the packets were handed to the connection (or the transport
// failed, which ends the session). It is for a caller that may wait on the
// network, such as the goroutine that runs a request's handler and sends
// its answer: a round trip then costs no goroutine hand-off. The write
// waits while the peer does not read, bounded as the writer's writes are
// (the WebSocket write timeout, the end of the session). On polling, or
// while another goroutine writes, it is TrySendPrepared.
func (s *Socket) WritePrepared(ps ...*Prepared) error {
	return s.enqueue(context.Background(), false, true, ps...)
}

// enqueue appends ps to the queue, waiting for room if wait is set; with
// write, the caller writes the queue itself when it can (WritePrepared).
func (s *Socket) enqueue(ctx context.Context, wait, write bool, ps ...*Prepared) error {
	if len(ps) == 0 {
		return nil
	}
	var n int64
	for _, p := range ps {
		n += p.size()
	}
	s.mu.Lock()
	for {
		if s.state != stateOpen {
			err := s.closedError()
			s.mu.Unlock()
			return err
		}
		pending := s.pending()
		if pending == 0 || pending+n <= s.srv.maxBuffered {
			break
		}
		if !wait {
			s.mu.Unlock()
			return ErrBufferFull
		}
		m := s.extra()
		if m.drained == nil {
			m.drained = make(chan struct{})
		}
		drained := m.drained
		// The event-loop driver holds what it was handed in its own
		// queue, and tells no one when that drains: a sender waiting
		// for it looks again after a while.
		var recheck *time.Timer
		var rc <-chan time.Time
		if s.buffered == 0 {
			recheck = time.NewTimer(drainRecheck)
			rc = recheck.C
		}
		s.mu.Unlock()
		var err error
		select {
		case <-drained:
		case <-rc:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if recheck != nil {
			recheck.Stop()
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
	}
	if write && s.ws && !s.writing {
		// The caller is the writer: as push, without starting one.
		for _, p := range ps {
			s.buffered += p.size()
		}
		s.queue = append(s.queue, ps...)
		s.writing = true
		t := s.conn
		s.mu.Unlock()
		s.writeLoop(t)
		return nil
	}
	s.push(ps...)
	s.mu.Unlock()
	return nil
}

// drainRecheck is how often a sender blocked on a full buffer looks again
// when what fills it waits in the event-loop driver's queue.
const drainRecheck = 5 * time.Millisecond

// closedError is the error of a send to a session that is not open.
func (s *Socket) closedError() error {
	if s.reason != nil {
		return fmt.Errorf("%w: %w", ErrClosed, s.reason)
	}
	return ErrClosed
}

// push queues packets, regardless of the bound, and gets them moving: it
// wakes the GET in flight or starts the WebSocket writer. s.mu is held.
func (s *Socket) push(ps ...*Prepared) {
	for _, p := range ps {
		s.buffered += p.size()
	}
	s.queue = append(s.queue, ps...)
	s.kick()
}

// kick gets queued packets moving; s.mu is held.
func (s *Socket) kick() {
	if s.ws {
		if !s.writing && len(s.queue) > 0 {
			s.writing = true
			go s.writeLoop(s.conn)
		}
		return
	}
	s.kickPoll()
}

// take removes and returns everything queued; s.mu is held.
func (s *Socket) take() []*Prepared {
	q := s.queue
	s.queue = nil
	s.buffered = 0
	if m := s.more; m != nil && m.drained != nil {
		close(m.drained)
		m.drained = nil
	}
	return q
}

// Close closes the session from the server side: a close packet is queued
// behind what was sent before it, and the session ends (ErrServerClose)
// once the client got it, or after PingInterval+PingTimeout if it does not
// fetch it. Sends fail with ErrClosed from now on. Close may be called
// from inside the Handler's methods, and more than once.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return nil
	}
	s.state = stateClosing
	s.reason = ErrServerClose
	s.push(closePacket)
	d := s.srv.opts.PingInterval + s.srv.opts.PingTimeout
	s.phase = phaseClosing
	s.due = nanotime() + int64(d)
	s.srv.hb.schedule(s, s.due)
	s.mu.Unlock()
	return nil
}

// sent is called after packets were handed to the transport: the close
// packet among them ends a closing session.
func (s *Socket) sent(ps []*Prepared) {
	for _, p := range ps {
		if p == closePacket {
			s.terminate(ErrServerClose, 0, ws.CloseNormal)
			return
		}
	}
}

// terminate ends the session with reason: the GET in flight gets the
// packet final (if not 0), the WebSocket transport and any probe are
// closed with code, blocked senders are released, and Handler.Close is
// called once the Handler is free. It reports whether it ended the
// session (false if it had ended already).
func (s *Socket) terminate(reason error, final byte, code ws.CloseCode) bool {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return false
	}
	s.state = stateClosed
	s.reason = reason
	s.final = final
	s.take()
	s.kickPoll()
	conn, probe := s.conn, s.probeConn()
	if s.more != nil {
		s.more.probe = nil
	}
	s.stopProbeTimer()
	tombstone := reason == ErrClientClose && !s.ws && !s.polling
	if s.beating {
		s.srv.hb.cancel(s)
	}
	if s.more != nil && s.more.cancel != nil {
		s.more.cancel(reason)
	}
	s.mu.Unlock()
	s.srv.forget(s)
	if tombstone {
		s.srv.bury(s.id)
	}
	if conn != nil {
		conn.close(code)
	}
	if probe != nil {
		probe.close(code)
	}
	if l := s.srv.opts.Logger; l != nil {
		l.Debug("engineio: session closed", "sid", s.id, "reason", reason)
	}
	s.closeDue.Store(true)
	if s.dmu.TryLock() {
		s.release()
	}
	return true
}

// deliver hands a message to the Handler, unless the session has ended;
// onLoop says that an event loop calls.
func (s *Socket) deliver(typ ws.MessageType, data []byte, onLoop bool) {
	if onLoop {
		s.deliverLoop(typ, data)
		return
	}
	s.dmu.Lock()
	s.call(typ, data, false)
	s.release()
}

// call makes the Handler's Message call, unless the session has ended;
// dmu is held.
func (s *Socket) call(typ ws.MessageType, data []byte, onLoop bool) {
	if s.closeDue.Load() {
		return
	}
	if onLoop {
		s.loopFlags.Or(flagOnLoop)
	}
	s.srv.handler.Message(s, typ, data)
	if onLoop {
		s.loopFlags.And(^uint32(flagOnLoop))
	}
}

// deliverLoop is deliver for an event loop, which serves many connections
// and must not wait for one: when another goroutine holds dmu (a POST
// whose Message call blocks during an upgrade, say), the message is copied
// into the session's queue, the connection's reading is paused so that
// the queue holds at most one read's worth, and whoever holds dmu makes
// the queued calls, in order, before it lets go (release). A session's
// messages come from one loop at a time, so only this goroutine adds to
// the queue.
func (s *Socket) deliverLoop(typ ws.MessageType, data []byte) {
	if !s.loopQueued() && s.dmu.TryLock() {
		s.call(typ, data, true)
		s.releaseFrom(true)
		return
	}
	s.mu.Lock()
	m := s.extra()
	m.loopQ = append(m.loopQ, loopMsg{typ, bytes.Clone(data)})
	s.loopFlags.Or(flagLoopQueued)
	if l, ok := s.conn.(*loopConn); ok {
		l.c.PauseReading()
	}
	s.mu.Unlock()
	// The holder may have let go before it could see the queue.
	if s.dmu.TryLock() {
		s.releaseFrom(true)
	}
}

// drainLoop makes the Handler's calls for the messages an event loop
// queued (deliverLoop), then resumes the connection's reading; dmu is
// held, onLoop says whether an event loop holds it.
func (s *Socket) drainLoop(onLoop bool) {
	for s.loopQueued() {
		s.mu.Lock()
		q := s.more.loopQ
		s.more.loopQ = nil
		s.loopFlags.And(^uint32(flagLoopQueued))
		l, _ := s.conn.(*loopConn)
		s.mu.Unlock()
		for i := range q {
			s.call(q[i].typ, q[i].data, onLoop)
			q[i].data = nil
		}
		if l != nil && !s.loopQueued() {
			l.c.ResumeReading()
		}
	}
}

// OnEventLoop reports whether the Handler's Message call in progress runs
// on an event loop (the event-loop driver: see LoopMux), which serves
// many connections: the call must not block. Call it from inside Message.
func (s *Socket) OnEventLoop() bool { return s.loopFlags.Load()&flagOnLoop != 0 }

// PauseReading stops reading the session's messages on the event-loop
// driver until ResumeReading: for a Handler that hands them to a bounded
// queue of its own, as Message must not block on the event loop
// (OnEventLoop); it pauses when the queue is full and resumes when it has
// room. Messages already read may still come (at most one read's worth).
// Pause for less than PingTimeout: the pongs are not read either. On the
// goroutine driver and on polling it does nothing: Message may block
// there instead.
func (s *Socket) PauseReading() {
	if l := s.loopTransport(); l != nil {
		l.c.PauseReading()
	}
}

// ResumeReading resumes the reading that PauseReading stopped.
func (s *Socket) ResumeReading() {
	if l := s.loopTransport(); l != nil {
		l.c.ResumeReading()
	}
}

// loopTransport returns the session's WebSocket transport on the
// event-loop driver, or nil.
func (s *Socket) loopTransport() *loopConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, _ := s.conn.(*loopConn)
	return l
}

// deliverRead hands a message read on the WebSocket transport to the
// Handler, as deliver does, and reports whether Unblock detached the call
// meanwhile: then dmu was released for it, another goroutine reads, and the
// caller must stop reading.
func (s *Socket) deliverRead(typ ws.MessageType, data []byte) (detached bool) {
	s.dmu.Lock()
	if !s.closeDue.Load() {
		s.msgSeq++
		call := s.msgSeq<<1 | 1
		s.msgCall.Store(call)
		s.srv.handler.Message(s, typ, data)
		if !s.msgCall.CompareAndSwap(call, 0) {
			return true
		}
	}
	s.release()
	return false
}

// Unblockable reports whether the Handler's Message call in progress can
// be detached by Unblock: it was made by the goroutine that reads the
// WebSocket transport. Call it from inside Message.
func (s *Socket) Unblockable() bool { return s.msgCall.Load()&1 != 0 }

// Unblock detaches the Handler's Message call in progress, if Unblockable,
// so that the session goes on while it takes long: from another goroutine,
// it starts a new goroutine that reads the WebSocket transport and makes
// the next calls of the Handler, which no longer wait for the detached
// one; the goroutine of the detached call stops reading once it returns.
// It reports whether it detached a call. A Handler that runs a request's
// handler inside Message, to answer without a goroutine hand-off, calls
// it when the handler has not returned in a short time (say, it waits for
// the same peer's next message); such a Handler orders its own work from
// then on: Message, and Close too, may now come while the detached call
// still runs.
func (s *Socket) Unblock() bool {
	call := s.msgCall.Load()
	if call&1 == 0 || !s.msgCall.CompareAndSwap(call, call&^1) {
		return false
	}
	// The detached call's roles are ours: reading, and the Handler's lock.
	s.mu.Lock()
	g := s.conn.(*goConn) // only its reading goroutine makes detachable calls
	s.mu.Unlock()
	go s.readLoop(g, false)
	s.release()
	return true
}

// release unlocks dmu, first calling Handler.Close if it is due; it
// checks again after unlocking, so that a close requested while the
// Handler was busy (TryLock failed) is never lost.
func (s *Socket) release() { s.releaseFrom(false) }

// releaseFrom is release; onLoop says whether an event loop calls.
func (s *Socket) releaseFrom(onLoop bool) {
	for {
		s.drainLoop(onLoop)
		if s.closeDue.Load() && s.closeDone.CompareAndSwap(false, true) {
			s.mu.Lock()
			reason := s.reason
			s.mu.Unlock()
			s.srv.handler.Close(s, reason)
			s.srv.ended()
		}
		s.dmu.Unlock()
		// A close asked for, or a message an event loop queued, while
		// dmu was held: take it again for them, unless another goroutine
		// has (it will see them).
		closing := s.closeDue.Load() && !s.closeDone.Load()
		if !closing && !s.loopQueued() || !s.dmu.TryLock() {
			return
		}
	}
}

// startHeartbeat arms the heartbeat: the first ping is due PingInterval
// after the handshake (protocol v4, "Heartbeat"), sent from start on.
func (s *Socket) startHeartbeat(start int64) {
	s.mu.Lock()
	s.phase = phaseInterval
	s.due = start + int64(s.srv.opts.PingInterval)
	s.beating = true
	s.srv.hb.schedule(s, s.due)
	s.mu.Unlock()
}

// onTimer runs the heartbeat's phase that is due: send a ping and wait
// PingTimeout for its pong; or close the session when no packet came in
// that time (any packet extends it, as in the reference server); or end a
// server close whose packet was not fetched.
func (s *Socket) onTimer() {
	s.mu.Lock()
	now := nanotime()
	if s.state == stateClosed || now < s.due {
		// Ended, or a stale run: the timer was reset meanwhile.
		s.mu.Unlock()
		return
	}
	switch s.phase {
	case phaseInterval:
		s.ping(now)
		s.mu.Unlock()
	case phasePong:
		timeout := int64(s.srv.opts.PingTimeout)
		if last := s.lastRecv.Load(); now-last < timeout {
			s.due = last + timeout
			s.srv.hb.schedule(s, s.due)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		// A peer that does not answer may not read either: TCP is
		// closed without a close handshake.
		s.terminate(ErrPingTimeout, packetClose, 0)
	case phaseClosing:
		s.mu.Unlock()
		s.terminate(ErrServerClose, packetClose, ws.CloseNormal)
	}
}

// ping sends the ping that is due (phase interval, s.due <= now) and
// starts the wait for its pong; s.mu is held. The client has PingTimeout
// to answer from the moment the ping is available to it (protocol v4,
// "Heartbeat"), whether the timer ran on time or late (as timers do on a
// busy machine): on WebSocket, or with a GET in flight, that is now. A
// polling client with no GET in flight would have found the ping queued
// since its due time, or since the end of its last GET if that was later:
// its wait counts from then, so that a late timer gives a silent client
// no more time than a punctual one would.
func (s *Socket) ping(now int64) {
	from := now
	if !s.ws && !s.polling {
		from = s.due
		if s.more != nil {
			from = max(from, s.more.pollEnd)
		}
	}
	s.phase = phasePong
	s.due = from + int64(s.srv.opts.PingTimeout)
	s.srv.hb.schedule(s, s.due)
	s.push(pingPacket)
}

// overdue runs the heartbeat as its timer would have if it is late (timers
// run late on a busy machine): it sends a ping that is due, and ends the
// session if its pong is overdue. It reports whether the session has
// ended. Requests of a session check it first, so that a client cannot use
// a session past its deadline, nor be refused before it.
func (s *Socket) overdue() bool {
	s.mu.Lock()
	now := nanotime()
	if s.state == stateOpen && s.beating && s.phase == phaseInterval && now >= s.due {
		s.ping(now)
	}
	closed := s.state == stateClosed
	late := !closed && s.phase == phasePong && now >= s.due &&
		now-s.lastRecv.Load() >= int64(s.srv.opts.PingTimeout)
	s.mu.Unlock()
	if late {
		s.terminate(ErrPingTimeout, packetClose, 0)
	}
	return closed || late
}

// received notes a packet from the client, for the ping timeout.
func (s *Socket) received() { s.lastRecv.Store(nanotime()) }

// onPong restarts the ping interval (protocol v4, "Heartbeat").
func (s *Socket) onPong() {
	d := s.srv.opts.PingInterval
	s.mu.Lock()
	if s.state == stateOpen {
		s.phase = phaseInterval
		s.due = nanotime() + int64(d)
		s.srv.hb.schedule(s, s.due)
	}
	s.mu.Unlock()
}

// onPacket handles a packet received on the current transport; it
// reports whether the session goes on.
func (s *Socket) onPacket(p packet) bool { return s.onPacketFrom(p, fromHTTP) }

// Where a packet comes from.
const (
	fromHTTP   = iota // a POST
	fromReader        // the goroutine driver's reading goroutine
	fromLoop          // an event loop
)

// onPacketFrom is onPacket; from says who calls: the goroutine driver's
// reading goroutine stops when it gets false (the session ended, or
// Unblock detached the Handler's call), and an event loop marks the
// Handler's call (OnEventLoop).
func (s *Socket) onPacketFrom(p packet, from uint8) bool {
	s.received()
	s.mu.Lock()
	open := s.state == stateOpen
	s.mu.Unlock()
	if !open {
		// Closing or closed: what the client sends now is dropped, as in
		// the reference server.
		return false
	}
	switch p.kind {
	case packetMessage:
		switch from {
		case fromReader:
			if s.deliverRead(p.typ, p.data) {
				return false
			}
		default:
			s.deliver(p.typ, p.data, from == fromLoop)
		}
	case packetPong:
		s.onPong()
	case packetClose:
		// The client closes: a pending GET is ended with a noop.
		s.terminate(ErrClientClose, packetNoop, ws.CloseNormal)
		return false
	case packetPing:
		// Protocol v4: only the server pings ("invalid heartbeat
		// direction" in the reference).
		s.terminate(fmt.Errorf("%w: ping from the client (invalid heartbeat direction)", ErrTransportError), packetClose, ws.ClosePolicyViolation)
		return false
	}
	// open, upgrade and noop packets mean nothing here and are ignored, as
	// in the reference server.
	return true
}

// open runs the start of a session: registration, the handshake packet
// (written by write, which returns false when it failed), the heartbeat,
// and Handler.Open before any message. It reports whether the session
// started.
func (s *Socket) open(write func() bool) bool {
	s.dmu.Lock()
	if !s.srv.register(s) {
		s.dmu.Unlock()
		return false
	}
	// The heartbeat counts from before the handshake is written, so that
	// the first ping is due PingInterval after the client can have it,
	// not later; its timer starts after, so that no ping precedes it.
	start := nanotime()
	if !write() {
		s.terminate(ErrTransportError, 0, 0)
	} else {
		s.startHeartbeat(start)
	}
	// Open comes first even then, so that every Close has its Open.
	if s.srv.dataHandler != nil {
		if v := s.srv.dataHandler.OpenData(s); v != nil {
			s.data.Store(v)
		}
	} else {
		s.srv.handler.Open(s)
	}
	s.release()
	return true
}
