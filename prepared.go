//go:build !js

package ws

import (
	"context"
	"net"
	"sync"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/wsproto"
)

// PreparedMessage is a message encoded once for many receivers, for
// broadcasts: its frame (header and payload) is built when it is made and
// written as is to every server-side connection, so that sending to N
// receivers costs N writes and no encoding. Client connections mask each
// frame with their own key (RFC 6455 §5.3), so they encode it themselves.
// A PreparedMessage owns its bytes and is safe for concurrent use. Make
// it with NewPreparedMessage; the zero value is not a message.
type PreparedMessage struct {
	typ   MessageType
	data  []byte // the payload: frame[header size:]
	frame []byte // header and payload, unmasked; nil in a zero PreparedMessage

	mu         sync.Mutex
	compressed map[[2]int][]byte // compressed frames by (window bits, level)
}

// NewPreparedMessage prepares a message of type typ (Text or Binary) with
// payload data. It copies data, once, into the frame it builds: the caller
// may reuse data as soon as it returns, so that a handler can broadcast
// the message it was handed (whose bytes are valid only during the call)
// as it is:
//
//	pm, err := ws.NewPreparedMessage(typ, data)
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != Text && typ != Binary {
		return nil, ErrInvalidMessageType
	}
	h := frame.Header{Fin: true, Opcode: frame.Opcode(typ), Length: int64(len(data))}
	n := h.Size()
	b := frame.AppendHeader(make([]byte, 0, n+len(data)), h)
	b = append(b, data...)
	return &PreparedMessage{typ: typ, data: b[n:len(b):len(b)], frame: b}, nil
}

// Type returns the message type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Data returns the payload. It must not be modified.
func (pm *PreparedMessage) Data() []byte { return pm.data }

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

// Frame returns the frame that sends pm, as it is, on a connection whose
// sending half is s, and true: the frame built by NewPreparedMessage, or,
// with permessage-deflate without context takeover, the message compressed
// once per window size and level for every such connection. It returns nil
// and false when s must encode the message itself (AppendMessage with
// Data): a client masks each frame with its own key (RFC 6455 §5.3), and a
// compressor with context takeover has its own history (RFC 7692 §7.1.1).
// The frame must not be modified. Frame is for drivers of the protocol core
// other than Conn, such as the event-loop server (package loop); it does
// not check whether s may still send (Sender.CloseSent).
func (pm *PreparedMessage) Frame(s *wsproto.Sender) ([]byte, bool) {
	if pm.frame == nil || s.Role() == wsproto.Client {
		return nil, false
	}
	if !s.Compresses(len(pm.data)) {
		return pm.frame, true
	}
	if s.CompressionTakeover() {
		return nil, false
	}
	bits, level, _ := s.CompressionParams()
	return pm.compressedWire(bits, level), true
}

// WritePrepared sends a prepared message. It is safe for concurrent use,
// like WriteMessage, and behaves the same way on errors and contexts.
//
// With permessage-deflate and no server context takeover, the message is
// compressed once per window size and level for all receivers. With context
// takeover each connection's compressor has its own history, so the message
// is compressed for each connection.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	if pm.frame == nil {
		return ErrInvalidMessageType // a zero PreparedMessage, not made by NewPreparedMessage
	}
	wire, ok := pm.Frame(&c.tx)
	if !ok {
		// A client masks with its own keys; a compressor with context
		// takeover has its own history: encode for this connection.
		return c.WriteMessage(ctx, pm.typ, pm.data)
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return err
	}
	defer c.msgSem.unlock()
	return c.writeUnder(ctx, true, 0, 0, nil, wire, nil, nil)
}

// WritePreparedBatch sends prepared messages in order, as WritePrepared
// would one after the other, but hands their frames to the network in one
// vectored write (writev on TCP), with no other writer's message between
// them: a broadcaster that finds several messages queued for a connection
// pays one system call for all of them instead of one each. On a client
// connection, or one compressing with context takeover, the messages are
// encoded for the connection and written one by one, in order. Errors and
// contexts behave as in WritePrepared; after an error, some of the
// messages may have been sent.
func (c *Conn) WritePreparedBatch(ctx context.Context, pms []*PreparedMessage) error {
	for _, pm := range pms {
		if pm.frame == nil {
			return ErrInvalidMessageType
		}
	}
	if len(pms) == 1 || c.role == RoleClient || c.tx.CompressionTakeover() {
		for _, pm := range pms {
			if err := c.WritePrepared(ctx, pm); err != nil {
				return err
			}
		}
		return nil
	}
	if len(pms) == 0 {
		return nil
	}
	if err := c.acquire(ctx, &c.msgSem); err != nil {
		return err
	}
	defer c.msgSem.unlock()
	batch := make(net.Buffers, len(pms))
	bits, level, _ := c.tx.CompressionParams()
	for i, pm := range pms {
		if c.tx.Compresses(len(pm.data)) {
			batch[i] = pm.compressedWire(bits, level)
		} else {
			batch[i] = pm.frame
		}
	}
	return c.writeUnder(ctx, true, 0, 0, nil, nil, batch, nil)
}
