//go:build linux

package loop

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/internal/grow"
	"github.com/rfc6455/ws/wsproto"
)

// readBufSize is the size of an event loop's read buffer, shared by all its
// connections: a connection holds no read buffer of its own.
const readBufSize = 64 << 10

// readsPerEvent bounds the reads one connection gets per turn of its loop,
// so that a fast sender cannot starve the others; it goes on at the next
// turn.
const readsPerEvent = 16

// evloop is an event loop: one goroutine waiting in epoll_wait for the
// sockets of its connections and serving them one event at a time.
type evloop struct {
	srv    *Server
	p      *poller
	conns  []*Conn // by file descriptor
	n      int     // connections
	events []syscall.EpollEvent
	buf    []byte // the read buffer
	worked bool   // the last wait returned events (see run)
	timers timerHeap
	now    int64   // nanoseconds since srv.start, read once per turn
	ready  []*Conn // connections with input left to read

	// busy are the connections that may hold buffers or a compressor
	// between messages (see sweep); nextSweep is when it runs next.
	busy      []*Conn
	nextSweep int64

	taskMu sync.Mutex
	tasks  []task
	spare  []task
	quit   bool // guarded by taskMu
	done   chan struct{}
}

// A task is work handed to a loop by another goroutine.
type task struct {
	kind uint8
	c    *Conn
	wg   *sync.WaitGroup // Done once the task has run, if not nil
}

const (
	taskAdd            uint8 = iota // a connection accepted
	taskAdvance                     // a connection's close was started: arm its timer
	taskShutdown                    // Shutdown: close every open connection with 1001
	taskDropHandshakes              // Shutdown: close the connections in their handshake
	taskTerminate                   // Shutdown's context ended: close every connection now
	taskWatch                       // a connection took a compressor: sweep it
	taskResume                      // ResumeReading: read the connection again
)

// evconn is the event loop's part of a Conn.
type evconn struct {
	fd    int32
	tidx  int32  // place in the loop's timer heap; -1 when none
	when  int64  // the deadline, on the loop's clock
	tkind uint8  // what the deadline is for
	st    uint8  // guarded by mu; written only by the loop
	sf    uint8  // flags guarded by mu
	lf    uint16 // flags of the loop's own, unguarded

	// The peer's TCP address as accept(2) gave it, for RemoteAddr once
	// the socket is gone (getpeername(2) fails on a reset connection);
	// zero for other sockets.
	peerPort uint16
	peerIP   [16]byte

	in  []byte       // the request head so far, while the handshake is on
	msg *[]byte      // the message being collected (pooled), when it spans reads
	out outq         // guarded by mu
	pc  wsproto.Conn // Receiver: the loop's; Sender: guarded by mu
	sub string       // the subprotocol, set before OnOpen

	// end is how the protocol ended the connection (the peer's close, a
	// broken rule); the loop's.
	end error
}

// Connection states.
const (
	stHandshake uint8 = iota
	stOpen
	stClosed
)

// Flags guarded by mu.
const (
	sfBroken     uint8 = 1 << iota // the socket failed or CloseNow was called: nothing more is written
	sfAdvance                      // a taskAdvance is posted
	sfWatched                      // the loop sweeps the connection's compressor (taskWatch posted)
	sfCompressed                   // compressed a message since the last sweep
	sfHold                         // PauseReading was called: nothing is read until ResumeReading
	sfCork                         // SendPreparedBatch is queueing: written together at its end
	sfFdOpen                       // closed, but the socket stays open while OnClose runs, for its addresses
)

// Flags of the loop.
const (
	lfPaused     uint16 = 1 << iota // reading is paused: too much waits to be written
	lfReady                         // in the ready list
	lfNoRead                        // nothing more is read: the connection closes once its queue is out
	lfClosing                       // a close frame was sent or received
	lfHalfClosed                    // the socket was shut down for writing
	lfHup                           // the peer's end is pending: read until it is seen
	lfBusy                          // in the loop's busy list
	lfDeflate                       // permessage-deflate is on: the core keeps buffers between messages
	lfActive                        // had input since the last sweep
	lfHeld                          // PauseReading holds the reading (seen after an input; see afterInput)
)

