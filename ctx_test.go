//go:build !js

package ws

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
)

// lateCancelConn is an in-memory net.Conn that honours deadlines as a real
// one does, and lets a test cancel an operation's context at the worst
// moment: after the data moved, before the operation returned. Setting a
// deadline in the past signals pastSet and then waits for release, so that
// the context's interruption is caught half way.
type lateCancelConn struct {
	recConn
	dmu      sync.Mutex
	rdl      time.Time
	wdl      time.Time
	onOp     func() // called once by the next Read or Write, after the data moved
	pastSet  chan struct{}
	release  chan struct{}
	pastDone chan struct{} // receives when a deadline in the past was set
}

func newLateCancelConn(in []byte) *lateCancelConn {
	return &lateCancelConn{
		recConn:  recConn{in: in, discard: true},
		pastSet:  make(chan struct{}, 1),
		release:  make(chan struct{}),
		pastDone: make(chan struct{}, 1),
	}
}

func (c *lateCancelConn) expired(write bool) bool {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	d := c.rdl
	if write {
		d = c.wdl
	}
	return !d.IsZero() && !time.Now().Before(d)
}

func (c *lateCancelConn) hook() {
	c.dmu.Lock()
	f := c.onOp
	c.onOp = nil
	c.dmu.Unlock()
	if f != nil {
		f()
	}
}

func (c *lateCancelConn) Read(p []byte) (int, error) {
	if c.expired(false) {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.recConn.Read(p)
	c.hook()
	return n, err
}

func (c *lateCancelConn) Write(p []byte) (int, error) {
	if c.expired(true) {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.recConn.Write(p)
	c.hook()
	return n, err
}

func (c *lateCancelConn) set(t time.Time, write bool) error {
	past := !t.IsZero() && t.Before(time.Now())
	if past {
		select {
		case c.pastSet <- struct{}{}:
		default:
		}
		<-c.release
	}
	c.dmu.Lock()
	if write {
		c.wdl = t
	} else {
		c.rdl = t
	}
	c.dmu.Unlock()
	if past {
		select {
		case c.pastDone <- struct{}{}:
		default:
		}
	}
	return nil
}

func (c *lateCancelConn) SetReadDeadline(t time.Time) error  { return c.set(t, false) }
func (c *lateCancelConn) SetWriteDeadline(t time.Time) error { return c.set(t, true) }
func (c *lateCancelConn) SetDeadline(t time.Time) error {
	c.set(t, false)
	return c.set(t, true)
}

// lateCancel runs op with a context that is cancelled right after op's data
// moved, and holds the cancellation's deadline change until op returned or
// 50 ms passed. It returns op's error.
func lateCancel(nc *lateCancelConn, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	nc.dmu.Lock()
	nc.onOp = func() {
		cancel()
		<-nc.pastSet // the interruption is under way
	}
	nc.dmu.Unlock()
	done := make(chan error, 1)
	go func() { done <- op(ctx) }()
	var err error
	select {
	case err = <-done:
		// Returned while the interruption was still under way: letting
		// it go now shows whether it can still reach the connection.
		close(nc.release)
	case <-time.After(50 * time.Millisecond):
		close(nc.release)
		err = <-done
	}
	<-nc.pastDone // the interruption is over
	return err
}

// Issue 20, bug 1: a write whose context ends as the write succeeds must
// leave no deadline in the past behind it.
func TestContextEndingAsWriteSucceedsLeavesConnUsable(t *testing.T) {
	nc := newLateCancelConn(nil)
	c := NewConn(nc, nil, RoleServer, nil)
	err := lateCancel(nc, func(ctx context.Context) error { return c.WriteMessage(ctx, Text, []byte("a")) })
	if err != nil {
		// Failing is allowed, if the connection says why.
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("write with the cancelled context: %v", err)
		}
		return
	}
	if nc.expired(true) {
		t.Fatal("the write succeeded but left a write deadline in the past")
	}
	if err := c.WriteMessage(bg, Text, []byte("b")); err != nil {
		t.Fatalf("the write succeeded, yet the next write fails: %v", err)
	}
}

// The same for a read.
func TestContextEndingAsReadSucceedsLeavesConnUsable(t *testing.T) {
	in := append(clientFrames(5, 1), clientFrames(7, 1)...)
	nc := newLateCancelConn(in)
	c := NewConn(nc, nil, RoleServer, nil)
	var msg []byte
	err := lateCancel(nc, func(ctx context.Context) error {
		// The first message is in the first read: the read succeeds.
		var err error
		_, msg, err = c.ReadMessage(ctx, nil)
		return err
	})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if nc.expired(false) {
		t.Fatal("the read succeeded but left a read deadline in the past")
	}
	if _, msg, err = c.ReadMessage(bg, nil); err != nil || len(msg) != 7 {
		t.Fatalf("the read succeeded, yet the next read returns %q, %v", msg, err)
	}
}

// A write, a ping or a read given a context that has already ended fails
// with the context's error, sends and consumes nothing, and leaves the
// connection open.
func TestEndedContextFailsCallWithoutTouchingConn(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, nil)
	dead, cancel := context.WithCancel(bg)
	cancel()
	if err := c.WriteMessage(dead, Text, []byte("not sent")); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteMessage: %v", err)
	}
	if err := c.Ping(dead); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.WritePing(dead, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("WritePing: %v", err)
	}
	w, err := c.NextWriter(dead, Binary)
	if err == nil {
		if _, err = w.Write(make([]byte, 100<<10)); err == nil {
			t.Fatal("NextWriter's Write with an ended context succeeded")
		}
		w.Close()
	}
	if err := c.WriteMessage(bg, Text, []byte("sent")); err != nil {
		t.Fatal(err)
	}
	if _, p := peer.expectFrame(frame.OpText); string(p) != "sent" {
		t.Fatalf("the peer's first frame is %q, want the one written with a live context", p)
	}

	peer.send(true, frame.OpText, []byte("kept"))
	if _, _, err := c.ReadMessage(dead, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadMessage: %v", err)
	}
	if _, _, err := c.NextReader(dead); !errors.Is(err, context.Canceled) {
		t.Fatalf("NextReader: %v", err)
	}
	if c.State() != StateOpen {
		t.Fatalf("state %v after calls with an ended context", c.State())
	}
	if _, m, err := c.ReadMessage(bg, nil); err != nil || string(m) != "kept" {
		t.Fatalf("ReadMessage = %q, %v", m, err)
	}
}

