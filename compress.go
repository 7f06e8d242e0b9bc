//go:build !js

package ws

import (
	"sync"
	"time"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/wsproto"
)

// Compression reports the negotiated permessage-deflate parameters, and
// whether the extension is in use on this connection.
func (c *Conn) Compression() (deflate.Params, bool) {
	return c.tx.Compression()
}

var compressedBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// compressMessage compresses p for sending if compression is on and p is
// long enough; msgSem must be held. It returns the payload to send, whether
// it is compressed, and a buffer to give back with releaseCompressed.
func (c *Conn) compressMessage(p []byte) ([]byte, bool, *[]byte) {
	if !c.tx.Compresses(len(p)) {
		return p, false, nil
	}
	bp := compressedBufPool.Get().(*[]byte)
	park := false
	if c.tx.CompressionTakeover() {
		x := c.extra()
		now := compressClock()
		switch {
		case c.tx.HoldsCompressor():
		case x.lastCompressed == 0 || now-x.lastCompressed > quietTicks:
			// The first message of the connection, or the first
			// after a quiet spell: the compressor goes back to the
			// pool right after it, and only its history stays.
			// Connections that send one message now and then (a
			// burst of new connections each sending a greeting, say)
			// then share a few compressors instead of holding one
			// each for a janitor period; the next message, if it
			// follows soon, borrows one again and keeps it.
			park = true
		default:
			compressJanitor.watch(c)
		}
		x.lastCompressed = now
		x.sendUsed = true
	}
	out := c.tx.Compress((*bp)[:0], p)
	if park {
		c.tx.ParkCompressor(true)
	}
	*bp = out
	return out, true, bp
}

// compressClockBase is the origin of compressClock.
var compressClockBase = time.Now()

// compressClock returns the time in ticks of 2^24 ns (about 17 ms) since
// compressClockBase, never 0 (which stands for "never"); it wraps after
// about two years, and differences are taken modulo 2^32.
func compressClock() uint32 {
	t := uint32(time.Since(compressClockBase) >> 24)
	if t == 0 {
		t = 1
	}
	return t
}

// quietTicks is the pause, in compressClock ticks, after which a
// connection's next message counts as the first of a new spell: the
// janitor's period, after which it would have taken the compressor back.
const quietTicks = uint32(janitorPeriod >> 24)

func releaseCompressed(bp *[]byte) {
	if bp != nil && cap(*bp) <= 1<<20 {
		compressedBufPool.Put(bp)
	}
}

// readCompressed reads the rest of a compressed message, whose first chunk
// is first, and appends the inflated message to buf. The core inflates it
// as it arrives (wsproto.Receiver.Inflate), from the read buffer, never
// holding the compressed payload whole, within the read limit (RFC 7692 §8
// leaves the limit to the endpoint): a bomb costs about the limit.
func (c *Conn) readCompressed(buf, first []byte) ([]byte, error) {
	start, capBefore := len(buf), cap(buf)
	out, err := c.rx.Inflate(buf, first, (*pieceSource)(c))
	c.inMsg = false
	if err != nil {
		if c.readError() != nil {
			// The connection failed while the payload was read.
			return buf, c.readError()
		}
		if f := c.rx.Failure(); f.Kind == wsproto.Failed {
			return buf, c.failed(f)
		}
		return buf, err
	}
	return trimMessage(out, start, capBefore), nil
}

// compressedPiece returns the next chunk of the compressed message being
// read, for the core's decompressor: reported by the core as it parses the
// read buffer, after a read if the buffer is empty. Control frames between
// its fragments are handled on the way.
func (c *Conn) compressedPiece() ([]byte, error) {
	if err := c.nextData(); err != nil {
		return nil, err
	}
	return c.takeChunk(), nil
}

// pieceSource is a Conn as the core's source of compressed chunks
// (wsproto.PieceSource): a pointer in an interface, where the method value
// c.compressedPiece would be allocated for every message.
type pieceSource Conn

func (p *pieceSource) NextPiece() ([]byte, error) { return (*Conn)(p).compressedPiece() }

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
	closed := c.State() == StateClosed
	if !c.tx.HoldsCompressor() {
		return true
	}
	if x := c.extra(); x.sendUsed && !closed {
		x.sendUsed = false
		return false
	}
	c.tx.ParkCompressor(!closed)
	return true
}