// newLoops starts n event loops.
func (s *Server) newLoops(n int) error {
	for range n {
		p, err := newPoller()
		if err != nil {
			for _, lp := range s.loops {
				lp.stop()
			}
			s.loops = nil
			return err
		}
		lp := &evloop{
			srv:    s,
			p:      p,
			events: make([]syscall.EpollEvent, 256),
			buf:    make([]byte, s.readSize()),
			done:   make(chan struct{}),
		}
		s.loops = append(s.loops, lp)
		go lp.run()
	}
	return nil
}

// readSize is the loops' read buffer size (smaller in tests).
func (s *Server) readSize() int {
	if s.testReadSize > 0 {
		return s.testReadSize
	}
	return readBufSize
}

// post hands t to the loop.
func (lp *evloop) post(t task) {
	lp.taskMu.Lock()
	lp.tasks = append(lp.tasks, t)
	lp.taskMu.Unlock()
	lp.p.wake()
}

// stop ends the loop once it has closed what is left, and waits for it.
func (lp *evloop) stop() {
	lp.taskMu.Lock()
	lp.quit = true
	lp.taskMu.Unlock()
	lp.p.wake()
	<-lp.done
}

func (lp *evloop) clock() int64 { return int64(time.Since(lp.srv.start)) }

// run is the loop's goroutine.
func (lp *evloop) run() {
	defer close(lp.done)
	defer lp.p.close()
	evfd := int32(lp.p.evfd)
	for {
		msec := -1
		if len(lp.ready) > 0 {
			msec = 0
		} else {
			when, ok := lp.timers.next()
			if len(lp.busy) > 0 && (!ok || lp.nextSweep < when) {
				when, ok = lp.nextSweep, true
			}
			if ok {
				d := when - lp.clock()
				msec = int(max((d+int64(time.Millisecond)-1)/int64(time.Millisecond), 0))
			}
		}
		if msec != 0 && lp.worked && lp.srv.YieldBeforeWait {
			// Let the goroutines this round readied (a handler's
			// worker, say) run on this P before the loop blocks in
			// epoll_wait, which holds the P until sysmon retakes it.
			runtime.Gosched()
		}
		n, err := lp.p.wait(lp.events, msec)
		lp.worked = n > 0
		if err != nil {
			lp.srv.logger().Error("loop: epoll_wait failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		lp.now = lp.clock()
		for i := range n {
			ev := &lp.events[i]
			if ev.Fd == evfd {
				lp.p.woke()
				continue
			}
			if int(ev.Fd) >= len(lp.conns) {
				continue
			}
			if c := lp.conns[ev.Fd]; c != nil {
				lp.handle(c, ev.Events)
			}
		}
		if lp.runTasks() {
			lp.closeAll()
			return
		}
		lp.runTimers()
		lp.runReady()
		if len(lp.busy) > 0 && lp.now >= lp.nextSweep {
			lp.sweep()
		}
	}
}

// sweepPeriod is how often a loop looks at its busy connections: one quiet
// for a whole period (between one and two periods: 0.5 to 1 s, as ws.Conn's
// janitor) gives back what it holds between messages.
const sweepPeriod = int64(500 * time.Millisecond)

// setBusy puts c in the busy list, if it is not there. The sweep starts a
// period after the list stops being empty.
func (lp *evloop) setBusy(c *Conn) {
	if c.lf&lfBusy == 0 {
		if len(lp.busy) == 0 {
			lp.nextSweep = lp.now + sweepPeriod
		}
		c.lf |= lfBusy
		lp.busy = append(lp.busy, c)
	}
}

// sweep gives back what the quiet connections of the busy list hold
// between messages: the protocol core's assembly and inflate buffers
// (Receiver.Release) for one that had no input since the last sweep, and
// the compressor, keeping only its history (Sender.ParkCompressor), for
// one that compressed nothing since then, as ws.Conn's janitor does. A
// connection stays in the list while it holds either.
func (lp *evloop) sweep() {
	lp.nextSweep = lp.now + sweepPeriod
	keep := lp.busy[:0]
	for _, c := range lp.busy {
		if c.st == stClosed {
			c.lf &^= lfBusy | lfActive
			continue
		}
		busy := false
		if c.lf&lfActive != 0 {
			c.lf &^= lfActive
			busy = true
		} else if !c.pc.InMessage() {
			c.pc.Release()
		} else {
			busy = true // a message half received keeps its buffer
		}
		c.mu.Lock()
		if c.sf&sfWatched != 0 {
			if c.sf&sfCompressed != 0 {
				c.sf &^= sfCompressed
				busy = true
			} else {
				c.pc.ParkCompressor(true)
				c.sf &^= sfWatched
			}
		}
		c.mu.Unlock()
		if busy {
			keep = append(keep, c)
		} else {
			c.lf &^= lfBusy
		}
	}
	clear(lp.busy[len(keep):])
	lp.busy = keep
	if len(keep) == 0 && cap(keep) > 1024 {
		lp.busy = nil
	}
}

// handle serves the events of one connection.
func (lp *evloop) handle(c *Conn, events uint32) {
	if events&syscall.EPOLLOUT != 0 {
		lp.writable(c)
		if c.st == stClosed {
			return
		}
	}
	if events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		// The peer's end (or an error) is pending: reads go on until
		// they see it, since no new event will come for it.
		c.lf |= lfHup
	}
	if events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		lp.read(c)
	}
}

