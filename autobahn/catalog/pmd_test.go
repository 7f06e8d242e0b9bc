package catalog

import (
	"bytes"
	"compress/flate"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rfc6455/ws/deflate"
)

// flateSync compresses msg with compress/flate and a sync flush, as a
// permessage-deflate payload with 00 00 ff ff put back.
func flateSync(t *testing.T, level int, msg []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	w.Flush()
	return b.Bytes()
}

// TestWalkerDistances checks the window walker on streams whose farthest
// reference is known: stored blocks refer to nothing, a period-p repetition
// refers back p bytes, and compress/flate on the JSON data refers back
// almost 32 KiB.
func TestWalkerDistances(t *testing.T) {
	var w deflateWalker
	json := s12Content(0)
	if d, err := w.maxDistance(flateSync(t, flate.NoCompression, json[:70000])); err != nil || d != 0 {
		t.Errorf("stored blocks: distance %d, %v; want 0", d, err)
	}
	for _, period := range []int{1, 3, 100, 300, 4000, 20000} {
		r := rand.New(rand.NewPCG(1, uint64(period)))
		unit := make([]byte, period)
		for i := range unit {
			unit[i] = byte(r.Uint32())
		}
		msg := bytes.Repeat(unit, 80000/period+2)
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
			d, err := w.maxDistance(flateSync(t, level, msg))
			want := period
			if level == flate.HuffmanOnly {
				want = 0
			}
			// compress/flate's level 1 matches at any multiple of the
			// period.
			if level == flate.BestSpeed && d%period == 0 && d >= period && d <= 32768 {
				want = d
			}
			if err != nil || d != want {
				t.Errorf("period %d, level %d: distance %d, %v; want %d", period, level, d, err, want)
			}
		}
	}
	if d, err := w.maxDistance(flateSync(t, flate.BestCompression, json)); err != nil || d < 16384 || d > 32768 {
		t.Errorf("JSON: distance %d, %v; want a far one", d, err)
	}
	// deflate.Compressor reaches up to, and never beyond, its window.
	for bits := 8; bits <= 15; bits++ {
		p := append(deflate.NewCompressor(bits, 9).Compress(nil, json[:100000], false), 0, 0, 0xff, 0xff)
		if d, err := w.maxDistance(p); err != nil || d <= 1<<(bits-1) || d > 1<<bits {
			t.Errorf("Compressor with %d bits: distance %d, %v", bits, d, err)
		}
	}
	// A short message gets a fixed Huffman block.
	if d, err := w.maxDistance(flateSync(t, flate.DefaultCompression, []byte("abcabcabcabc"))); err != nil || d != 3 {
		t.Errorf("fixed block: distance %d, %v; want 3", d, err)
	}
	if _, err := w.maxDistance([]byte{0x07, 0xff}); err == nil {
		t.Error("reserved block type: no error")
	}
	if _, err := w.maxDistance(flateSync(t, 6, json[:5000])[:100]); err == nil {
		t.Error("truncated data: no error")
	}
}

// TestFuzzerCompressionRoundTrip plays both ends of the fuzzer's
// permessage-deflate against each other for every window and takeover
// mode: what one compresses, the other inflates with compress/flate and
// checks against the window.
func TestFuzzerCompressionRoundTrip(t *testing.T) {
	data := s12Content(0)
	for bits := 8; bits <= 15; bits++ {
		for _, nct := range []bool{false, true} {
			p := DeflateParams{ServerNoContextTakeover: nct, ClientNoContextTakeover: !nct, ServerMaxWindowBits: bits, ClientMaxWindowBits: 23 - bits}
			srv, cli := newPMD(p, true), newPMD(p, false)
			off := 0
			for i, size := range []int{0, 1, 16, 300, 5000, 40000, 131072, 7, 65536} {
				msg := s12Slice(data, off, (off+size)%len(data))
				if size == 0 {
					msg = nil
				}
				off = (off + size) % len(data)
				for _, dir := range []struct{ from, to *pmdState }{{srv, cli}, {cli, srv}} {
					got, err := dir.to.decompress(dir.from.compress(msg))
					if err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("bits %d nct %t message %d (%d bytes): %v, equal %t", bits, nct, i, size, err, bytes.Equal(got, msg))
					}
				}
			}
		}
	}
}

