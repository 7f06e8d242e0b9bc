package deflate

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"

	"github.com/rfc6455/ws/internal/grow"
)

// tail follows every message's payload: the 00 00 ff ff that the sender
// removed (RFC 7692 §7.2.2), then an empty stored block with BFINAL set, so
// that compress/flate ends with io.EOF instead of waiting for a next block.
// If the payload itself ends with a BFINAL block (RFC 7692 §7.2.3.4),
// inflating stops there and the tail is not read.
var tail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// source reads a payload and then the tail, as a flate.Reader (which
// includes io.ByteReader, so compress/flate adds no buffering of its own).
// The payload is p, followed by what more returns, if set.
type source struct {
	p    []byte
	more func() ([]byte, error)
	err  error // the error more returned, other than io.EOF
	tail bool  // p is the tail
}

func (s *source) next() bool {
	if s.tail || s.err != nil {
		return false
	}
	if s.more != nil {
		p, err := s.more()
		if len(p) > 0 {
			s.p = p
			return true
		}
		if err == nil {
			return true // nothing this time; ask again
		}
		if err != io.EOF {
			s.err = err
			return false
		}
		s.more = nil
	}
	s.p, s.tail = tail[:], true
	return true
}

func (s *source) Read(b []byte) (int, error) {
	for len(s.p) == 0 {
		if !s.next() {
			return 0, io.EOF
		}
	}
	n := copy(b, s.p)
	s.p = s.p[n:]
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	for len(s.p) == 0 {
		if !s.next() {
			return 0, io.EOF
		}
	}
	b := s.p[0]
	s.p = s.p[1:]
	return b, nil
}

// Decompressor inflates the messages of one direction of a connection
// (RFC 7692 §7.2.2) with compress/flate. For context takeover it keeps the
// last 2^windowBits bytes of output (at least 512: zlib compressors run an
// 8-bit window as a 9-bit one) to hand to the next message as its
// dictionary. The compress/flate reader it holds is about 43 KB and is
// allocated on first use.
//
// A Decompressor is not safe for concurrent use.
type Decompressor struct {
	fr       io.ReadCloser
	src      source
	probe    [1]byte
	hist     []byte // the last output, up to histSize bytes
	histSize int
	wbits    int
	keep     bool
}

// NewDecompressor returns a Decompressor for a peer that compresses with a
// window of 2^windowBits bytes; windowBits 0 means 15, other values are
// clamped to 8..15.
func NewDecompressor(windowBits int) *Decompressor {
	windowBits = normBits(windowBits)
	return &Decompressor{wbits: windowBits, histSize: 1 << max(windowBits, 9)}
}

// Reset makes d forget its history: the next message may not refer to
// earlier ones.
func (d *Decompressor) Reset() {
	d.keep = false
	d.hist = d.hist[:0]
}

// Decompress appends to dst the message inflated from a payload compressed
// as RFC 7692 §7.2.1 describes, and returns the extended slice. It stops as
// soon as the message would exceed limit bytes and returns ErrTooLarge, so
// that no more than limit+1 bytes are ever inflated; a negative limit means
// none. Invalid data gives an error wrapping ErrCorrupt. On error, dst is
// returned at its original length and d forgets its history.
//
// The payload may refer to the history of earlier messages if the previous
// call had takeover set (context takeover, RFC 7692 §7.1.1); with takeover
// false, the history is forgotten after this message.
func (d *Decompressor) Decompress(dst, payload []byte, limit int64, takeover bool) ([]byte, error) {
	return d.decompress(dst, source{p: payload}, len(payload), limit, takeover)
}

// DecompressFrom is Decompress for a payload that arrives in pieces, so
// that it never has to be held whole: more returns the next piece, valid
// until the next call, and io.EOF after the last one. An error other than
// io.EOF from more ends decompression and is returned as is. hint is the
// payload's size, or the size of its first part, as known; it sizes the
// first buffer, up to 64 KiB. If the payload ends with a block that has BFINAL set (RFC
// 7692 §7.2.3.4), what follows it is not read.
func (d *Decompressor) DecompressFrom(dst []byte, more func() ([]byte, error), hint int, limit int64, takeover bool) ([]byte, error) {
	return d.decompress(dst, source{more: more}, hint, limit, takeover)
}

func (d *Decompressor) decompress(dst []byte, src source, hint int, limit int64, takeover bool) ([]byte, error) {
	d.src = src
	defer func() { d.src = source{} }() // keep neither the payload nor the reader's callback
	var dict []byte
	if d.keep {
		dict = d.hist
	}
	if d.fr == nil {
		d.fr = flate.NewReaderDict(&d.src, dict)
	} else if err := d.fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
		return d.fail(dst, len(dst), err)
	}
	start := len(dst)
	for {
		produced := int64(len(dst) - start)
		if len(dst) == cap(dst) {
			// Probe with one byte before growing dst, so that a dst of
			// exactly the message's size is not grown to learn the end.
			n, err := d.fr.Read(d.probe[:])
			if n > 0 {
				if limit >= 0 && produced+1 > limit {
					return d.fail(dst, start, ErrTooLarge)
				}
				// Grown by the rule of package grow, so that a
				// bomb cut at the limit costs about the limit.
				// The first growth guesses four times the
				// payload, up to 64 KiB: what a header announces
				// has not arrived yet.
				most := int64(-1)
				if limit >= 0 {
					most = limit + 1 - produced
				}
				c := grow.Cap(produced, max(min(4*int64(hint), 64<<10)-produced, 1), most)
				nd := make([]byte, len(dst), int64(start)+c)
				copy(nd, dst)
				dst = append(nd, d.probe[0])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return d.fail(dst, start, err)
			}
			continue
		}
		room := dst[len(dst):cap(dst)]
		if limit >= 0 && int64(len(room)) > limit+1-produced {
			room = room[:limit+1-produced]
		}
		n, err := d.fr.Read(room)
		dst = dst[:len(dst)+n]
		if limit >= 0 && int64(len(dst)-start) > limit {
			return d.fail(dst, start, ErrTooLarge)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return d.fail(dst, start, err)
		}
	}
	if takeover {
		d.remember(dst[start:])
	} else {
		d.Reset()
	}
	return dst, nil
}

func (d *Decompressor) fail(dst []byte, start int, err error) ([]byte, error) {
	d.Reset()
	if d.src.err != nil {
		// The payload's source failed; the data may be fine.
		return dst[:start], d.src.err
	}
	if !errors.Is(err, ErrTooLarge) {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: truncated", ErrCorrupt)
		} else {
			err = fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return dst[:start], err
}

// remember keeps the last histSize bytes of the history followed by out.
func (d *Decompressor) remember(out []byte) {
	if d.hist == nil {
		d.hist = make([]byte, 0, d.histSize)
	}
	if !d.keep {
		d.hist = d.hist[:0]
	}
	d.keep = true
	if len(out) >= d.histSize {
		d.hist = append(d.hist[:0], out[len(out)-d.histSize:]...)
		return
	}
	if over := len(d.hist) + len(out) - d.histSize; over > 0 {
		d.hist = d.hist[:copy(d.hist, d.hist[over:])]
	}
	d.hist = append(d.hist, out...)
}