// runTasks runs the tasks posted; it reports whether the loop must stop.
func (lp *evloop) runTasks() bool {
	lp.taskMu.Lock()
	tasks := lp.tasks
	lp.tasks = lp.spare[:0]
	quit := lp.quit
	lp.taskMu.Unlock()
	for i, t := range tasks {
		switch t.kind {
		case taskAdd:
			lp.add(t.c)
		case taskAdvance:
			t.c.mu.Lock()
			t.c.sf &^= sfAdvance
			t.c.mu.Unlock()
			lp.advance(t.c)
		case taskShutdown:
			lp.shutdown()
		case taskDropHandshakes:
			lp.dropHandshakes()
		case taskTerminate:
			lp.terminate()
		case taskWatch:
			if t.c.st != stClosed {
				lp.setBusy(t.c)
			}
		case taskResume:
			if t.c.st != stClosed {
				t.c.lf &^= lfHeld
				lp.setReady(t.c)
			}
		}
		if t.wg != nil {
			t.wg.Done()
		}
		tasks[i] = task{}
	}
	if cap(tasks) <= 1024 {
		lp.spare = tasks[:0]
	} else {
		lp.spare = nil
	}
	return quit
}

// add registers a connection accepted by the accept goroutine.
func (lp *evloop) add(c *Conn) {
	fd := int(c.fd)
	if fd >= len(lp.conns) {
		n := max(2*len(lp.conns), fd+1, 64)
		conns := make([]*Conn, n)
		copy(conns, lp.conns)
		lp.conns = conns
	}
	lp.conns[fd] = c
	lp.n++
	if err := lp.p.add(fd); err != nil {
		lp.finish(c, err)
		return
	}
	lp.timers.set(c, timerHandshake, lp.now+int64(lp.srv.handshakeTimeout()))
}

// shutdown closes every open connection with 1001.
func (lp *evloop) shutdown() {
	for _, c := range lp.conns {
		if c != nil && c.st == stOpen {
			c.evClose(ws.CloseGoingAway, shutdownReason, ErrShutdown, false)
			lp.advance(c)
		}
	}
}

// dropHandshakes gives the connections still in their handshake a second
// more at most (after every loop sent its 1001s: those go out first): a
// request already on its way is answered 503, a connection that sends
// none (a browser opens spare ones in advance) is closed.
func (lp *evloop) dropHandshakes() {
	grace := lp.now + int64(shutdownGrace)
	for _, c := range lp.conns {
		if c != nil && c.st == stHandshake && c.when > grace {
			lp.timers.set(c, timerHandshake, grace)
		}
	}
}

// terminate closes every connection at once.
func (lp *evloop) terminate() {
	for _, c := range lp.conns {
		if c != nil {
			lp.finish(c, ErrShutdown)
		}
	}
}

// closeAll closes what is left when the loop stops.
func (lp *evloop) closeAll() {
	lp.terminate()
}

