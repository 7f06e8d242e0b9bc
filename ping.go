//go:build !js

package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"

	"github.com/rfc6455/ws/frame"
)

// Ping sends a ping and waits for the pong that answers it (RFC 6455
// §5.5.2, §5.5.3). Pongs are seen by the goroutine that reads, so Ping needs
// one: a loop calling ReadMessage, NextReader or Serve. A pong answering a
// later ping also answers earlier ones, since a peer may answer only the
// most recent ping.
//
// Called from a callback that runs on the reading goroutine (a Handler's,
// Options.OnPing or Options.OnPong), Ping could never see its pong: it
// returns ErrPingFromReader at once, without sending anything. Use
// WritePing there.
func (c *Conn) Ping(ctx context.Context) error {
	if c.inCallback() {
		return ErrPingFromReader
	}
	ch := make(chan struct{})
	pw := &c.extra().pings
	pw.mu.Lock()
	pw.seq++
	id := pw.seq
	if pw.m == nil {
		pw.m = make(map[uint64]chan struct{})
	}
	pw.m[id] = ch
	pw.mu.Unlock()
	defer func() {
		pw.mu.Lock()
		delete(pw.m, id)
		pw.mu.Unlock()
	}()
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], id)
	if err := c.writeControl(ctx, frame.OpPing, payload[:]); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done():
		return ErrClosed
	}
}

// WritePing sends a ping with payload (at most 125 bytes) without waiting
// for its pong; the pong reaches Options.OnPong and Handler.OnPong on the
// goroutine that reads. It suits heartbeats that watch many connections
// from one goroutine.
func (c *Conn) WritePing(ctx context.Context, payload []byte) error {
	if len(payload) > frame.MaxControlPayload {
		return errPingTooLong
	}
	return c.writeControl(ctx, frame.OpPing, payload)
}

var errPingTooLong = errors.New("ws: ping payload over 125 bytes (RFC 6455 §5.5)")

// ErrPingFromReader is returned by Ping called from a callback on the
// goroutine that reads, which is the goroutine that would have to see the
// pong.
var ErrPingFromReader = errors.New("ws: Ping called from a callback on the reading goroutine, which alone could see its pong; use WritePing")

// gotPong wakes the Ping calls answered by a pong.
func (c *Conn) gotPong(payload []byte) {
	if len(payload) != 8 {
		return
	}
	x := c.ext.Load()
	if x == nil {
		return // no Ping was ever called
	}
	pw := &x.pings
	id := binary.BigEndian.Uint64(payload)
	pw.mu.Lock()
	for k, ch := range pw.m {
		if k <= id {
			close(ch)
			delete(pw.m, k)
		}
	}
	pw.mu.Unlock()
}

// pingWaiters are the Ping calls of a Conn waiting for their pongs, by
// the number their ping carries.
type pingWaiters struct {
	mu  sync.Mutex
	seq uint64
	m   map[uint64]chan struct{}
}
