package frame

import (
	"bytes"
	"testing"
)

// FuzzParser feeds arbitrary bytes to a Parser, once whole and once in chunks
// whose sizes come from the input, and checks that both parses agree: the
// same frames, the same payloads, the same error. The parser must never
// panic, and every error it reports must carry a close code.
func FuzzParser(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}, uint8(0), uint8(1), uint64(3))
	f.Add([]byte{0x01, 0x81, 0, 0, 0, 0, 'a', 0x89, 0x80, 0, 0, 0, 0, 0x80, 0x81, 0, 0, 0, 0, 'b'}, uint8(1), uint8(0), uint64(1))
	f.Add([]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, uint8(2), uint8(0), uint64(7))
	f.Add([]byte{0x88, 0x02, 0x03, 0xE8}, uint8(2), uint8(4), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, role, rsv uint8, seed uint64) {
		cfg := Parser{Role: Role(role % 3), AllowedRSV: rsv & 7, MaxMessage: int64(seed % 100000), StrictLength: seed&1 == 1}
		whole := cfg
		var a []parsedFrame
		errA := feedAll(&whole, data, len(data)+1, &a)
		chunked := cfg
		var b []parsedFrame
		s := seed
		var errB error
		var cur *parsedFrame
		for off := 0; off < len(data) && errB == nil; {
			s = s*6364136223846793005 + 1442695040888963407
			n := int(s>>59) + 1 // 1..32
			end := min(off+n, len(data))
			chunk := data[off:end]
			for len(chunk) > 0 {
				ev, k, err := chunked.Feed(chunk)
				if err != nil {
					errB = err
					break
				}
				chunk = chunk[k:]
				off += k
				switch ev.Kind {
				case HeaderEvent:
					b = append(b, parsedFrame{h: chunked.Header(), payload: []byte{}})
					cur = &b[len(b)-1]
				case PayloadEvent:
					for i, c := range ev.Payload {
						if cur.h.Masked {
							c ^= cur.h.Key[(ev.KeyPos+i)&3]
						}
						cur.payload = append(cur.payload, c)
					}
				}
			}
		}
		if errA != errB {
			t.Fatalf("whole: %v, chunked: %v", errA, errB)
		}
		if errA != nil {
			if errA.(*Error).CloseCode() != 1002 && errA.(*Error).CloseCode() != 1009 {
				t.Fatalf("error %v has close code %d", errA, errA.(*Error).CloseCode())
			}
		}
		if len(a) != len(b) {
			t.Fatalf("whole found %d frames, chunked %d", len(a), len(b))
		}
		for i := range a {
			if a[i].h != b[i].h || !bytes.Equal(a[i].payload, b[i].payload) {
				t.Fatalf("frame %d differs", i)
			}
			h := a[i].h
			if h.Opcode.IsReserved() || (h.Opcode.IsControl() && (!h.Fin || h.Length > 125)) || h.Rsv&^cfg.AllowedRSV != 0 {
				t.Fatalf("frame %d breaks a rule but was accepted: %+v", i, h)
			}
			if int64(len(a[i].payload)) > h.Length {
				t.Fatalf("frame %d: payload longer than its header says", i)
			}
			// Re-encoding the header and payload parses to the same frame.
			if int64(len(a[i].payload)) == h.Length && h.Length < 1<<20 {
				re := frameBytes(h, a[i].payload)
				p := Parser{AllowedRSV: 7}
				if h.Opcode == OpContinuation {
					p.fragmented = true
				}
				var c []parsedFrame
				if err := feedAll(&p, re, len(re), &c); err != nil || len(c) != 1 || c[0].h != h || !bytes.Equal(c[0].payload, a[i].payload) {
					t.Fatalf("frame %d does not survive re-encoding: %v", i, err)
				}
			}
		}
	})
}
