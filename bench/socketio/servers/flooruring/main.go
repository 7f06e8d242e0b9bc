//go:build linux

// Command flooruring is the Socket.IO benchmark's floor on io_uring: it
// answers exactly what servers/floor answers (package floorproto, one copy
// shared by both), but does its I/O through io_uring(7) instead of one
// read(2) and one write(2) per message, to measure what fewer system calls
// per acknowledgement buy on this machine.
//
// One ring per CPU (GOMAXPROCS, as servers/floor has one loop per CPU; or
// -rings, $FLOORURING_RINGS), each run by one goroutine locked to its OS
// thread, set up with IORING_SETUP_SINGLE_ISSUER and IORING_SETUP_DEFER_TASKRUN (the kernel
// runs the ring's completion work only when its thread asks for
// completions; -setup changes that, and -setup sqpoll tries
// IORING_SETUP_SQPOLL, not the headline figure). The first ring accepts with a
// multishot accept and hands every other connection to the next ring, in
// turn, with IORING_OP_MSG_RING (servers/floor deals them out the same
// way). Each connection has one multishot receive armed, which takes its
// buffers from the ring's provided-buffer ring, and at most one send in
// flight: replies that come while one is in flight are sent together after
// it, in order. Each turn of a loop handles every completion there is,
// queues the sends and receives they call for, and makes ONE
// io_uring_enter(2) that submits them and waits for the next completion
// (IORING_ENTER_GETEVENTS, min_complete 1). No SQPOLL: every cycle the
// server uses is its own thread's, counted in its CPU time.
//
// Like servers/floor it validates nothing and serves only the echo and
// idle WebSocket cases of cmd/siobench. It is a measuring stick, not a
// server to use. On SIGUSR1 it prints the acknowledgements it has sent
// ("acks N") to standard error, for counting system calls per ack.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/rfc6455/ws/bench/socketio/internal/floorproto"
)

// What a completion is for, in the top 32 bits of its user_data; the
// file descriptor is in the low 32.
const (
	kAccept  = 1 // the multishot accept (loop 0)
	kRecv    = 2 // a connection's multishot receive
	kSend    = 3 // a connection's send
	kNewConn = 4 // a connection handed over by loop 0 (MSG_RING): res is its descriptor
	kMsgRing = 5 // a hand-over that failed (successes post no completion)
)

const (
	bufGroup = 0
	bufCount = 128     // receive buffers per ring
	bufSize  = 4 << 10 // bytes each

	// keepOut is the largest send buffer a connection keeps between
	// sends (an acknowledgement of the echo case takes under 100 bytes).
	keepOut = 256
)

// conn is one connection's state; it belongs to its loop.
type conn struct {
	fd      int32
	p       floorproto.Conn
	out     []byte // being sent, from out[sent:]
	sent    int
	pend    []byte // replies waiting for the send in flight
	recving bool   // the multishot receive is armed
	sending bool   // a send is in flight
	closing bool   // a close frame came: drop once its reply is sent
	dead    bool   // dropped: the descriptor closes when nothing is in flight
}

