package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// netConnBufSize is the buffer a NetConn reads message payloads into.
const netConnBufSize = 32 << 10

// netConnKeepBuf is the largest write buffer a NetConn keeps between Writes.
const netConnKeepBuf = 1 << 20

// NetConn returns a net.Conn that carries a byte stream over c, for code
// written against net.Conn: net/http, TLS, SSH, a database driver, a TCP
// tunnel. It is built on c's public methods only. Do not confuse it with the
// method Conn.NetConn, which returns the connection c runs over.
//
// Read returns payload bytes as they arrive, across message boundaries: the
// stream is the concatenation of the messages. Every message must be of type
// typ; one of the other type fails the connection with 1003 (RFC 6455
// §7.4.1, data it cannot accept). Write sends p as one message of type typ; a
// Write of zero bytes sends nothing. With typ Text, each Write must be valid
// UTF-8 on its own (RFC 6455 §8.1), and Write refuses p otherwise.
//
// Since a message read through NetConn is streamed, never held whole, NetConn
// lifts c's read limit (SetReadLimit(-1)), so that Writes of any size pass;
// when permessage-deflate is in use, messages are inflated whole and c's limit
// stays.
//
// SetDeadline, SetReadDeadline and SetWriteDeadline work as on a TCP
// connection, and a deadline set while a Read or Write is blocked ends it. A
// call that times out returns a *net.OpError that satisfies
// errors.Is(err, os.ErrDeadlineExceeded) and whose Timeout method reports
// true, and the connection stays usable: a timed-out Read loses nothing, and
// a Write that timed out after its message was handed to the connection
// returns len(p) with the error, since that message is still sent, in order,
// ahead of the next one. The deadlines of c itself are not used (a deadline
// reached there fails the WebSocket connection).
//
// When the peer closes the connection normally (1000, 1001, or a close frame
// without a status), Read returns io.EOF once the data before it was read.
// Any other close code gives an error that wraps the *CloseError.
//
// Close returns at once, as on a TCP connection: blocked Reads and Writes
// return with an error that wraps net.ErrClosed, and the close handshake
// (1000) runs in the background, within c's Options.CloseTimeout: the close
// frame goes out after the message of a Write that timed out, and what the
// peer still sends is dropped until its close frame arrives. A program that
// must know the handshake finished, say before it exits, calls c.Close after
// it, which returns once the connection has ended. LocalAddr and RemoteAddr
// are those of the connection c runs over.
//
// ctx bounds the life of the returned net.Conn: when it ends, the net.Conn is
// closed as by Close. From the call on, c belongs to the net.Conn; use c
// directly only for Ping, State and the like.
func NetConn(ctx context.Context, c *Conn, typ MessageType) net.Conn {
	if typ != Text && typ != Binary {
		panic("ws: NetConn with a message type other than Text or Binary")
	}
	if _, compressed := c.Compression(); !compressed {
		c.SetReadLimit(-1)
	}
	n := &netConn{
		c:     c,
		typ:   typ,
		done:  make(chan struct{}),
		rsem:  make(chan struct{}, 1),
		wsem:  make(chan struct{}, 1),
		fetch: make(chan fetchResult, 1),
		wdone: make(chan error, 1),
	}
	n.rdl.init()
	n.wdl.init()
	n.stopCtx = context.AfterFunc(ctx, func() {
		if n.shut(fmt.Errorf("%w (%w)", net.ErrClosed, context.Cause(ctx))) {
			n.finish()
		}
	})
	return n
}

// netConn is the net.Conn NetConn returns.
//
// Reads and writes on c run on goroutines of their own, started per fetch
// and per message, so that a deadline or Close can end a blocked Read or
// Write without cutting a frame in half: the blocked call returns, and the
// operation on c completes later. Its result is kept for the next call (a
// fetch), or was already accounted for (a message).
type netConn struct {
	c   *Conn
	typ MessageType

	rdl, wdl deadline

	closeOnce sync.Once
	done      chan struct{} // closed by Close or the end of ctx
	closeErr  error         // why done was closed; set before it closes
	stopCtx   func() bool

	// Read side, guarded by rsem (one Read at a time).
	rsem     chan struct{}
	fetch    chan fetchResult // results of fetches; made once
	fetching bool             // a fetch is in progress
	rbuf     []byte           // the fetch's buffer; the fetch owns it while running
	rest     []byte           // bytes fetched but not yet returned
	rerr     error            // sticky: the read side has ended
	msg      io.Reader        // the message being read; used by fetches only

	// Write side, guarded by wsem (one Write at a time).
	wsem     chan struct{}
	wdone    chan error // results of messages; made once
	inFlight bool       // a message is being written
	wbuf     []byte     // its payload; the message owns it while in flight
	werr     error      // sticky: the write side has failed
}

