//go:build linux

package loop

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
	"github.com/rfc6455/ws/wsproto"
)

// acceptRaw accepts from ln's socket with accept4(2), if ln is a stream
// socket it can reach, until Shutdown or until ln is closed; ok is false
// when it cannot. It waits on a duplicate of the listener's descriptor
// with an epoll instance of its own (a listener's syscall.RawConn cannot
// wait for it to be readable); it notices ln closed by someone else
// within a second.
func (s *Server) acceptRaw(ln net.Listener) (err error, ok bool) {
	sc, isSC := ln.(syscall.Conn)
	if !isSC {
		return nil, false
	}
	rc, rerr := sc.SyscallConn()
	if rerr != nil {
		return nil, false
	}
	lfd := -1
	rc.Control(func(fd uintptr) {
		t, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE)
		if err != nil || t != syscall.SOCK_STREAM {
			return
		}
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e == 0 {
			lfd = int(r)
		}
	})
	if lfd < 0 {
		return nil, false
	}
	defer syscall.Close(lfd)
	p, perr := newPoller()
	if perr != nil {
		return nil, false
	}
	defer p.close()
	if err := syscall.SetNonblock(lfd, true); err != nil {
		return nil, false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, lfd, &ev); err != nil {
		return nil, false
	}
	if !s.trackAcceptor(p) {
		return nil, true
	}
	defer s.untrackAcceptor(p)
	events := make([]syscall.EpollEvent, 2)
	var delay time.Duration
	var rsa syscall.RawSockaddrAny // the peer's address, from accept4(2)
	for {
		if _, err := p.wait(events, 1000); err != nil {
			return err, true
		}
		if s.isClosing() {
			return nil, true
		}
		if cerr := rc.Control(func(uintptr) {}); cerr != nil {
			return cerr, true // ln was closed
		}
		p.woke()
	accept:
		for {
			alen := uint32(syscall.SizeofSockaddrAny)
			nfd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&alen)), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
			switch e {
			case 0:
				delay = 0
				s.dispatch(int(nfd), rawPeer(&rsa))
			case syscall.EAGAIN:
				break accept
			case syscall.EINTR, syscall.ECONNABORTED:
			case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
				// Out of descriptors or memory: wait as net/http
				// does, rather than spin.
				delay = backoff(delay)
				time.Sleep(delay)
				break accept
			default:
				return e, true
			}
		}
	}
}

// rawPeer returns the TCP address in a socket address accept(2) gave, or
// the zero AddrPort for other families.
func rawPeer(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port)) // network byte order
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&a.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// dispatch hands a socket just accepted from peer to an event loop.
func (s *Server) dispatch(fd int, peer netip.AddrPort) {
	if !s.addConn() {
		syscall.Close(fd)
		return
	}
	// As net does for the connections it accepts: small frames go out
	// at once. (Fails harmlessly on a Unix socket.)
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	lp := s.loops[int(s.next.Add(1))%len(s.loops)]
	c := &Conn{srv: s, lp: lp, policy: &s.Policy}
	c.fd = int32(fd)
	c.tidx = -1
	if peer.IsValid() {
		c.peerIP = peer.Addr().As16()
		c.peerPort = peer.Port()
	}
	lp.post(task{kind: taskAdd, c: c})
}

// takeOver hands the socket of a connection accepted as a *net.TCPConn to
// an event loop: a duplicate of its descriptor, the original closed.
func (s *Server) takeOver(tc *net.TCPConn) bool {
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	nfd := -1
	rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e == 0 {
			nfd = int(r)
		}
	})
	if nfd < 0 {
		return false
	}
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return false
	}
	var peer netip.AddrPort
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.AddrPort()
	}
	tc.Close()
	s.dispatch(nfd, peer)
	return true
}

