//go:build linux

// Command floor is the Socket.IO benchmark's floor: the least work a
// server can do to answer the load client's echo-with-ack case and hold
// its idle WebSocket sockets, so that the other servers' figures can be
// read against what the machine's system calls alone cost.
//
// It is hand-written on epoll(7) with raw system calls: one event loop per
// CPU (or $FLOOR_LOOPS), level-triggered, one read(2) per readiness into the loop's buffer,
// every reply of that read in one write(2). What it answers is package
// floorproto's (shared with servers/flooruring, the same floor on
// io_uring): only what the load client sends on the WebSocket transport —
// the opening handshake (the key is found, nothing else is checked), the
// Engine.IO open packet, the Socket.IO CONNECT to "/", and EVENT packets
// with an ack id, each answered with an ACK carrying the event's arguments
// — and it validates nothing: no UTF-8 or JSON checks, no fragmentation,
// no heartbeat, no limits, no rooms (the broadcast and polling cases are
// not served). It is a measuring stick, not a server to use.
//
// On SIGUSR1 it prints the acknowledgements it has sent ("acks N") to
// standard error, for counting system calls per ack from outside.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/rfc6455/ws/bench/socketio/internal/floorproto"
)

// conn is one connection's state; it belongs to its loop.
type conn struct {
	fd  int
	p   floorproto.Conn
	out []byte // reply bytes the socket did not take yet (EPOLLOUT)
}

// table finds a connection by its file descriptor; the accepting
// goroutine stores it before the loop can see the descriptor.
var table [1 << 20]atomic.Pointer[conn]

type loop struct {
	ep   int
	buf  []byte // the read buffer, shared by the loop's connections
	out  []byte // the replies of the read being handled
	acks floorproto.Counter
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3005", "listen address")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().Is4() {
		log.Fatalf("floor: -addr must be an IPv4 address and port: %v", *addr)
	}
	lfd, err := floorproto.Listen(ap)
	if err != nil {
		log.Fatal("floor: ", err)
	}
	// One loop per CPU, or $FLOOR_LOOPS (cmd/siobench passes only -addr;
	// the environment reaches the server).
	n, _ := strconv.Atoi(os.Getenv("FLOOR_LOOPS"))
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	loops := make([]*loop, n)
	counters := make([]*floorproto.Counter, len(loops))
	for i := range loops {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			log.Fatal("floor: ", err)
		}
		loops[i] = &loop{ep: ep, buf: make([]byte, 64<<10)}
		counters[i] = &loops[i].acks
		go loops[i].run()
	}
	floorproto.ReportOnSignal(counters)
	fmt.Println("listening", ap)
	go func() {
		// Exit when the harness goes away.
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	for i := 0; ; i++ {
		fd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			if err == syscall.EINTR || err == syscall.ECONNABORTED || err == syscall.EAGAIN {
				continue
			}
			log.Fatal("floor: accept: ", err)
		}
		if fd >= len(table) {
			syscall.Close(fd)
			continue
		}
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		table[fd].Store(&conn{fd: fd})
		l := loops[i%len(loops)]
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
		if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			table[fd].Store(nil)
			syscall.Close(fd)
		}
	}
}

func (l *loop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(l.ep, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			log.Fatal("floor: epoll_wait: ", err)
		}
		for _, ev := range events[:n] {
			c := table[ev.Fd].Load()
			if c == nil {
				continue
			}
			if ev.Events&syscall.EPOLLOUT != 0 {
				l.flush(c)
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				l.readable(c)
			}
		}
	}
}

// readable makes one read and answers what it completes.
func (l *loop) readable(c *conn) {
	n, err := syscall.Read(c.fd, l.buf)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if n <= 0 {
		l.drop(c)
		return
	}
	var acks int
	var closing bool
	l.out, acks, closing = c.p.Answer(l.out[:0], l.buf[:n])
	l.acks.Add(acks)
	if len(l.out) > 0 {
		l.write(c, l.out)
	}
	if closing && len(c.out) == 0 {
		l.drop(c)
	}
}

// write writes b, keeping what the socket does not take for EPOLLOUT.
func (l *loop) write(c *conn, b []byte) {
	if len(c.out) > 0 {
		c.out = append(c.out, b...)
		return
	}
	n, err := syscall.Write(c.fd, b)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		l.drop(c)
		return
	}
	n = max(n, 0)
	if n < len(b) {
		c.out = append([]byte(nil), b[n:]...)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLOUT, Fd: int32(c.fd)}
		syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_MOD, c.fd, &ev)
	}
}

// flush writes what waits for EPOLLOUT.
func (l *loop) flush(c *conn) {
	if len(c.out) == 0 {
		return
	}
	n, err := syscall.Write(c.fd, c.out)
	if err != nil && err != syscall.EAGAIN && err != syscall.EINTR {
		l.drop(c)
		return
	}
	c.out = c.out[max(n, 0):]
	if len(c.out) == 0 {
		c.out = nil
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
		syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_MOD, c.fd, &ev)
	}
}

func (l *loop) drop(c *conn) {
	if table[c.fd].CompareAndSwap(c, nil) {
		syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, c.fd, nil)
		syscall.Close(c.fd)
	}
}
