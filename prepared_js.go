//go:build js

package ws

import "context"

// PreparedMessage is a message made once for many sends. In the browser
// there is nothing to encode ahead of time (the browser frames and masks
// each message itself), so it only holds the type and payload, for code
// shared with servers.
type PreparedMessage struct {
	typ  MessageType
	data []byte
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

// WritePrepared sends pm as WriteMessage does.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	return c.WriteMessage(ctx, pm.typ, pm.data)
}