// runTimers fires the deadlines that have passed.
func (lp *evloop) runTimers() {
	for {
		c := lp.timers.pop(lp.now)
		if c == nil {
			return
		}
		kind := c.tkind
		c.tkind = timerNone
		switch kind {
		case timerHandshake:
			lp.finish(c, ErrHandshakeTimeout)
		case timerPing:
			lp.heartbeatPing(c)
		case timerPong:
			c.mu.Lock()
			c.setWhy(ErrPongTimeout)
			c.mu.Unlock()
			lp.finish(c, ErrPongTimeout)
		case timerClose:
			err := c.end
			if err == nil {
				err = ws.ErrCloseTimeout
			}
			lp.finish(c, err)
		}
	}
}

// runReady reads the connections that had more to read.
func (lp *evloop) runReady() {
	ready := lp.ready
	lp.ready = nil
	for i, c := range ready {
		ready[i] = nil
		c.lf &^= lfReady
		if c.st != stClosed {
			lp.read(c)
		}
	}
	if lp.ready == nil && cap(ready) <= 1024 {
		lp.ready = ready[:0]
	}
}

// setReady puts c in the ready list.
func (lp *evloop) setReady(c *Conn) {
	if c.lf&lfReady == 0 {
		c.lf |= lfReady
		lp.ready = append(lp.ready, c)
	}
}

// read reads what c's socket holds and handles it.
func (lp *evloop) read(c *Conn) {
	for range readsPerEvent {
		// A connection that PauseReading holds is read on once it is
		// closing: its closing handshake needs it.
		if c.st == stClosed || c.lf&(lfPaused|lfNoRead) != 0 || c.lf&(lfHeld|lfClosing) == lfHeld {
			return
		}
		n, err := syscall.Read(int(c.fd), lp.buf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return
		}
		if n <= 0 {
			if err == nil {
				err = io.EOF
			}
			lp.eof(c, err)
			return
		}
		if c.st == stHandshake {
			lp.handshake(c, lp.buf[:n])
		} else {
			lp.feed(c, lp.buf[:n])
		}
		if n < len(lp.buf) && c.lf&lfHup == 0 {
			// A short read: the socket's receive queue is empty
			// (epoll(7)), and the next data brings a new event.
			return
		}
	}
	lp.setReady(c)
}

// eof ends a connection whose socket read returned end of file or failed.
func (lp *evloop) eof(c *Conn, err error) {
	if c.st == stOpen && c.end == nil {
		c.mu.Lock()
		aw := c.pc.Await()
		c.mu.Unlock()
		if aw == wsproto.AwaitFrames || aw == wsproto.AwaitClose {
			// RFC 6455 §7.1.5: closed without a close frame: 1006.
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			err = &abnormalError{err}
		}
	}
	if c.end != nil {
		err = c.end
	}
	lp.finish(c, err)
}

// feed hands input to c's protocol core and acts on its events.
func (lp *evloop) feed(c *Conn, b []byte) {
	for len(b) > 0 {
		ev, n := c.pc.Feed(b)
		b = b[n:]
		if ev.Kind == wsproto.None {
			continue
		}
		lp.event(c, ev)
		if c.st == stClosed {
			return
		}
	}
	// The core's buffers stay for the next message while input comes;
	// the sweep releases them once the connection is quiet.
	if c.lf&lfDeflate != 0 {
		c.lf |= lfActive
		lp.setBusy(c)
	}
	lp.afterInput(c)
}

// event acts on one event of the core.
func (lp *evloop) event(c *Conn, ev wsproto.Event) {
	switch ev.Kind {
	case wsproto.Data:
		lp.data(c, ev)
	case wsproto.Message:
		c.callMessage(ws.MessageType(ev.Type), ev.Payload)
	case wsproto.Ping:
		c.reply(ev)
		c.callPing(ev.Payload)
	case wsproto.Pong:
		if c.tkind == timerPong {
			// The heartbeat's ping was answered (any pong will do:
			// RFC 6455 §5.5.3 allows unsolicited ones, which also
			// show the peer alive). The next ping goes out an
			// interval after this one went.
			c.mu.Lock()
			p := c.policy
			c.mu.Unlock()
			sent := c.when - int64(p.pongTimeout())
			lp.timers.set(c, timerPing, max(sent+int64(p.PingInterval), lp.now))
			c.callHeartbeat()
		}
		c.callPong(ev.Payload)
	case wsproto.Close:
		c.end = &ws.CloseError{Code: ev.Code, Reason: ev.Reason}
		c.reply(ev)
		lp.advance(c)
	case wsproto.Failed:
		c.end = ev.Err
		c.reply(ev)
		lp.advance(c)
	}
}