type fetchResult struct {
	n   int
	err error
}

// Read reads bytes of the stream into p.
func (n *netConn) Read(p []byte) (int, error) {
	dl := n.rdl.wait()
	// A Read past its deadline times out, even with bytes waiting, as on
	// a TCP connection.
	select {
	case <-n.done:
		return 0, n.opError("read", n.closeErr)
	case <-dl:
		return 0, n.opError("read", os.ErrDeadlineExceeded)
	default:
	}
	select {
	case n.rsem <- struct{}{}:
	case <-n.done:
		return 0, n.opError("read", n.closeErr)
	case <-dl:
		return 0, n.opError("read", os.ErrDeadlineExceeded)
	}
	defer func() { <-n.rsem }()
	if len(n.rest) > 0 {
		k := copy(p, n.rest)
		n.rest = n.rest[k:]
		return k, nil
	}
	if n.rerr != nil {
		return 0, n.rerr
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !n.fetching {
		if n.rbuf == nil {
			n.rbuf = make([]byte, netConnBufSize)
		}
		n.fetching = true
		go n.runFetch(n.rbuf)
	}
	select {
	case r := <-n.fetch:
		n.fetching = false
		if r.err != nil {
			n.rerr = r.err
			return 0, r.err
		}
		k := copy(p, n.rbuf[:r.n])
		n.rest = n.rbuf[k:r.n]
		return k, nil
	case <-n.done:
		return 0, n.opError("read", n.closeErr)
	case <-dl:
		// The fetch goes on; its bytes are the next Read's.
		return 0, n.opError("read", os.ErrDeadlineExceeded)
	}
}

// runFetch runs fetchMore on a goroutine of its own.
func (n *netConn) runFetch(buf []byte) {
	k, err := n.fetchMore(buf)
	n.fetch <- fetchResult{k, err}
}

// fetchMore reads the next payload bytes of the stream into buf; it runs on
// a goroutine of its own, one at a time.
func (n *netConn) fetchMore(buf []byte) (int, error) {
	for {
		if n.msg == nil {
			typ, r, err := n.c.NextReader(context.Background())
			if err != nil {
				return 0, n.readError(err)
			}
			if typ != n.typ {
				// RFC 6455 §7.4.1: 1003, a type of data the endpoint
				// cannot accept.
				reason := "expected " + n.typ.String() + " messages"
				go n.c.Close(CloseUnsupportedData, reason) // bounded by CloseTimeout
				return 0, n.opError("read", fmt.Errorf("ws: NetConn received a %s message; %s", typ, reason))
			}
			n.msg = r
		}
		k, err := n.msg.Read(buf)
		if err == io.EOF {
			n.msg = nil
			err = nil
		}
		if err != nil {
			return 0, n.readError(err)
		}
		if k > 0 {
			return k, nil
		}
	}
}

// readError maps an error of c's reads to the stream's: a normal close is
// the end of the stream.
func (n *netConn) readError(err error) error {
	var ce *CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case CloseNormal, CloseGoingAway, CloseNoStatus:
			return io.EOF
		}
	}
	return n.opError("read", err)
}

// Write sends p as one message.
func (n *netConn) Write(p []byte) (int, error) {
	dl := n.wdl.wait()
	select {
	case <-n.done:
		return 0, n.opError("write", n.closeErr)
	case <-dl:
		return 0, n.opError("write", os.ErrDeadlineExceeded)
	default:
	}
	select {
	case n.wsem <- struct{}{}:
	case <-n.done:
		return 0, n.opError("write", n.closeErr)
	case <-dl:
		return 0, n.opError("write", os.ErrDeadlineExceeded)
	}
	defer func() { <-n.wsem }()
	if n.inFlight {
		// The message of a Write that timed out is still going out.
		select {
		case err := <-n.wdone:
			n.finishWrite(err)
		case <-n.done:
			return 0, n.opError("write", n.closeErr)
		case <-dl:
			return 0, n.opError("write", os.ErrDeadlineExceeded)
		}
	}
	if n.werr != nil {
		return 0, n.werr
	}
	if len(p) == 0 {
		return 0, nil
	}
	if n.typ == Text && !utf8.Valid(p) {
		return 0, n.opError("write", errors.New("ws: NetConn of type text: Write of invalid UTF-8 (RFC 6455 §8.1: each message must be valid on its own)"))
	}
	if cap(n.wbuf) > netConnKeepBuf && len(p) <= netConnKeepBuf {
		n.wbuf = nil
	}
	n.wbuf = append(n.wbuf[:0], p...)
	n.inFlight = true
	go n.runWrite(n.wbuf)
	select {
	case err := <-n.wdone:
		n.finishWrite(err)
		if n.werr != nil {
			return 0, n.werr
		}
		return len(p), nil
	case <-n.done:
		return len(p), n.opError("write", n.closeErr)
	case <-dl:
		// The message goes out all the same, before the next one.
		return len(p), n.opError("write", os.ErrDeadlineExceeded)
	}
}

