//go:build !js

package ws

import (
	"bytes"
	"context"
	"io"
)

// NextReader waits for the next data message and returns its type and a
// reader for its payload, which streams the payload as its frames arrive
// (RFC 6455 §5.4). The reader returns io.EOF at the message's end. Control
// frames between fragments are handled as they come. Asking for the next
// message discards whatever is left of this one; the old reader then
// returns ErrStaleReader.
//
// ctx bounds the wait for the message and every Read of its payload.
func (c *Conn) NextReader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.acquireRead(ctx); err != nil {
		return 0, nil, err
	}
	defer c.readSem.unlock()
	if typ, msg, ok := c.popPending(nil); ok {
		return typ, bytes.NewReader(msg), nil
	}
	if c.readError() != nil {
		return 0, nil, c.readError()
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	w := c.watch(ctx, false)
	c.setReadCtx(ctx)
	err := c.beginMessage()
	var whole []byte
	if err == nil && c.msgCompr {
		// A compressed message is inflated whole (RFC 7692 §7.2.2).
		if whole, err = c.readCompressed(nil, c.takeChunk()); err == nil {
			c.endMessage()
		}
	}
	c.clearReadCtx()
	if err = c.stopWatch(ctx, w, err); err != nil {
		return 0, nil, err
	}
	if whole != nil || !c.inMsg {
		return c.msgType, bytes.NewReader(whole), nil
	}
	return c.msgType, &messageReader{c: c, ctx: ctx, gen: c.readGen}, nil
}

// messageReader is the io.Reader NextReader returns.
type messageReader struct {
	c   *Conn
	ctx context.Context
	gen uint64
	eof bool
}

// Read reads payload bytes of the message.
func (r *messageReader) Read(p []byte) (int, error) {
	if r.eof {
		return 0, io.EOF
	}
	c := r.c
	if err := c.acquireRead(r.ctx); err != nil {
		return 0, err
	}
	defer c.readSem.unlock()
	if n, ok, err := c.readTail(r.gen, p); ok {
		r.eof = err == io.EOF
		return n, err
	}
	if r.gen != c.readGen {
		return 0, ErrStaleReader
	}
	if c.readError() != nil {
		return 0, c.readError()
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	w := c.watch(r.ctx, false)
	c.setReadCtx(r.ctx)
	n, err := r.read(p)
	c.clearReadCtx()
	if err != io.EOF {
		err = c.stopWatch(r.ctx, w, err)
	} else {
		w.stop()
	}
	return n, err
}

func (r *messageReader) read(p []byte) (int, error) {
	c := r.c
	for c.chunkN == 0 {
		if c.final {
			r.eof = true
			c.endMessage()
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		if c.rpos == c.rend {
			if rem := c.rx.DataRemaining(); rem > 0 && len(p) >= directThreshold {
				// Straight from the network into p; the core
				// unmasks and checks it there.
				n, err := c.readDirect(p[:min(int64(len(p)), rem)])
				if err != nil {
					return 0, err
				}
				if err := c.directPayload(p[:n]); err != nil {
					return 0, err
				}
				return n, nil
			}
		}
		if err := c.nextData(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.chunkAt:c.chunkAt+c.chunkN])
	c.chunkAt += int32(n)
	c.chunkN -= int32(n)
	return n, nil
}