// data collects a chunk of an uncompressed message (the core reports them
// as Data events: see the handshake's configuration). A message whole in
// one read goes to OnMessage from the read buffer, without a copy; one that
// spans reads is collected in a pooled buffer, grown by internal/grow's
// rule from what has arrived (never from what a header announces), and
// given back once OnMessage returned: no allocation per message, and no
// buffer kept by a connection between messages.
func (lp *evloop) data(c *Conn, ev wsproto.Event) {
	if ev.Final && c.msg == nil {
		c.callMessage(ws.MessageType(ev.Type), ev.Payload)
		return
	}
	if len(ev.Payload) > 0 {
		c.collect(ev.Payload)
	}
	if !ev.Final {
		return
	}
	b := c.msg
	c.msg = nil
	if b != nil {
		c.callMessage(ws.MessageType(ev.Type), *b)
		putBuf(b)
	}
}

// collect appends a chunk of the current message to c.msg. The most it
// may grow to is the rest of the frame when it is the last one, or what
// the read limit still allows (the wsproto core's rule for its own
// assembly buffer).
func (c *Conn) collect(pl []byte) {
	b := c.msg
	n := 0
	if b != nil {
		n = len(*b)
	}
	if b == nil || cap(*b)-n < len(pl) {
		rem := c.pc.DataRemaining() + int64(len(pl))
		most := int64(-1)
		if c.pc.Receiver.Header().Fin {
			most = rem
		} else if lim := c.pc.MessageLimit(); lim > 0 {
			most = max(lim-int64(n), rem)
		}
		nb := getBuf(int(grow.Cap(int64(n), int64(len(pl)), most)))
		if b != nil {
			*nb = append(*nb, *b...)
			putBuf(b)
		}
		b = nb
		c.msg = b
	}
	*b = append(*b, pl...)
}

// afterInput pauses reading while too much waits to be written, and
// holds it when PauseReading was called (from OnMessage, or from another
// goroutine since the last input: at most one more read's worth comes).
func (lp *evloop) afterInput(c *Conn) {
	c.mu.Lock()
	queued := c.out.bytes
	hold := c.sf&sfHold != 0
	c.mu.Unlock()
	if queued > lp.srv.pauseBytes() {
		c.lf |= lfPaused
	}
	if hold {
		c.lf |= lfHeld
	}
}

// advance acts on what the core waits for once a close frame was sent or
// received.
func (lp *evloop) advance(c *Conn) {
	if c.st != stOpen {
		return
	}
	c.mu.Lock()
	aw := c.pc.Await()
	empty := c.out.empty()
	c.mu.Unlock()
	if aw == wsproto.AwaitFrames {
		return
	}
	c.lf |= lfClosing
	switch aw {
	case wsproto.CloseNow:
		// RFC 6455 §7.1.1: the server closes TCP first, once its
		// close frame is out.
		c.lf |= lfNoRead
		if empty {
			lp.finish(c, c.end)
			return
		}
	case wsproto.AwaitEOF:
		// The connection was failed (RFC 6455 §7.1.7): once the close
		// frame is out, half-close, so that the peer sees the end,
		// and drain the input until the peer closes too, so that the
		// close frame is not lost to a reset.
		if empty && c.lf&lfHalfClosed == 0 {
			c.lf |= lfHalfClosed
			syscall.Shutdown(int(c.fd), syscall.SHUT_WR)
		}
	}
	if c.tkind != timerClose {
		lp.timers.set(c, timerClose, lp.now+int64(lp.srv.closeTimeout()))
	}
}