// TestFuzzerRefusesFarReferences: a peer granted a 9-bit window that
// compresses with compress/flate's 32 KiB window is caught, with context
// takeover (a reference into the previous message) and without (within
// one message).
func TestFuzzerRefusesFarReferences(t *testing.T) {
	data := s12Content(0)
	st := newPMD(DeflateParams{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}, false)
	_, err := st.decompress(bytes.TrimSuffix(flateSync(t, 6, data[:20000]), []byte{0, 0, 0xff, 0xff}))
	if err == nil || !strings.Contains(err.Error(), "beyond the negotiated window of 512 bytes") {
		t.Fatalf("far reference within a message: %v", err)
	}
	// The same peer with a window of 15 bits is fine.
	st = newPMD(DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, false)
	if _, err := st.decompress(bytes.TrimSuffix(flateSync(t, 6, data[:20000]), []byte{0, 0, 0xff, 0xff})); err != nil {
		t.Fatal(err)
	}
	// Our Compressor at 9 bits stays within the window, message after
	// message.
	c := deflate.NewCompressor(9, 9)
	st = newPMD(DeflateParams{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}, false)
	for i := 0; i < 20; i++ {
		msg := data[i*1000 : i*1000+700]
		got, err := st.decompress(c.Compress(nil, msg, true))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// TestNegotiation checks the header forms and the rules of both roles.
func TestNegotiation(t *testing.T) {
	if got := DefaultDeflateOffer.String(); got != "permessage-deflate; client_no_context_takeover; client_max_window_bits" {
		t.Errorf("default offer %q", got)
	}
	comp := s13Params[6].compression()
	if got := clientOfferHeader(comp); got != "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, "+
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, "+
		"permessage-deflate; client_no_context_takeover; client_max_window_bits" {
		t.Errorf("13.7 offers %q", got)
	}
	// Server role: 13.7's answer prefers (True, 9).
	ext, p, err := serverNegotiate(comp, []string{"permessage-deflate; client_max_window_bits; server_max_window_bits=10"})
	if err != nil || ext != "permessage-deflate; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=9" ||
		*p != (DeflateParams{false, true, 10, 9}) {
		t.Errorf("13.7 answer %q %+v %v", ext, p, err)
	}
	// Without client_max_window_bits, accept5 and accept3 cannot apply.
	ext, _, _ = serverNegotiate(s13Params[2].compression(), []string{"permessage-deflate"})
	if ext != "" {
		t.Errorf("13.3 answer to an offer without client_max_window_bits: %q", ext)
	}
	for _, bad := range []string{
		"permessage-deflate; server_max_window_bits",
		"permessage-deflate; server_max_window_bits=7",
		"permessage-deflate; client_max_window_bits=16",
		"permessage-deflate; server_no_context_takeover=1",
		"permessage-deflate; foo",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
	} {
		if _, _, err := serverNegotiate(comp, []string{bad}); err == nil {
			t.Errorf("offer %q accepted", bad)
		}
	}
	if _, p, err := serverNegotiate(comp, []string{`x-other, permessage-deflate; server_max_window_bits="12"; client_max_window_bits`}); err != nil || p.ServerMaxWindowBits != 12 {
		t.Errorf("quoted value: %+v %v", p, err)
	}

	// Client role.
	c13_3 := s13Params[2].compression()
	for resp, ok := range map[string]bool{
		"": true,
		"permessage-deflate; server_max_window_bits=9":                            true,
		"permessage-deflate; server_max_window_bits=8; client_max_window_bits=10": true,
		"permessage-deflate; server_max_window_bits=10":                           false,
		"permessage-deflate": false,
		"permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=9": false,
		"x-webkit-deflate-frame": false,
		"permessage-deflate; server_max_window_bits=9; client_max_window_bits":          false,
		"permessage-deflate; server_max_window_bits=9; server_max_window_bits=9":        false,
		"permessage-deflate; server_max_window_bits=9; client_no_context_takeover=true": false,
	} {
		var vals []string
		if resp != "" {
			vals = []string{resp}
		}
		_, err := clientAccept(c13_3, vals)
		if (err == nil) != ok {
			t.Errorf("response %q: %v, want ok %t", resp, err, ok)
		}
	}
	// A response without client_max_window_bits is an error only when the
	// offer lacked it.
	noCMWB := &Compression{ClientOffers: []DeflateOffer{{RequestNoContextTakeover: true}}}
	if _, err := clientAccept(noCMWB, []string{"permessage-deflate; server_no_context_takeover; client_max_window_bits=9"}); err == nil {
		t.Error("client_max_window_bits not offered, but accepted")
	}
	if p, err := clientAccept(noCMWB, []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}); err != nil ||
		*p != (DeflateParams{true, true, 15, 15}) {
		t.Errorf("%+v %v", p, err)
	}
}

// TestSections12And13Shape checks the case numbers, counts and data sets
// against the original.
func TestSections12And13Shape(t *testing.T) {
	s12, s13 := section12(), section13()
	if len(s12) != 90 || len(s13) != 126 {
		t.Fatalf("%d and %d cases, want 90 and 126", len(s12), len(s13))
	}
	if s12[0].ID != "12.1.1" || s12[89].ID != "12.5.18" || s13[0].ID != "13.1.1" || s13[125].ID != "13.7.18" {
		t.Errorf("case IDs %s..%s, %s..%s", s12[0].ID, s12[89].ID, s13[0].ID, s13[125].ID)
	}
	for _, c := range append(s12, s13...) {
		if c.Compression == nil || len(c.Compression.ClientOffers) == 0 || c.Compression.ServerAccept == nil {
			t.Errorf("case %s has no compression setup", c.ID)
		}
	}
	want := []struct {
		binary bool
		size   int
	}{{false, 194056}, {true, 263222}, {true, 222218}, {false, 263527}, {true, 1042328}}
	for i, w := range want {
		d := s12Content(i)
		if len(d) != w.size || s12DataSets[i].binary != w.binary {
			t.Errorf("data set %d: %d bytes, binary %t", i, len(d), s12DataSets[i].binary)
		}
		if !w.binary && !utf8.Valid(d) {
			t.Errorf("data set %d is not UTF-8", i)
		}
	}
	if got := s13[6*18].Description; !strings.HasSuffix(got, "[(True, 9), (True, 0), (False, 0)]") {
		t.Errorf("13.7.1 description %q", got)
	}
}