// runWrite writes one message on a goroutine of its own.
func (n *netConn) runWrite(msg []byte) {
	n.wdone <- n.c.WriteMessage(context.Background(), n.typ, msg)
}

// finishWrite records the end of the message in flight; wsem must be held.
func (n *netConn) finishWrite(err error) {
	n.inFlight = false
	if err != nil && n.werr == nil {
		n.werr = n.opError("write", err)
	}
}

// Close closes the stream: blocked Reads and Writes return at once, and the
// close handshake runs in the background.
func (n *netConn) Close() error {
	if !n.shut(net.ErrClosed) {
		return n.opError("close", net.ErrClosed)
	}
	n.stopCtx()
	go n.finish()
	return nil
}

// finish performs the close handshake after Close: the close frame goes out
// after the message in flight, if any, and what the peer sends until its
// close frame is read and dropped, so that the handshake ends as soon as
// the peer answers, within c's CloseTimeout.
func (n *netConn) finish() {
	closed := make(chan struct{})
	go func() {
		n.c.Close(CloseNormal, "")
		close(closed)
	}()
	// Reads return at once now that done is closed: the read side is
	// ours for good.
	n.rsem <- struct{}{}
	if n.fetching {
		<-n.fetch
		n.fetching = false
	}
	if n.rerr == nil {
		if n.rbuf == nil {
			n.rbuf = make([]byte, netConnBufSize)
		}
		for {
			if _, err := n.fetchMore(n.rbuf); err != nil {
				break
			}
		}
	}
	<-closed
}

// shut marks the net.Conn closed and wakes blocked calls; it reports
// whether this call did it.
func (n *netConn) shut(why error) bool {
	first := false
	n.closeOnce.Do(func() {
		first = true
		n.closeErr = why
		close(n.done)
	})
	return first
}

// LocalAddr returns the local address of the connection c runs over.
func (n *netConn) LocalAddr() net.Addr { return n.c.LocalAddr() }

// RemoteAddr returns the remote address of the connection c runs over.
func (n *netConn) RemoteAddr() net.Addr { return n.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (n *netConn) SetDeadline(t time.Time) error {
	if err := n.SetReadDeadline(t); err != nil {
		return err
	}
	return n.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of Reads, blocked ones included.
func (n *netConn) SetReadDeadline(t time.Time) error {
	if n.isClosed() {
		return n.opError("set", net.ErrClosed)
	}
	n.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline of Writes, blocked ones included.
func (n *netConn) SetWriteDeadline(t time.Time) error {
	if n.isClosed() {
		return n.opError("set", net.ErrClosed)
	}
	n.wdl.set(t)
	return nil
}

func (n *netConn) isClosed() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// opError wraps err as the net package does, so that Timeout and
// errors.Is(err, os.ErrDeadlineExceeded) work as on a TCP connection.
func (n *netConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "websocket", Source: n.c.LocalAddr(), Addr: n.c.RemoteAddr(), Err: err}
}

// deadline is a settable point in time with a channel that is closed when
// it passes. The channel stays the same until it is closed, so that a call
// waiting on it sees later changes of the deadline.
type deadline struct {
	mu    sync.Mutex
	ch    chan struct{}
	timer *time.Timer
	gen   uint64 // counts set calls; a timer of an older one does nothing
}

func (d *deadline) init() { d.ch = make(chan struct{}) }

// wait returns the channel that is closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	select {
	case <-d.ch:
		d.ch = make(chan struct{}) // it had passed: a fresh one
	default:
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		return
	}
	gen, ch := d.gen, d.ch
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		if d.gen == gen {
			close(ch)
		}
		d.mu.Unlock()
	})
}
