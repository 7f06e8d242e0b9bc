//go:build !js

package ws

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/mask"
	"github.com/rfc6455/ws/utf8"
)

// deflateState is a connection's compression state; nil when the extension
// is not in use.
type deflateState struct {
	params    deflate.Params
	level     int
	threshold int

	// Sending: guarded by msgSem (messages are compressed in the order
	// they go out).
	sendBits     int
	sendTakeover bool
	cw           *deflate.Compressor // held only with context takeover, while messages are sent
	cbufPool     *sync.Pool
	// With context takeover a connection that sends nothing compressed for
	// about a second gives its compressor back to the pool (see
	// compressJanitor) and keeps only hist, the history its next message
	// may refer to (at most 2^sendBits bytes); the next compressor is
	// primed with it.
	hist     []byte
	sendUsed bool // a message was compressed since the janitor last looked

	// Receiving: owned by the reader.
	recvBits     int
	recvTakeover bool
	dr           *deflate.Decompressor  // held only with context takeover
	piece        func() ([]byte, error) // the Conn's compressedPiece
}

func newDeflateState(role Role, cfg *Compression) *deflateState {
	d := &deflateState{params: cfg.Params, level: cfg.Level, threshold: cfg.Threshold}
	if d.level == 0 {
		d.level = deflate.DefaultCompression
	}
	if d.threshold == 0 {
		d.threshold = DefaultCompressionThreshold
	}
	p := cfg.Params
	if role == RoleServer {
		d.sendBits, d.sendTakeover = p.ServerWindowBits(), !p.ServerNoContextTakeover
		d.recvBits, d.recvTakeover = p.ClientWindowBits(), !p.ClientNoContextTakeover
	} else {
		d.sendBits, d.sendTakeover = p.ClientWindowBits(), !p.ClientNoContextTakeover
		d.recvBits, d.recvTakeover = p.ServerWindowBits(), !p.ServerNoContextTakeover
	}
	return d
}

// Compression reports the negotiated permessage-deflate parameters, and
// whether the extension is in use on this connection.
func (c *Conn) Compression() (deflate.Params, bool) {
	if c.deflate == nil {
		return deflate.Params{}, false
	}
	return c.deflate.params, true
}

var compressedBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// compressMessage compresses p for sending if compression is on and p is
// long enough; msgSem must be held. It returns the payload to send, whether
// it is compressed, and a buffer to give back with releaseCompressed.
func (c *Conn) compressMessage(p []byte) ([]byte, bool, *[]byte) {
	d := c.deflate
	if d == nil || len(p) < d.threshold {
		return p, false, nil
	}
	bp := compressedBufPool.Get().(*[]byte)
	var out []byte
	if d.sendTakeover {
		if d.cw == nil {
			d.cw = deflate.GetCompressor(d.sendBits, d.level)
			if len(d.hist) > 0 {
				d.cw.SetHistory(d.hist)
				d.hist = nil
			}
			compressJanitor.watch(c)
		}
		d.sendUsed = true
		out = d.cw.Compress((*bp)[:0], p, true)
	} else {
		cw := deflate.GetCompressor(d.sendBits, d.level)
		out = cw.Compress((*bp)[:0], p, false)
		deflate.PutCompressor(cw)
	}
	*bp = out
	return out, true, bp
}

func releaseCompressed(bp *[]byte) {
	if bp != nil && cap(*bp) <= 1<<20 {
		compressedBufPool.Put(bp)
	}
}

// Errors for the rules permessage-deflate adds to framing.
var (
	errRSV1Control = &closecode.Error{Code: closecode.ProtocolError,
		Rule: "RSV1 set on a control frame (RFC 7692 §6.1)"}
	errRSV1Continuation = &closecode.Error{Code: closecode.ProtocolError,
		Rule: "RSV1 set on a continuation frame (RFC 7692 §6.1)"}
)

// checkRSV applies RFC 7692 §6.1 to a frame header: RSV1 (the "Per-Message
// Compressed" bit) only on the first frame of a data message.
func (c *Conn) checkRSV() error {
	if c.deflate == nil || c.hdr.Rsv&frame.RSV1 == 0 {
		return nil
	}
	if c.hdr.Opcode.IsControl() {
		return c.fail(closecode.ProtocolError, "", errRSV1Control)
	}
	if c.hdr.Opcode == frame.OpContinuation {
		return c.fail(closecode.ProtocolError, "", errRSV1Continuation)
	}
	return nil
}