// With context takeover, a message compressed and then not sent (its
// context ended while it waited for the frame writer) would make every
// later message undecodable: the connection is closed instead.
func TestCompressedMessageNotSentClosesConn(t *testing.T) {
	srv, _ := compressedPair(t, deflate.Params{}, -1)
	srv.frameSem.lock(bg, nil) // a frame being written, say a pong stuck behind a full socket
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	err := srv.WriteMessage(ctx, Text, bytes.Repeat([]byte("compressed "), 100))
	srv.frameSem.unlock()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WriteMessage: %v", err)
	}
	if srv.State() != StateClosed {
		t.Fatalf("state %v: the compressor's history holds a message the peer never got", srv.State())
	}
}

// A streamed message whose context ends between two fragments cannot be
// finished, and no other message may go out before its end: the
// connection is closed.
func TestStreamedMessageCutBetweenFragmentsClosesConn(t *testing.T) {
	c, peer := newRawPair(t, RoleServer, &Options{FragmentSize: 1024})
	ctx, cancel := context.WithCancel(bg)
	w, err := c.NextWriter(ctx, Binary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	peer.expectFrame(frame.OpBinary)
	cancel()
	if _, err := w.Write(make([]byte, 1024)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write after cancel: %v", err)
	}
	w.Close()
	if c.State() != StateClosed {
		t.Fatalf("state %v with half a message sent", c.State())
	}
	if err := c.WriteMessage(bg, Text, []byte("x")); err == nil {
		t.Fatal("a new message went out after half of another")
	}
	peer.expectEOF()
}

var _ io.Reader = (*lateCancelConn)(nil)
