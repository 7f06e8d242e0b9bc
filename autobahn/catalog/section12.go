package catalog

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"time"
	"unicode/utf8"
)

// Sections 12 and 13: permessage-deflate. Every case negotiates the
// extension (section 12 with autobahn's default offer, section 13 with the
// offers and answers of its subsection), then sends compressed messages
// one at a time, each after the echo of the one before, cut from one data
// set in turn, and checks that every echo equals what was sent. A case
// whose handshake negotiated no compression is UNIMPLEMENTED; one that does
// not finish within its time is FAILED.

// s12Size is one line of the original's MSG_SIZES: (payload length,
// message count, case timeout, auto-fragment size).
type s12Size struct {
	size, count int
	wait        time.Duration
	frag        int
}

// s12Sizes is the original's MSG_SIZES, shared by every subsection of
// sections 12 and 13.
var s12Sizes = []s12Size{
	{16, 1000, 60 * time.Second, 0},
	{64, 1000, 60 * time.Second, 0},
	{256, 1000, 120 * time.Second, 0},
	{1024, 1000, 240 * time.Second, 0},
	{4096, 1000, 480 * time.Second, 0},
	{8192, 1000, 480 * time.Second, 0},
	{16384, 1000, 480 * time.Second, 0},
	{32768, 1000, 480 * time.Second, 0},
	{65536, 1000, 480 * time.Second, 0},
	{131072, 1000, 480 * time.Second, 0},

	{8192, 1000, 480 * time.Second, 256},
	{16384, 1000, 480 * time.Second, 256},
	{32768, 1000, 480 * time.Second, 256},
	{65536, 1000, 480 * time.Second, 256},
	{131072, 1000, 480 * time.Second, 256},
	{131072, 1000, 480 * time.Second, 1024},
	{131072, 1000, 480 * time.Second, 4096},
	{131072, 1000, 480 * time.Second, 32768},
}

// s12Case is one case of sections 12 and 13.
type s12Case struct {
	id      string
	data    int // index into s12DataSets
	sz      s12Size
	comp    *Compression
	offerTx string // how the description names the offer
}

func (c s12Case) toCase() Case {
	return Case{
		ID: c.id,
		Description: fmt.Sprintf("Send %d compressed messages each of payload size %d, auto-fragment to %d octets. Use %s",
			c.sz.count, c.sz.size, c.sz.frag, c.offerTx),
		Expectation: fmt.Sprintf("Receive echo'ed messages (with payload as sent). Timeout case after %d secs.", int(c.sz.wait/time.Second)),
		Run:         c.run,
		Compression: c.comp,
	}
}

// compressionCapper is the session's view of Options.CompressionBytesPerCase.
type compressionCapper interface{ compressionCap() int64 }

func (s *session) compressionCap() int64 { return s.opts.CompressionBytesPerCase }

// s12Text is a text data set cut into code points: the original slices
// text by characters, so that every message is valid UTF-8, and counts its
// payload size in characters.
type s12Text struct {
	data   []byte
	starts []int // byte offset of each code point
}

func newS12Text(data []byte) *s12Text {
	t := &s12Text{data: data}
	for i := 0; i < len(data); {
		t.starts = append(t.starts, i)
		_, n := utf8.DecodeRune(data[i:])
		i += n
	}
	return t
}

// s12Slice returns data[from:to], wrapping around the end as the
// original's sendOne does: to <= from takes the rest and then the
// beginning.
func s12Slice(data []byte, from, to int) []byte {
	if to > from {
		return append([]byte(nil), data[from:to]...)
	}
	out := append([]byte(nil), data[from:]...)
	return append(out, data[:to]...)
}

func (c s12Case) run(s Session) {
	set := s12DataSets[c.data]
	data := s12Content(c.data)
	s.SetReportTime()
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
	s.SetWirelog(false)
	s.SetAutoFragmentSize(c.sz.frag)

	behavior := Failed
	result := fmt.Sprintf("Case did not finish within %d seconds.", int(c.sz.wait/time.Second))
	s.OnEnd(func(r *Result) {
		r.Behavior = behavior
		r.Result = result
		if behavior == Failed && s.DeflateError() != "" {
			r.Result = "The fuzzer failed the connection on a compressed message: " + s.DeflateError() + "."
		}
	})
	if _, ok := s.Deflate(); !ok {
		behavior = Unimplemented
		result = "The peer did not negotiate permessage-deflate."
		s.SendClose(1000, "")
		return
	}

	count := c.sz.count
	limited := ""
	if cp, ok := s.(compressionCapper); ok && cp.compressionCap() > 0 {
		if n := int((cp.compressionCap() + int64(c.sz.size) - 1) / int64(c.sz.size)); n < count {
			count = max(n, 1)
			limited = fmt.Sprintf(" (%d of the suite's %d messages: Options.CompressionBytesPerCase)", count, c.sz.count)
		}
	}

	var text *s12Text
	units := len(data)
	if !set.binary {
		text = newS12Text(data)
		units = len(text.starts)
	}
	ptr, sent := 0, 0
	var expected []byte
	sendOne := func() {
		to := (ptr + c.sz.size) % units
		if text != nil {
			expected = s12Slice(data, text.starts[ptr], text.starts[to])
		} else {
			expected = s12Slice(data, ptr, to)
		}
		ptr = to
		s.SendMessage(expected, set.binary)
		sent++
	}

	s.OnMessage(func(msg []byte, binary bool) {
		n := len(msg)
		if !set.binary {
			n = utf8.RuneCount(msg)
		}
		switch {
		case binary != set.binary:
			result = fmt.Sprintf("Echo'ed message type differs from what I sent (got binary %s, expected binary %s).", pyBool(binary), pyBool(set.binary))
		case n != c.sz.size:
			result = fmt.Sprintf("Echo'ed message length differs from what I sent (got length %d, expected length %d).", n, c.sz.size)
		case !bytes.Equal(msg, expected):
			result = fmt.Sprintf("Echo'ed message contents differs from what I sent (got SHA1 %x, expected SHA1 %x).", sha1.Sum(msg), sha1.Sum(expected))
		case sent < count:
			sendOne()
			return
		default:
			behavior = OK
			result = "Ok, received all echo'ed messages in time." + limited
			s.SetWirelog(true)
			s.SendClose(1000, "")
			return
		}
		behavior = Failed
		s.SetWirelog(true)
		s.SendClose(1000, "")
	})
	s.CloseAfter(c.sz.wait)
	sendOne()
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// section12 returns the cases of section 12: autobahn's default offer
// (client_no_context_takeover; client_max_window_bits) and default answer,
// over the five data sets.
func section12() []Case {
	comp := &Compression{
		ClientOffers: []DeflateOffer{DefaultDeflateOffer},
		ServerAccept: func(offers []DeflateOffer) *DeflateAccept {
			return &DeflateAccept{Offer: offers[0]}
		},
	}
	var out []Case
	for j := range s12DataSets {
		for i, sz := range s12Sizes {
			out = append(out, s12Case{
				id: fmt.Sprintf("12.%d.%d", j+1, i+1), data: j, sz: sz, comp: comp,
				offerTx: "default permessage-deflate offer.",
			}.toCase())
		}
	}
	return out
}