// writable writes what c's queue holds, now that its socket has room.
func (lp *evloop) writable(c *Conn) {
	c.mu.Lock()
	if c.st == stClosed {
		c.mu.Unlock()
		return
	}
	wrote := !c.out.empty()
	if wrote {
		c.flushLocked()
	}
	queued := c.out.bytes
	broken := c.sf&sfBroken != 0
	c.mu.Unlock()
	if wrote && c.lf&lfClosing != 0 {
		lp.advance(c)
		if c.st == stClosed {
			return
		}
	}
	// Reading resumes once the queue is short again, also when another
	// goroutine emptied it (CloseDiscard, CloseNow): a connection whose
	// socket was shut down must be read to see its end, or it is never
	// closed.
	if c.lf&lfPaused != 0 && (queued <= lp.srv.pauseBytes()/2 || broken) {
		c.lf &^= lfPaused
		lp.setReady(c)
	}
}

// finish closes c's socket and, for a connection that was open, calls
// OnClose with the reason (the one the server recorded first).
func (lp *evloop) finish(c *Conn, err error) {
	c.mu.Lock()
	if c.st == stClosed {
		c.mu.Unlock()
		return
	}
	wasOpen := c.st == stOpen
	c.st = stClosed
	if wasOpen {
		// The socket stays open until OnClose returns, so that
		// RemoteAddr and LocalAddr still answer there (the descriptor
		// cannot be reused meanwhile; the loop polls nothing while
		// OnClose runs on it).
		c.sf |= sfFdOpen
	} else {
		syscall.Close(int(c.fd))
	}
	c.out.drop(c)
	if c.why != nil {
		err = c.why
	}
	c.pc.ParkCompressor(false)
	c.mu.Unlock()
	lp.conns[c.fd] = nil
	lp.n--
	lp.timers.stop(c)
	c.in = nil
	putBuf(c.msg)
	c.msg = nil
	c.pc.Release()
	if wasOpen {
		c.callClose(err)
		c.mu.Lock()
		c.sf &^= sfFdOpen
		syscall.Close(int(c.fd))
		c.mu.Unlock()
	}
	lp.srv.doneConn()
}

// heartbeatPing sends the heartbeat's ping and arms the pong deadline.
func (lp *evloop) heartbeatPing(c *Conn) {
	c.mu.Lock()
	p := c.policy
	err := c.controlLocked(func(b []byte) ([]byte, error) { return c.pc.AppendPing(b, nil) })
	c.mu.Unlock()
	if err != nil {
		return // closing: the close timer runs
	}
	lp.timers.set(c, timerPong, lp.now+int64(p.pongTimeout()))
}

// startHeartbeat arms the first heartbeat ping of a connection just
// opened, if its policy has one.
func (lp *evloop) startHeartbeat(c *Conn) {
	c.mu.Lock()
	p := c.policy
	c.mu.Unlock()
	if p.PingInterval > 0 && c.st == stOpen && c.tkind == timerNone {
		lp.timers.set(c, timerPing, lp.now+int64(p.PingInterval))
	}
}

// abnormalError reports a connection that ended without a close frame
// (close code 1006, RFC 6455 §7.1.5).
type abnormalError struct{ err error }

func (e *abnormalError) Error() string {
	return "loop: connection closed abnormally (1006): " + e.err.Error()
}
func (e *abnormalError) Unwrap() error     { return e.err }
func (e *abnormalError) CloseCode() uint16 { return uint16(ws.CloseAbnormal) }

// Methods of Conn on the event loop.

func (c *Conn) evPause() {
	c.mu.Lock()
	c.sf |= sfHold
	c.mu.Unlock()
}

func (c *Conn) evResume() {
	c.mu.Lock()
	held := c.sf&sfHold != 0
	c.sf &^= sfHold
	open := c.st != stClosed
	c.mu.Unlock()
	if held && open {
		c.lp.post(task{kind: taskResume, c: c})
	}
}

// evSend queues a message; pm, if not nil, is the prepared message whose
// payload data is.
func (c *Conn) evSend(typ ws.MessageType, data []byte, pm *ws.PreparedMessage) error {
	c.mu.Lock()
	full, err := c.sendLocked(typ, data, pm)
	p := c.policy
	c.mu.Unlock()
	if full {
		return c.overflow(p)
	}
	return err
}

