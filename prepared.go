package ws

import (
	"context"
	"sync"

	"github.com/rfc6455/ws/frame"
)

// PreparedMessage is a message encoded once for many receivers, for
// broadcasts: its frame (header and payload) is built on first use and
// written as is to every server-side connection, so that sending to N
// receivers costs N writes and no encoding. Client connections mask each
// frame with their own key (RFC 6455 §5.3), so they encode it themselves.
// A PreparedMessage is safe for concurrent use and must not be modified.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	once  sync.Once
	frame []byte // header and payload, unmasked
}

// NewPreparedMessage prepares a message of type typ (Text or Binary) with
// payload data. It keeps data; the caller must not change it afterwards.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != Text && typ != Binary {
		return nil, ErrInvalidMessageType
	}
	return &PreparedMessage{typ: typ, data: data}, nil
}

// Type returns the message type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Data returns the payload. It must not be modified.
func (pm *PreparedMessage) Data() []byte { return pm.data }

// wire returns the encoded unmasked frame, building it once.
func (pm *PreparedMessage) wire() []byte {
	pm.once.Do(func() {
		h := frame.Header{Fin: true, Opcode: frame.Opcode(pm.typ), Length: int64(len(pm.data))}
		b := make([]byte, 0, h.Size()+len(pm.data))
		b = frame.AppendHeader(b, h)
		pm.frame = append(b, pm.data...)
	})
	return pm.frame
}

// WritePrepared sends a prepared message. It is safe for concurrent use,
// like WriteMessage, and behaves the same way on errors and contexts.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if c.role == RoleClient {
		return c.WriteMessage(ctx, pm.typ, pm.data)
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return err
	}
	defer c.msgSem.unlock()
	if err := c.acquire(ctx, &c.frameSem); err != nil {
		return err
	}
	defer c.frameSem.unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	if c.closeSent {
		return ErrClosed
	}
	stop := c.watch(ctx, true)
	c.startWriteTimeout()
	_, err := c.nc.Write(pm.wire())
	c.endWriteTimeout()
	if stop != nil && stop() && err != nil {
		err = ctxError(ctx, err)
	}
	if err != nil {
		c.writeErr = err
		c.closeTransport()
	}
	return err
}
