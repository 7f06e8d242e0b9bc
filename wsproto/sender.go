package wsproto

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/mask"
)

// Sender is the sending half of a connection: it turns messages and
// control frames into bytes. The zero value is not ready: use Init (or a
// Conn). A Sender is not safe for concurrent use.
type Sender struct {
	role      Role
	closeSent bool
	rng       *rand.ChaCha8 // masking keys; client only
	def       *deflateSend  // nil without permessage-deflate
}

// deflateSend is the sending side of permessage-deflate.
type deflateSend struct {
	params    deflate.Params
	level     int
	threshold int
	bits      int
	takeover  bool
	// cw is the compressor with context takeover; nil until the first
	// compressed message, and after ParkCompressor, which keeps only hist,
	// the history the next message may refer to.
	cw   *deflate.Compressor
	hist []byte
}

// Init makes s ready for a new connection with cfg.
func (s *Sender) Init(cfg Config) {
	*s = Sender{role: cfg.Role}
	if cfg.Role == Client {
		// RFC 6455 §5.3: masking keys come from a strong source of
		// entropy and must not be predictable. A ChaCha8 stream seeded
		// from crypto/rand is both, and costs no system call per frame.
		var seed [32]byte
		crand.Read(seed[:])
		s.rng = rand.NewChaCha8(seed)
	}
	if c := cfg.Compression; c != nil {
		d := &deflateSend{params: c.Params, level: c.Level, threshold: c.Threshold}
		if d.level == 0 {
			d.level = deflate.DefaultCompression
		}
		if d.threshold == 0 {
			d.threshold = DefaultCompressionThreshold
		}
		p := c.Params
		if cfg.Role == Server {
			d.bits, d.takeover = p.ServerWindowBits(), !p.ServerNoContextTakeover
		} else {
			d.bits, d.takeover = p.ClientWindowBits(), !p.ClientNoContextTakeover
		}
		s.def = d
	}
}

// Role returns the side s sends for.
func (s *Sender) Role() Role { return s.role }

// CloseSent reports whether s produced its close frame.
func (s *Sender) CloseSent() bool { return s.closeSent }

// Header returns the header of the next frame: opcode op, fin, RSV1 when
// compressed is set on a message's first frame (RFC 7692 §6), n bytes of
// payload, and on the client a fresh masking key (RFC 6455 §5.3). The
// driver writes the header (frame.AppendHeader) and the payload, masked
// with mask.Apply when the header says Masked. After the close frame it
// returns ErrClosed (RFC 6455 §5.5.1).
func (s *Sender) Header(op frame.Opcode, fin, compressed bool, n int) (frame.Header, error) {
	if s.closeSent {
		return frame.Header{}, ErrClosed
	}
	h := frame.Header{Fin: fin, Opcode: op, Length: int64(n)}
	if compressed && op != frame.OpContinuation {
		h.Rsv = frame.RSV1
	}
	if s.role == Client {
		h.Masked = true
		h.Key = s.newKey()
	}
	return h, nil
}

func (s *Sender) newKey() [4]byte {
	u := s.rng.Uint64()
	return [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}

// AppendFrame appends one frame with opcode op and payload to dst, masked
// on the client, and returns the extended buffer. compressed marks a
// message compressed with Compress (RSV1 on its first frame). It returns
// dst unchanged and ErrClosed after the close frame.
func (s *Sender) AppendFrame(dst []byte, op frame.Opcode, fin, compressed bool, payload []byte) ([]byte, error) {
	h, err := s.Header(op, fin, compressed, len(payload))
	if err != nil {
		return dst, err
	}
	return appendFrame(dst, h, payload), nil
}

func appendFrame(dst []byte, h frame.Header, payload []byte) []byte {
	dst = frame.AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		mask.Apply(h.Key, 0, dst[start:])
	}
	return dst
}

// scratchPool holds the buffers AppendMessage compresses into.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// AppendMessage appends a whole message of type typ to dst, as one frame,
// compressed when permessage-deflate is on and the payload is long enough.
func (s *Sender) AppendMessage(dst []byte, typ MessageType, payload []byte) ([]byte, error) {
	if typ != Text && typ != Binary {
		return dst, ErrInvalidMessageType
	}
	if s.closeSent {
		return dst, ErrClosed
	}
	if !s.Compresses(len(payload)) {
		return s.AppendFrame(dst, frame.Opcode(typ), true, false, payload)
	}
	bp := scratchPool.Get().(*[]byte)
	z := s.Compress((*bp)[:0], payload)
	dst, err := s.AppendFrame(dst, frame.Opcode(typ), true, true, z)
	if cap(z) <= 1<<20 {
		*bp = z[:0]
		scratchPool.Put(bp)
	}
	return dst, err
}

// Compresses reports whether a message of n bytes is sent compressed:
// permessage-deflate is on and n reaches the threshold.
func (s *Sender) Compresses(n int) bool {
	return s.def != nil && n >= s.def.threshold
}

// Compress appends the compressed payload of the message p to dst
// (RFC 7692 §7.2.1), with the connection's context takeover. Messages must
// be compressed in the order they are sent. The caller sends the result
// with compressed set; Compresses says whether to compress at all.
func (s *Sender) Compress(dst, p []byte) []byte {
	d := s.def
	if !d.takeover {
		cw := deflate.GetCompressor(d.bits, d.level)
		dst = cw.Compress(dst, p, false)
		deflate.PutCompressor(cw)
		return dst
	}
	if d.cw == nil {
		d.cw = deflate.GetCompressor(d.bits, d.level)
		if len(d.hist) > 0 {
			d.cw.SetHistory(d.hist)
			d.hist = nil
		}
	}
	return d.cw.Compress(dst, p, true)
}