// handshake handles input of a connection in its opening handshake: the
// request head, read within the handshake timeout (the connection's
// timer) and MaxHeaderBytes (431 past it), checked with package server's
// rules, then Upgrade, then the 101, written or queued. The bytes after
// the head are the client's first frames.
func (lp *evloop) handshake(c *Conn, data []byte) {
	s := lp.srv
	limit := s.maxHeaderBytes()
	b, scanned := data, 0
	if c.in != nil {
		scanned = len(c.in)
		c.in = append(c.in, data...)
		b = c.in
	}
	raw, hl, err := parseHead(b, scanned, limit)
	if err == nil && raw != nil && hl > limit {
		raw, err = nil, server.ErrRequestTooLarge
	}
	if err != nil {
		if s.wantsFallback(b, err) {
			lp.handOff(c, b)
			return
		}
		lp.reject(c, err)
		return
	}
	if raw == nil {
		if c.in == nil {
			c.in = append(make([]byte, 0, min(max(2*len(data), 1024), limit)), data...)
		}
		return
	}
	if s.Fallback != nil && !raw.IsUpgrade() {
		lp.handOff(c, b)
		return
	}
	if s.shutdown.Load() {
		lp.reject(c, errShuttingDown)
		return
	}
	remote := ""
	if o := &s.Options; o.CheckOrigin != nil || o.ResponseHeader != nil || o.NegotiateExtensions != nil {
		if a := c.evAddr(true); a != nil {
			remote = a.String()
		}
	}
	neg, err := s.negotiate(c, raw, remote, nil)
	if err != nil {
		lp.reject(c, err)
		return
	}
	opts := neg.Conn()
	// Uncompressed messages come as Data chunks, collected by the loop
	// in pooled buffers (evloop.data); compressed ones whole, inflated
	// by the core.
	cfg := wsproto.Config{Role: wsproto.Server, ReadLimit: readLimit(opts.ReadLimit)}
	if z := opts.Compression; z != nil {
		cfg.Compression = &wsproto.Compression{Params: z.Params, Level: z.Level, Threshold: z.Threshold}
	}
	if s.testConfig != nil {
		s.testConfig(&cfg)
	}
	if cfg.Compression != nil {
		c.lf |= lfDeflate
	}
	rb := getBuf(512)
	resp := neg.AppendResponse((*rb)[:0])
	c.mu.Lock()
	c.pc.Init(cfg)
	c.sub = opts.Subprotocol
	c.st = stOpen
	c.writeLocked(resp, nil, 0, 0)
	c.mu.Unlock()
	*rb = resp[:0]
	putBuf(rb)
	lp.timers.stop(c)
	rest := b[hl:]
	c.in = nil
	c.callOpen()
	if c.st != stOpen {
		return
	}
	lp.startHeartbeat(c)
	lp.advance(c) // OnOpen may have closed it
	if len(rest) > 0 {
		lp.feed(c, rest)
	} else {
		lp.afterInput(c)
	}
}

// handOff gives a connection whose request is not a WebSocket's to the
// Fallback handler, with the bytes read so far.
func (lp *evloop) handOff(c *Conn, data []byte) {
	head := append([]byte(nil), data...)
	fd := int(c.fd)
	syscall.EpollCtl(lp.p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	c.mu.Lock()
	c.st = stClosed
	c.mu.Unlock()
	lp.conns[fd] = nil
	lp.n--
	lp.timers.stop(c)
	c.in = nil
	lp.srv.doneConn()
	f := os.NewFile(uintptr(fd), "")
	nc, err := net.FileConn(f) // a duplicate, in the runtime's poller
	f.Close()
	if err != nil {
		return
	}
	// The handshake runs on: the Fallback's server reads the request.
	go lp.srv.fallback(nc, head)
}

// readLimit turns ws.Options.ReadLimit into the core's.
func readLimit(n int64) int64 {
	switch {
	case n == 0:
		return ws.DefaultReadLimit
	case n < 0:
		return 0
	}
	return n
}

// reject answers a failed handshake with the rule's status, then closes.
func (lp *evloop) reject(c *Conn, err error) {
	b := appendRefusal(nil, err)
	syscall.Write(int(c.fd), b)
	lp.finish(c, err)
}
