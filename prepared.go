package ws

import (
	"context"
	"sync"

	"github.com/rfc6455/ws/deflate"
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

	mu         sync.Mutex
	compressed map[[2]int][]byte // compressed frames by (window bits, level)
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

// compressedWire returns the frame compressed with a fresh history for the
// given window and level, building it once per pair.
func (pm *PreparedMessage) compressedWire(bits, level int) []byte {
	key := [2]int{bits, level}
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if b, ok := pm.compressed[key]; ok {
		return b
	}
	cw := deflate.GetCompressor(bits, level)
	payload := cw.Compress(nil, pm.data, false)
	deflate.PutCompressor(cw)
	h := frame.Header{Fin: true, Rsv: frame.RSV1, Opcode: frame.Opcode(pm.typ), Length: int64(len(payload))}
	b := frame.AppendHeader(make([]byte, 0, h.Size()+len(payload)), h)
	b = append(b, payload...)
	if pm.compressed == nil {
		pm.compressed = make(map[[2]int][]byte)
	}
	pm.compressed[key] = b
	return b
}

// WritePrepared sends a prepared message. It is safe for concurrent use,
// like WriteMessage, and behaves the same way on errors and contexts.
//
// With permessage-deflate and no server context takeover, the message is
// compressed once per window size and level for all receivers. With context
// takeover each connection's compressor has its own history, so the message
// is compressed for each connection.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	d := c.deflate
	compress := d != nil && len(pm.data) >= d.threshold
	if c.role == RoleClient || compress && d.sendTakeover {
		// A client masks with its own keys; a compressor with context
		// takeover has its own history: encode for this connection.
		return c.WriteMessage(ctx, pm.typ, pm.data)
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return err
	}
	defer c.msgSem.unlock()
	var wire []byte
	if compress {
		wire = pm.compressedWire(d.sendBits, d.level)
	} else {
		wire = pm.wire()
	}
	return c.writeUnder(ctx, true, 0, 0, nil, wire)
}