// Compression returns the negotiated permessage-deflate parameters, and
// whether the extension is in use.
func (s *Sender) Compression() (deflate.Params, bool) {
	if s.def == nil {
		return deflate.Params{}, false
	}
	return s.def.params, true
}

// CompressionTakeover reports whether the Sender compresses with context
// takeover, and so has a history of its own (a prepared message compressed
// once cannot be sent as it is).
func (s *Sender) CompressionTakeover() bool { return s.def != nil && s.def.takeover }

// CompressionParams reports the window bits and level the Sender compresses
// with, and whether permessage-deflate is on.
func (s *Sender) CompressionParams() (bits, level int, ok bool) {
	if s.def == nil {
		return 0, 0, false
	}
	return s.def.bits, s.def.level, true
}

// HoldsCompressor reports whether the Sender holds a compressor with
// context takeover, which ParkCompressor can give back.
func (s *Sender) HoldsCompressor() bool { return s.def != nil && s.def.cw != nil }

// ParkCompressor gives the context-takeover compressor back to its pool,
// keeping only its history (at most 2^bits bytes), which primes the next
// compressor; a driver calls it when the connection has been quiet, since
// a compressor costs far more than its history (see package deflate). With
// keep false (the connection is closed) the history is dropped too.
func (s *Sender) ParkCompressor(keep bool) {
	d := s.def
	if d == nil || d.cw == nil {
		return
	}
	if keep {
		d.hist = d.cw.History(nil)
	}
	deflate.PutCompressor(d.cw)
	d.cw = nil
}

// ParkedHistory returns how many bytes of history ParkCompressor kept for
// the next compressor (0 while a compressor is held).
func (s *Sender) ParkedHistory() int {
	if s.def == nil {
		return 0
	}
	return len(s.def.hist)
}

// AppendPing appends a ping with payload (at most 125 bytes, RFC 6455
// §5.5) to dst.
func (s *Sender) AppendPing(dst, payload []byte) ([]byte, error) {
	return s.appendControl(dst, frame.OpPing, payload)
}

// AppendPong appends a pong with payload to dst; an unsolicited pong is a
// heartbeat that needs no answer (RFC 6455 §5.5.3).
func (s *Sender) AppendPong(dst, payload []byte) ([]byte, error) {
	return s.appendControl(dst, frame.OpPong, payload)
}

func (s *Sender) appendControl(dst []byte, op frame.Opcode, payload []byte) ([]byte, error) {
	if len(payload) > frame.MaxControlPayload {
		return dst, ErrControlTooLong
	}
	return s.AppendFrame(dst, op, true, false, payload)
}

// AppendClose appends the close frame with code and reason to dst (RFC
// 6455 §5.5.1); a code of 0 sends none. Codes that must not be sent and
// reasons over 123 bytes or not valid UTF-8 are refused before anything is
// produced (a *closecode.Error). After it, the Sender produces no frame.
func (s *Sender) AppendClose(dst []byte, code closecode.Code, reason string) ([]byte, error) {
	var buf [frame.MaxControlPayload]byte
	p, err := closecode.Append(buf[:0], code, reason)
	if err != nil {
		return dst, err
	}
	return s.appendClose(dst, p)
}

func (s *Sender) appendClose(dst, payload []byte) ([]byte, error) {
	dst, err := s.AppendFrame(dst, frame.OpClose, true, false, payload)
	if err == nil {
		s.closeSent = true
	}
	return dst, err
}

// MarkCloseSent records that the close frame is out without producing it,
// for a driver that gave up sending it (its write failed): the Sender then
// refuses every frame.
func (s *Sender) MarkCloseSent() { s.closeSent = true }

// AppendReply appends the answer that ev calls for to dst, if any:
//
//   - Ping: a pong with the same payload (RFC 6455 §5.5.2);
//   - Close: the echo of the peer's close, with its code (1000 for a close
//     without one), unless this side's close frame was already sent
//     (§5.5.1);
//   - Failed: the close frame with the event's code and a reason naming
//     the rule (§7.1.7).
//
// After the close frame nothing is appended: no answer is sent then.
func (s *Sender) AppendReply(dst []byte, ev Event) []byte {
	if s.closeSent {
		return dst
	}
	switch ev.Kind {
	case Ping:
		dst, _ = s.AppendFrame(dst, frame.OpPong, true, false, ev.Payload)
	case Close:
		// RFC 6455 §5.5.1: an endpoint that receives a close frame and
		// has not sent one sends one in response, typically echoing the
		// status code it received; a close without a status is
		// answered with 1000.
		code := ev.Code
		if code == closecode.NoStatus {
			code = closecode.Normal
		}
		var buf [2]byte
		p, _ := closecode.Append(buf[:0], code, "")
		dst, _ = s.appendClose(dst, p)
	case Failed:
		code := ev.Code
		if code == 0 {
			code = closecode.ProtocolError
		}
		var buf [frame.MaxControlPayload]byte
		p, err := closecode.Append(buf[:0], code, CloseReason(ev.Err))
		if err != nil {
			p, _ = closecode.Append(buf[:0], code, "")
		}
		dst, _ = s.appendClose(dst, p)
	}
	return dst
}