type loop struct {
	id    int
	r     *ring
	bufs  *bufRing
	conns []*conn // by descriptor
	loops []*loop // every loop, for loop 0's hand-overs
	lfd   int
	next  int
	acks  floorproto.Counter
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3005", "listen address")
	setup := flag.String("setup", envOr("FLOORURING_SETUP", "defer"), "ring setup: defer (SINGLE_ISSUER|DEFER_TASKRUN), coop (SINGLE_ISSUER|COOP_TASKRUN), plain (neither) or sqpoll (SQPOLL|SINGLE_ISSUER, a kernel polling thread, its CPU counted in the process's); default $FLOORURING_SETUP or defer")
	rings := flag.Int("rings", 0, "rings (and loop threads); default $FLOORURING_RINGS or GOMAXPROCS, as servers/floor's loops")
	flag.Parse()
	if *rings <= 0 {
		*rings, _ = strconv.Atoi(os.Getenv("FLOORURING_RINGS"))
	}
	if *rings <= 0 {
		*rings = runtime.GOMAXPROCS(0)
	}
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().Is4() {
		log.Fatalf("flooruring: -addr must be an IPv4 address and port: %v", *addr)
	}
	var flags uint32 = setupSubmitAll
	switch *setup {
	case "defer":
		flags |= setupSingleIssuer | setupDeferTaskrun
	case "coop":
		flags |= setupSingleIssuer | setupCoopTaskrun
	case "plain":
	case "sqpoll":
		// Not the headline: the kernel's polling thread spins on the
		// queue; its CPU time is the process's (Linux 5.12 and later).
		flags |= setupSQPoll | setupSingleIssuer
	default:
		log.Fatalf("flooruring: unknown -setup %q", *setup)
	}
	lfd, err := floorproto.Listen(ap)
	if err != nil {
		log.Fatal("flooruring: ", err)
	}
	loops := make([]*loop, *rings)
	counters := make([]*floorproto.Counter, len(loops))
	ready := make(chan error)
	start := make(chan struct{})
	for i := range loops {
		loops[i] = &loop{id: i, loops: loops, lfd: lfd}
		counters[i] = &loops[i].acks
		go loops[i].run(flags, ready, start)
	}
	for range loops {
		if err := <-ready; err != nil {
			log.Fatal("flooruring: ", err)
		}
	}
	close(start)
	floorproto.ReportOnSignal(counters)
	fmt.Println("listening", ap)
	// Exit when the harness goes away.
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// envOr returns the environment variable's value, or def if it is empty
// (cmd/siobench passes only -addr; the environment reaches the server).
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run sets up the loop's ring on its own OS thread (a SINGLE_ISSUER ring
// must be used by the thread that made it) and runs it.
func (l *loop) run(flags uint32, ready chan<- error, start <-chan struct{}) {
	runtime.LockOSThread()
	var err error
	l.r, err = newRing(1024, 8192, flags)
	if err == nil {
		l.bufs, err = l.r.newBufRing(bufGroup, bufCount, bufSize)
	}
	ready <- err
	if err != nil {
		return
	}
	<-start
	if l.id == 0 {
		l.accept()
	}
	r := l.r
	for {
		l.bufs.publish()
		r.publish()
		if err := r.enter(1); err != nil {
			log.Fatal("flooruring: ", err)
		}
		head := *r.cqHead
		tail := loadAcquire(r.cqTail)
		for ; head != tail; head++ {
			l.complete(r.cqes[head&r.cqMask])
		}
		storeRelease(r.cqHead, head)
	}
}

func (l *loop) complete(c cqe) {
	fd := int32(uint32(c.userData))
	switch c.userData >> 32 {
	case kAccept:
		if c.res >= 0 {
			l.accepted(c.res)
		} else if e := syscall.Errno(-c.res); e != syscall.ECONNABORTED && e != syscall.EINTR && e != syscall.EAGAIN {
			log.Print("flooruring: accept: ", e)
		}
		if c.flags&cqeFMore == 0 {
			l.accept()
		}
	case kNewConn:
		l.add(c.res)
	case kMsgRing:
		log.Print("flooruring: handing a connection over: ", syscall.Errno(-c.res))
		syscall.Close(int(fd))
	case kRecv:
		l.received(l.conns[fd], c)
	case kSend:
		l.sentDone(l.conns[fd], c.res)
	}
}

// accept arms the multishot accept on the listening socket.
func (l *loop) accept() {
	s := l.r.get()
	s.opcode = opAccept
	s.fd = int32(l.lfd)
	s.ioprio = acceptMultishot
	s.opFlags = syscall.SOCK_NONBLOCK | syscall.SOCK_CLOEXEC
	s.userData = kAccept << 32
}

// accepted deals a new connection to the next loop, in turn.
func (l *loop) accepted(fd int32) {
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	to := l.loops[l.next%len(l.loops)]
	l.next++
	if to == l {
		l.add(fd)
		return
	}
	// IORING_OP_MSG_RING with IORING_MSG_DATA (addr 0): a completion on
	// the other ring with res = len and user_data = off.
	s := l.r.get()
	s.opcode = opMsgRing
	s.flags = sqeCQESkipSuccess
	s.fd = int32(to.r.fd)
	s.len = uint32(fd)
	s.off = kNewConn<<32 | uint64(uint32(fd))
	s.userData = kMsgRing<<32 | uint64(uint32(fd))
}

// add takes a connection on and arms its receive.
func (l *loop) add(fd int32) {
	for int(fd) >= len(l.conns) {
		l.conns = append(l.conns, make([]*conn, max(len(l.conns), 64))...)
	}
	c := &conn{fd: fd}
	l.conns[fd] = c
	l.recv(c)
}

// recv arms c's multishot receive, its buffers from the ring's group.
func (l *loop) recv(c *conn) {
	s := l.r.get()
	s.opcode = opRecv
	s.fd = c.fd
	s.ioprio = recvMultishot
	s.flags = sqeBufferSelect
	s.bufIndex = bufGroup
	s.userData = kRecv<<32 | uint64(uint32(c.fd))
	c.recving = true
}

func (l *loop) received(c *conn, e cqe) {
	if e.flags&cqeFBuffer != 0 {
		id := uint16(e.flags >> cqeBufferShift)
		if e.res > 0 && !c.dead && !c.closing {
			var acks int
			var closing bool
			c.pend, acks, closing = c.p.Answer(c.pend, l.bufs.buf(id)[:e.res])
			l.acks.Add(acks)
			c.closing = closing
			if !c.sending && len(c.pend) > 0 {
				l.send(c)
			}
		}
		l.bufs.put(id) // the bytes are answered or copied: the buffer goes back
	}
	if e.flags&cqeFMore != 0 {
		return
	}
	c.recving = false
	switch {
	case e.res > 0 || e.res == -int32(syscall.ENOBUFS):
		// The receive ended but the connection did not: arm it again
		// (after ENOBUFS the buffers put back above are there).
		if !c.dead {
			l.recv(c)
			return
		}
	case e.res < 0 && e.res != -int32(syscall.ECONNRESET) && e.res != -int32(syscall.ECANCELED):
		log.Print("flooruring: recv: ", syscall.Errno(-e.res))
	}
	l.drop(c) // end of stream, an error, or already dropped
}

// send moves the pending replies to the send buffer and sends them.
func (l *loop) send(c *conn) {
	c.out, c.pend = c.pend, c.out[:0]
	c.sent = 0
	l.sendRest(c)
}

func (l *loop) sendRest(c *conn) {
	b := c.out[c.sent:]
	s := l.r.get()
	s.opcode = opSend
	s.fd = c.fd
	s.addr = bufAddr(b)
	s.len = uint32(len(b))
	s.opFlags = syscall.MSG_NOSIGNAL
	s.userData = kSend<<32 | uint64(uint32(c.fd))
	c.sending = true
}

func (l *loop) sentDone(c *conn, res int32) {
	c.sending = false
	switch {
	case c.dead:
	case res < 0:
		if e := syscall.Errno(-res); !errors.Is(e, syscall.EPIPE) && !errors.Is(e, syscall.ECONNRESET) {
			log.Print("flooruring: send: ", e)
		}
		l.drop(c)
	case c.sent+int(res) < len(c.out):
		c.sent += int(res) // a short send: the rest, before anything else
		l.sendRest(c)
		return
	case len(c.pend) > 0:
		l.send(c)
		return
	case c.closing:
		l.drop(c)
	case cap(c.out) > keepOut:
		c.out = nil // the handshake's replies: an idle socket keeps no buffer that size
	}
	l.closeIfIdle(c)
}

// drop ends a connection: shutdown(2) ends its receive, and the descriptor
// is closed once nothing is in flight on it (so that it cannot be reused
// under a completion still to come).
func (l *loop) drop(c *conn) {
	if !c.dead {
		c.dead = true
		if c.recving {
			syscall.Shutdown(int(c.fd), syscall.SHUT_RDWR)
		}
	}
	l.closeIfIdle(c)
}

func (l *loop) closeIfIdle(c *conn) {
	if c.dead && !c.recving && !c.sending && l.conns[c.fd] == c {
		l.conns[c.fd] = nil
		syscall.Close(int(c.fd))
	}
}