// sendLocked is evSend with c.mu held; full reports a message the queue
// cannot take (the caller applies the overflow policy without c.mu).
func (c *Conn) sendLocked(typ ws.MessageType, data []byte, pm *ws.PreparedMessage) (full bool, err error) {
	if c.st != stOpen || c.sf&sfBroken != 0 || c.pc.CloseSent() {
		return false, ErrClosed
	}
	if !fits(c.policy, c.out.msgs, c.buffered.Load(), int64(len(data))) {
		return true, ErrQueueFull
	}
	if pm != nil {
		if wire, ok := pm.Frame(&c.pc.Sender); ok {
			// Encoded (and compressed) once for every connection.
			c.writeLocked(wire, nil, int64(len(data)), 1)
			return false, nil
		}
	}
	return false, c.messageLocked(typ, data)
}

// evSendBatch queues pms with the socket's writes held back, then writes
// the queue: one writev(2) for as much as the socket takes.
func (c *Conn) evSendBatch(pms []*ws.PreparedMessage) error {
	c.mu.Lock()
	c.sf |= sfCork
	var err error
	full := false
	for _, pm := range pms {
		if full, err = c.sendLocked(pm.Type(), pm.Data(), pm); err != nil {
			break
		}
	}
	c.sf &^= sfCork
	if !c.out.empty() && c.sf&sfBroken == 0 {
		c.flushLocked()
	}
	p := c.policy
	c.mu.Unlock()
	if full {
		return c.overflow(p)
	}
	return err
}

// messageLocked encodes a message and writes it, or queues what the
// socket did not take; c.mu is held.
func (c *Conn) messageLocked(typ ws.MessageType, data []byte) error {
	payload := data
	var scratch *[]byte
	compressed := c.pc.Compresses(len(data))
	if compressed {
		scratch = getBuf(len(data)/2 + 64)
		payload = c.pc.Compress((*scratch)[:0], data)
		c.watchCompressorLocked()
	}
	h, err := c.pc.Sender.Header(opcode(typ), true, compressed, len(payload))
	if err != nil {
		putBuf(scratch)
		return ErrClosed
	}
	var hb [maxHeaderSize]byte
	hdr := appendHeader(hb[:0], h)
	c.writeLocked(hdr, payload, int64(len(data)), 1)
	if scratch != nil {
		*scratch = payload[:0]
		putBuf(scratch)
	}
	return nil
}

// watchCompressorLocked has the loop sweep a connection that holds a
// compressor with context takeover (see evloop.sweep); c.mu is held.
func (c *Conn) watchCompressorLocked() {
	if !c.pc.HoldsCompressor() {
		return
	}
	c.sf |= sfCompressed
	if c.sf&sfWatched == 0 {
		c.sf |= sfWatched
		c.lp.post(task{kind: taskWatch, c: c})
	}
}

// controlLocked appends a control frame made by enc and writes it; c.mu is
// held.
func (c *Conn) controlLocked(enc func([]byte) ([]byte, error)) error {
	if c.st != stOpen || c.sf&sfBroken != 0 {
		return ErrClosed
	}
	var b [maxControlFrame]byte
	fr, err := enc(b[:0])
	if err != nil {
		return err
	}
	c.writeLocked(fr, nil, 0, 0)
	return nil
}

// reply sends what the core's event calls for (a pong, a close).
func (c *Conn) reply(ev wsproto.Event) {
	c.mu.Lock()
	if c.st == stOpen && c.sf&sfBroken == 0 {
		var b [maxControlFrame]byte
		if fr := c.pc.AppendReply(b[:0], ev); len(fr) > 0 {
			c.writeLocked(fr, nil, 0, 0)
		}
	}
	c.mu.Unlock()
}

