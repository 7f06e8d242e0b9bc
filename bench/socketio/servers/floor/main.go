//go:build linux

// Command floor is the Socket.IO benchmark's floor: the least work a
// server can do to answer the load client's echo-with-ack case and hold
// its idle WebSocket sockets, so that the other servers' figures can be
// read against what the machine's system calls alone cost.
//
// It is hand-written on epoll(7) with raw system calls: one event loop per
// CPU, level-triggered, one read(2) per readiness into the loop's buffer,
// every reply of that read in one write(2). It speaks only what the load
// client sends on the WebSocket transport — the opening handshake (the
// key is found, nothing else is checked), the Engine.IO open packet, the
// Socket.IO CONNECT to "/", and EVENT packets with an ack id, each
// answered with an ACK carrying the event's arguments — and validates
// nothing: no UTF-8 or JSON checks, no fragmentation, no heartbeat, no
// limits, no rooms (the broadcast and polling cases are not served). It is
// a measuring stick, not a server to use.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
)

// conn is one connection's state; it belongs to its loop.
type conn struct {
	fd   int
	open bool   // past the WebSocket handshake
	rest []byte // bytes of an incomplete request head or frame, kept across reads
	out  []byte // reply bytes the socket did not take yet (EPOLLOUT)
	sid  uint64
}

// table finds a connection by its file descriptor; the accepting
// goroutine stores it before the loop can see the descriptor.
var table [1 << 20]atomic.Pointer[conn]

var sids atomic.Uint64

type loop struct {
	ep  int
	buf []byte // the read buffer, shared by the loop's connections
	out []byte // the replies of the read being handled
}

func main() {
	addr := flag.String("addr", "127.0.0.1:3005", "listen address")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().Is4() {
		log.Fatalf("floor: -addr must be an IPv4 address and port: %v", *addr)
	}
	lfd, err := listen(ap)
	if err != nil {
		log.Fatal("floor: ", err)
	}
	loops := make([]*loop, runtime.GOMAXPROCS(0))
	for i := range loops {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			log.Fatal("floor: ", err)
		}
		loops[i] = &loop{ep: ep, buf: make([]byte, 64<<10)}
		go loops[i].run()
	}
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

// listen opens a blocking listening socket on ap.
func listen(ap netip.AddrPort) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if err := syscall.Bind(fd, sa); err != nil {
		return -1, err
	}
	if err := syscall.Listen(fd, 4096); err != nil {
		return -1, err
	}
	return fd, nil
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
	in := l.buf[:n]
	if len(c.rest) > 0 {
		in = append(c.rest, in...)
		c.rest = nil
	}
	l.out = l.out[:0]
	var used int
	var closing bool
	if !c.open {
		used = l.handshake(c, in)
	}
	if c.open {
		var u int
		u, closing = l.frames(c, in[used:])
		used += u
	}
	if used < len(in) {
		c.rest = append([]byte(nil), in[used:]...)
	}
	if len(l.out) > 0 {
		l.write(c, l.out)
	}
	if closing && len(c.out) == 0 {
		l.drop(c)
	}
}

// handshake answers the request head at the start of in, if it is whole,
// with the 101 and the Engine.IO open packet; it returns the bytes used.
func (l *loop) handshake(c *conn, in []byte) int {
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	var key []byte
	for _, line := range bytes.Split(in[:end], []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Sec-WebSocket-Key")) {
			key = bytes.TrimSpace(value)
		}
	}
	if key == nil {
		l.out = append(l.out, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"...)
		return len(in)
	}
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	l.out = append(l.out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	l.out = base64.StdEncoding.AppendEncode(l.out, h.Sum(nil))
	l.out = append(l.out, "\r\n\r\n"...)
	c.sid = sids.Add(1)
	open := fmt.Appendf(nil, `0{"sid":"f%019d","upgrades":[],"pingInterval":300000,"pingTimeout":200000,"maxPayload":1000000}`, c.sid)
	l.out = appendFrame(l.out, 0x81, open)
	c.open = true
	return end + 4
}

// frames answers the whole client frames at the start of in; it returns
// the bytes used and whether a close frame came.
func (l *loop) frames(c *conn, in []byte) (int, bool) {
	used := 0
	for {
		b := in[used:]
		if len(b) < 2 {
			return used, false
		}
		op := b[0] & 0x0f
		size := uint64(b[1] & 0x7f)
		hl := 2
		switch size {
		case 126:
			if len(b) < 4 {
				return used, false
			}
			size, hl = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return used, false
			}
			size, hl = binary.BigEndian.Uint64(b[2:]), 10
		}
		if b[1]&0x80 != 0 {
			hl += 4
		}
		if uint64(len(b)) < uint64(hl)+size {
			return used, false
		}
		p := b[hl : hl+int(size)]
		if b[1]&0x80 != 0 {
			unmask(p, b[hl-4:hl])
		}
		used += hl + int(size)
		switch op {
		case 0x1:
			l.message(c, p)
		case 0x8:
			if len(p) > 2 {
				p = p[:2]
			}
			l.out = appendFrame(l.out, 0x88, p)
			return used, true
		case 0x9:
			l.out = appendFrame(l.out, 0x8a, p)
		}
	}
}

// message answers an Engine.IO packet: a Socket.IO CONNECT to "/" with
// the CONNECT reply, an EVENT with an ack id with an ACK of its arguments.
func (l *loop) message(c *conn, p []byte) {
	if len(p) < 2 || p[0] != '4' {
		return // pong, close, noop: nothing to answer
	}
	switch p[1] {
	case '0':
		l.out = appendFrame(l.out, 0x81, fmt.Appendf(nil, `40{"sid":"s%019d"}`, c.sid))
	case '2':
		i := 2
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		if i == 2 || i+1 >= len(p) || p[i] != '[' || p[i+1] != '"' {
			return // no ack id, or a name that is not a plain string
		}
		id := p[2:i]
		j := bytes.IndexByte(p[i+2:], '"')
		if j < 0 {
			return
		}
		args := p[i+2+j+1:] // after the event name: "," and the arguments, or "]"
		// The ACK: "43" id "[" arguments "]".
		n := 2 + len(id) + 1 + len(args)
		if len(args) > 0 && args[0] == ',' {
			args = args[1:]
			n--
		}
		l.out = appendHeader(l.out, 0x81, n)
		l.out = append(l.out, '4', '3')
		l.out = append(l.out, id...)
		l.out = append(l.out, '[')
		l.out = append(l.out, args...)
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

// appendFrame appends an unmasked server frame.
func appendFrame(b []byte, b0 byte, p []byte) []byte {
	return append(appendHeader(b, b0, len(p)), p...)
}

func appendHeader(b []byte, b0 byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
}

// unmask applies the client's masking key to p in place (RFC 6455 §5.3),
// eight bytes at a time.
func unmask(p, key []byte) {
	k := binary.LittleEndian.Uint32(key)
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}