// readCompressed reads the rest of a compressed message (its first header
// was read) and appends the inflated message to buf. The read limit applies
// to the inflated size, enforced while inflating (RFC 7692 §8 leaves it to
// the endpoint), so a compression bomb is cut at the limit. The compressed
// payload is inflated as it arrives, from the read buffer, and never held
// whole: a bomb costs about the limit (see package grow), whatever its
// compressed size.
func (c *Conn) readCompressed(buf []byte) ([]byte, error) {
	d := c.deflate
	limit := c.readLim.Load()
	if limit <= 0 {
		limit = -1
	}
	hint := int(min(c.p.Remaining(), 1<<30)) // the first frame's payload
	start, capBefore := len(buf), cap(buf)
	var out []byte
	var err error
	if d.recvTakeover {
		if d.dr == nil {
			d.dr = deflate.NewDecompressor(d.recvBits)
		}
		out, err = d.dr.DecompressFrom(buf, d.piece, hint, limit, true)
	} else {
		dr := deflate.GetDecompressor(d.recvBits)
		out, err = dr.DecompressFrom(buf, d.piece, hint, limit, false)
		deflate.PutDecompressor(dr)
	}
	if err == nil {
		// RFC 7692 §7.2.3.4: a block with BFINAL set may end the
		// data before the payload does; the rest is skipped.
		for err == nil {
			_, err = c.compressedPiece()
		}
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		if c.readErr != nil {
			// The connection failed while the payload was read.
			return buf, c.readErr
		}
		code, _ := closecode.Of(err)
		if errors.Is(err, deflate.ErrTooLarge) {
			code = closecode.MessageTooBig
		}
		return buf, c.fail(code, "", err)
	}
	c.inMsg = false
	// RFC 6455 §8.1 on the inflated text.
	if c.msgType == Text && !utf8.Valid(out[len(buf):]) {
		return buf, c.fail(closecode.InvalidPayload, "invalid UTF-8", errInvalidUTF8)
	}
	return trimMessage(out, start, capBefore), nil
}

// compressedPiece returns the next piece of the payload of the compressed
// message being read, unmasked, for the decompressor: what the read buffer
// holds of it, after a read if it holds nothing; io.EOF after the
// message's last frame. Control frames between its fragments are handled
// on the way. The piece is valid until the next read.
func (c *Conn) compressedPiece() ([]byte, error) {
	for c.p.Remaining() == 0 {
		if c.hdr.Fin {
			return nil, io.EOF
		}
		if err := c.nextDataFrame(); err != nil {
			return nil, err
		}
	}
	if c.rpos == c.rend {
		if err := c.fill(); err != nil {
			return nil, c.readFailed(err)
		}
	}
	n := int(min(c.p.Remaining(), int64(c.rend-c.rpos)))
	piece := c.rbuf[c.rpos : c.rpos+n]
	c.rpos += n
	pos, _ := c.p.Consume(n)
	if c.hdr.Masked {
		mask.Apply(c.hdr.Key, pos, piece)
	}
	return piece, nil
}

// compressJanitor takes the compressors of quiet connections back. A
// compressor with context takeover holds its window, hash chains and block
// (about 160 KiB at 15 bits, see package deflate) for as long as the
// connection lives, while what the next message needs is only the history:
// at most 2^bits bytes. Every janitorPeriod the janitor looks at the
// connections holding one; a connection that compressed nothing since the
// previous look (so quiet for between one and two periods) keeps its
// history and gives the compressor back to the pool, and one that is closed
// gives it back. Its next message borrows a compressor and primes it with
// the history, a cost in proportion to the history's length paid once per
// quiet spell. The janitor's goroutine runs only while some connection
// holds a compressor.
var compressJanitor janitor

// janitorPeriod is how often the janitor looks.
const janitorPeriod = 500 * time.Millisecond

type janitor struct {
	mu      sync.Mutex
	conns   map[*Conn]struct{}
	running bool
}

// watch registers c, which now holds a compressor; msgSem is held.
func (j *janitor) watch(c *Conn) {
	j.mu.Lock()
	if j.conns == nil {
		j.conns = make(map[*Conn]struct{})
	}
	j.conns[c] = struct{}{}
	if !j.running {
		j.running = true
		go j.run()
	}
	j.mu.Unlock()
}

func (j *janitor) run() {
	t := time.NewTicker(janitorPeriod)
	defer t.Stop()
	var batch []*Conn
	for range t.C {
		j.mu.Lock()
		if len(j.conns) == 0 {
			j.running = false
			j.mu.Unlock()
			return
		}
		batch = batch[:0]
		for c := range j.conns {
			batch = append(batch, c)
		}
		j.mu.Unlock()
		for i, c := range batch {
			if j.sweep(c) {
				j.mu.Lock()
				delete(j.conns, c)
				j.mu.Unlock()
			}
			batch[i] = nil
		}
	}
}

// sweep gives c's compressor back if c was quiet since the last look or is
// closed, and reports whether it did.
func (j *janitor) sweep(c *Conn) bool {
	if !c.msgSem.tryLock() {
		return false // a message is being sent
	}
	defer c.msgSem.unlock()
	d := c.deflate
	closed := c.State() == StateClosed
	if d.cw == nil {
		return true
	}
	if d.sendUsed && !closed {
		d.sendUsed = false
		return false
	}
	if !closed {
		d.hist = d.cw.History(nil)
	}
	deflate.PutCompressor(d.cw)
	d.cw = nil
	return true
}