// writeLocked writes a frame (its header, or all of it, in hdr, and the
// rest in payload) at once if nothing is queued, and queues what the
// socket does not take. pay and msgs are what the frame counts for in
// BufferedAmount and the queue's bound. c.mu is held.
func (c *Conn) writeLocked(hdr, payload []byte, pay int64, msgs int) {
	if c.sf&sfBroken != 0 {
		return
	}
	if c.out.empty() && c.sf&sfCork == 0 {
		n, err := writev2(int(c.fd), hdr, payload)
		if err != nil && err != syscall.EAGAIN {
			c.brokenLocked()
			return
		}
		if n == len(hdr)+len(payload) {
			return
		}
		if n < len(hdr) {
			hdr = hdr[n:]
		} else {
			payload = payload[n-len(hdr):]
			hdr = nil
		}
		c.out.push(hdr, payload, pay, msgs)
		// The frame has begun on the wire: CloseDiscard must not
		// drop its rest, or the close frame would land inside its
		// payload.
		c.out.began = n > 0
		c.buffered.Add(pay)
		return
	}
	c.out.push(hdr, payload, pay, msgs)
	c.buffered.Add(pay)
}

// flushLocked writes the queue until it is empty or the socket is full;
// c.mu is held.
func (c *Conn) flushLocked() {
	for !c.out.empty() {
		var iov [64]syscall.Iovec
		k, total := c.out.iovecs(iov[:])
		n, err := writev(int(c.fd), iov[:k])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return
		}
		if err != nil {
			c.brokenLocked()
			return
		}
		c.buffered.Add(-c.out.advance(n))
		if n < total {
			return
		}
	}
}

// brokenLocked gives up writing to a socket that failed: the queue is
// dropped and the socket shut down, so that the loop sees its end and
// closes it. c.mu is held.
func (c *Conn) brokenLocked() {
	if c.sf&sfBroken != 0 {
		return
	}
	c.sf |= sfBroken
	c.out.drop(c)
	syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
}

func (c *Conn) evPing(payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc.CloseSent() {
		return ErrClosed
	}
	return c.controlLocked(func(b []byte) ([]byte, error) { return c.pc.AppendPing(b, payload) })
}

// evClose queues the close frame (after dropping what has not begun, with
// discard) and has the loop arm the close timer.
func (c *Conn) evClose(code ws.CloseCode, reason string, why error, discard bool) error {
	c.mu.Lock()
	c.setWhy(why)
	if c.st != stOpen || c.sf&sfBroken != 0 || c.pc.CloseSent() {
		c.mu.Unlock()
		return nil
	}
	if discard {
		c.buffered.Add(-c.out.dropUnstarted())
	}
	err := c.controlLocked(func(b []byte) ([]byte, error) { return c.pc.AppendClose(b, code, reason) })
	post := err == nil && c.sf&sfAdvance == 0
	if post {
		c.sf |= sfAdvance
	}
	c.mu.Unlock()
	if post {
		c.lp.post(task{kind: taskAdvance, c: c})
	}
	return err
}

// evCloseNow shuts the socket down; the loop sees its end and closes it.
func (c *Conn) evCloseNow() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == stClosed || c.sf&sfBroken != 0 {
		return nil
	}
	c.sf |= sfBroken
	c.out.drop(c)
	return syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
}

func (c *Conn) evSubprotocol() string { return c.sub }

// evQueued returns the data messages queued; c.mu is held.
func (c *Conn) evQueued() int { return c.out.msgs }

// evAddr returns the socket's peer (remote) or local address.
func (c *Conn) evAddr(remote bool) net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sa syscall.Sockaddr
	var err error = syscall.ENOTCONN
	if c.st != stClosed || c.sf&sfFdOpen != 0 {
		if remote {
			sa, err = syscall.Getpeername(int(c.fd))
		} else {
			sa, err = syscall.Getsockname(int(c.fd))
		}
	}
	if err != nil {
		if remote && c.peerPort != 0 {
			// The socket is closed, or reset (no peer any more): the
			// address accept(2) gave.
			return &net.TCPAddr{IP: append(net.IP(nil), c.peerIP[:]...), Port: int(c.peerPort)}
		}
		return nil
	}
	return sockaddrToAddr(sa)
}

// sockaddrToAddr converts a socket address to a net.Addr.
func sockaddrToAddr(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		ap := &net.TCPAddr{IP: append(net.IP(nil), a.Addr[:]...), Port: a.Port}
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				ap.Zone = ifi.Name
			}
		}
		return ap
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}
