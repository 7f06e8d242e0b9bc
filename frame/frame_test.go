package frame

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestAppendHeaderMinimalLengthEncoding(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		want []byte
	}{
		{"empty text", Header{Fin: true, Opcode: OpText}, []byte{0x81, 0x00}},
		{"125 bytes uses 7 bits", Header{Fin: true, Opcode: OpBinary, Length: 125}, []byte{0x82, 125}},
		{"126 bytes uses 16 bits", Header{Fin: true, Opcode: OpBinary, Length: 126}, []byte{0x82, 126, 0, 126}},
		{"65535 bytes uses 16 bits", Header{Opcode: OpText, Length: 65535}, []byte{0x01, 126, 0xFF, 0xFF}},
		{"65536 bytes uses 64 bits", Header{Fin: true, Opcode: OpBinary, Length: 65536}, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"masked ping", Header{Fin: true, Opcode: OpPing, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: 5}, []byte{0x89, 0x85, 1, 2, 3, 4}},
		{"rsv1 first fragment", Header{Rsv: RSV1, Opcode: OpText, Length: 1}, []byte{0x41, 0x01}},
		{"all rsv", Header{Fin: true, Rsv: RSV1 | RSV2 | RSV3, Opcode: OpClose}, []byte{0xF8, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendHeader(nil, tt.h)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("AppendHeader = % x, want % x", got, tt.want)
			}
			if tt.h.Size() != len(got) {
				t.Fatalf("Size = %d, encoded %d bytes", tt.h.Size(), len(got))
			}
			p := Parser{AllowedRSV: RSV1 | RSV2 | RSV3}
			ev, n, err := p.Feed(got)
			if err != nil || ev.Kind != HeaderEvent || n != len(got) {
				t.Fatalf("Feed = %+v, %d, %v", ev, n, err)
			}
			if p.Header() != tt.h {
				t.Fatalf("round trip: got %+v, want %+v", p.Header(), tt.h)
			}
		})
	}
}

func TestAppendHeaderDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, MaxHeaderSize)
	h := Header{Fin: true, Opcode: OpBinary, Masked: true, Length: 1 << 20}
	if a := testing.AllocsPerRun(100, func() { buf = AppendHeader(buf[:0], h) }); a != 0 {
		t.Fatalf("AppendHeader allocated %v times", a)
	}
}

func TestOpcodeClasses(t *testing.T) {
	for op := Opcode(0); op < 16; op++ {
		reserved := (op >= 3 && op <= 7) || op >= 0xB
		if op.IsReserved() != reserved {
			t.Errorf("%v.IsReserved() = %v", op, op.IsReserved())
		}
		if op.IsControl() != (op >= 8) {
			t.Errorf("%v.IsControl() = %v", op, op.IsControl())
		}
	}
}

// frameBytes builds a raw frame from a header and payload, masking the
// payload when the header says so.
func frameBytes(h Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	b := AppendHeader(nil, h)
	start := len(b)
	b = append(b, payload...)
	if h.Masked {
		for i := range payload {
			b[start+i] ^= h.Key[i&3]
		}
	}
	return b
}

func TestParserRules(t *testing.T) {
	key := [4]byte{0xA, 0xB, 0xC, 0xD}
	masked := func(b0 byte, payload []byte) []byte {
		h := Header{Fin: b0&0x80 != 0, Rsv: (b0 >> 4) & 7, Opcode: Opcode(b0 & 0xF), Masked: true, Key: key}
		return frameBytes(h, payload)
	}
	tests := []struct {
		name   string
		role   Role
		rsv    uint8
		max    int64
		strict bool
		input  []byte
		want   error
	}{
		{"valid masked text to server", Server, 0, 0, false, masked(0x81, []byte("hi")), nil},
		{"reserved data opcode 3", Server, 0, 0, false, masked(0x83, nil), ErrReservedOpcode},
		{"reserved data opcode 7", Server, 0, 0, false, masked(0x87, nil), ErrReservedOpcode},
		{"reserved control opcode 0xB", Server, 0, 0, false, masked(0x8B, nil), ErrReservedOpcode},
		{"reserved control opcode 0xF", Server, 0, 0, false, masked(0x8F, nil), ErrReservedOpcode},
		{"rsv1 without extension", Server, 0, 0, false, masked(0xC1, nil), ErrReservedBits},
		{"rsv2 without extension", Server, 0, 0, false, masked(0xA1, nil), ErrReservedBits},
		{"rsv3 without extension", Server, 0, 0, false, masked(0x91, nil), ErrReservedBits},
		{"rsv1 claimed by extension", Server, RSV1, 0, false, masked(0xC1, nil), nil},
		{"rsv2 not claimed by extension using rsv1", Server, RSV1, 0, false, masked(0xA1, nil), ErrReservedBits},
		{"fragmented ping", Server, 0, 0, false, masked(0x09, nil), ErrFragmentedControl},
		{"fragmented close", Server, 0, 0, false, masked(0x08, nil), ErrFragmentedControl},
		{"ping with 126 bytes", Server, 0, 0, false, masked(0x89, make([]byte, 126)), ErrControlTooLong},
		{"ping with 125 bytes", Server, 0, 0, false, masked(0x89, make([]byte, 125)), nil},
		{"64-bit length with msb", Client, 0, 0, false, []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, ErrLengthMSB},
		{"unmasked frame to server", Server, 0, 0, false, []byte{0x81, 0x00}, ErrUnmaskedClientFrame},
		{"masked frame to client", Client, 0, 0, false, masked(0x81, nil), ErrMaskedServerFrame},
		{"unmasked frame to client", Client, 0, 0, false, []byte{0x81, 0x00}, nil},
		{"continuation without start", Server, 0, 0, false, masked(0x80, []byte("x")), ErrUnexpectedContinuation},
		{"new message inside fragmented", Server, 0, 0, false, append(masked(0x01, []byte("a")), masked(0x81, []byte("b"))...), ErrExpectedContinuation},
		{"ping inside fragmented is fine", Server, 0, 0, false, append(append(masked(0x01, []byte("a")), masked(0x89, nil)...), masked(0x80, []byte("b"))...), nil},
		{"frame over limit", Client, 0, 10, false, []byte{0x82, 11}, ErrTooLarge},
		{"frame at limit", Client, 0, 10, false, frameBytes(Header{Fin: true, Opcode: OpBinary}, make([]byte, 10)), nil},
		{"fragments summing over limit", Client, 0, 10, false, append(frameBytes(Header{Opcode: OpBinary}, make([]byte, 6)), 0x80, 5), ErrTooLarge},
		{"huge 64-bit length over limit before payload", Client, 0, 1 << 20, false, []byte{0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, ErrTooLarge},
		{"non-minimal 16-bit length accepted by default", Client, 0, 0, false, []byte{0x82, 126, 0, 5, 1, 2, 3, 4, 5}, nil},
		{"non-minimal 16-bit length strict", Client, 0, 0, true, []byte{0x82, 126, 0, 5, 1, 2, 3, 4, 5}, ErrNonMinimalLength},
		{"non-minimal 64-bit length strict", Client, 0, 0, true, []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5}, ErrNonMinimalLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 7, len(tt.input)} {
				p := Parser{Role: tt.role, AllowedRSV: tt.rsv, MaxMessage: tt.max, StrictLength: tt.strict}
				err := feedAll(&p, tt.input, chunk, nil)
				if !errors.Is(err, tt.want) {
					t.Fatalf("chunk %d: err = %v, want %v", chunk, err, tt.want)
				}
				if tt.want != nil {
					// The error sticks.
					if _, _, err2 := p.Feed([]byte{0x81}); err2 != tt.want {
						t.Fatalf("after error Feed returned %v", err2)
					}
					var fe *Error
					if !errors.As(err, &fe) || fe.CloseCode() == 0 {
						t.Fatalf("error %v carries no close code", err)
					}
				}
			}
		})
	}
}

func TestErrorCloseCodes(t *testing.T) {
	for _, e := range []*Error{ErrReservedOpcode, ErrReservedBits, ErrFragmentedControl, ErrControlTooLong,
		ErrLengthMSB, ErrNonMinimalLength, ErrUnmaskedClientFrame, ErrMaskedServerFrame,
		ErrUnexpectedContinuation, ErrExpectedContinuation} {
		if e.CloseCode() != 1002 {
			t.Errorf("%v: close code %d, want 1002", e, e.CloseCode())
		}
	}
	if ErrTooLarge.CloseCode() != 1009 {
		t.Errorf("ErrTooLarge: close code %d, want 1009", ErrTooLarge.CloseCode())
	}
}

type parsedFrame struct {
	h       Header
	payload []byte
}

// feedAll feeds input to p in chunks of the given size, unmasking payloads,
// and appends the frames found to *out when out is not nil.
func feedAll(p *Parser, input []byte, chunk int, out *[]parsedFrame) error {
	var cur *parsedFrame
	for off := 0; off < len(input); {
		end := min(off+chunk, len(input))
		b := input[off:end]
		for len(b) > 0 {
			ev, n, err := p.Feed(b)
			if err != nil {
				return err
			}
			b = b[n:]
			off += n
			switch ev.Kind {
			case HeaderEvent:
				if out != nil {
					*out = append(*out, parsedFrame{h: p.Header(), payload: []byte{}})
					cur = &(*out)[len(*out)-1]
				}
			case PayloadEvent:
				if cur != nil {
					h := cur.h
					for i, c := range ev.Payload {
						if h.Masked {
							c ^= h.Key[(ev.KeyPos+i)&3]
						}
						cur.payload = append(cur.payload, c)
					}
				}
			case NeedMore:
				if n != len(b)+n {
					return errors.New("NeedMore without consuming the input")
				}
			}
		}
	}
	return nil
}

func TestParserAnyChunkingGivesSameFrames(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want []parsedFrame
	for i := 0; i < 200; i++ {
		n := []int{0, 1, 125, 126, 127, 300, 65535, 65536, 70000}[r.IntN(9)]
		payload := make([]byte, n)
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		h := Header{Fin: true, Opcode: OpBinary, Masked: true}
		r2 := r.Uint32()
		h.Key = [4]byte{byte(r2), byte(r2 >> 8), byte(r2 >> 16), byte(r2 >> 24)}
		if r.IntN(4) == 0 {
			h.Opcode, payload = OpPing, payload[:min(n, 125)]
		}
		stream = append(stream, frameBytes(h, payload)...)
		h.Length = int64(len(payload))
		want = append(want, parsedFrame{h, payload})
	}
	for _, chunk := range []int{1, 2, 5, 13, 1000, len(stream)} {
		var got []parsedFrame
		p := Parser{Role: Server}
		if err := feedAll(&p, stream, chunk, &got); err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(want))
		}
		for i := range got {
			if got[i].h != want[i].h || !bytes.Equal(got[i].payload, want[i].payload) {
				t.Fatalf("chunk %d: frame %d differs: %+v", chunk, i, got[i].h)
			}
		}
	}
}

func TestParserConsumeOutsideFeed(t *testing.T) {
	payload := bytes.Repeat([]byte("abcdefg"), 100)
	h := Header{Fin: true, Opcode: OpText, Masked: true, Key: [4]byte{9, 8, 7, 6}}
	raw := frameBytes(h, payload)
	var p Parser
	ev, n, err := p.Feed(raw[:10])
	if err != nil || ev.Kind != HeaderEvent {
		t.Fatalf("Feed: %+v %v", ev, err)
	}
	rest := raw[n:]
	if p.Remaining() != int64(len(payload)) || len(rest) != len(payload) {
		t.Fatalf("Remaining = %d", p.Remaining())
	}
	pos, end := p.Consume(3)
	if pos != 0 || end {
		t.Fatalf("Consume(3) = %d, %v", pos, end)
	}
	pos, end = p.Consume(len(payload) - 3)
	if pos != 3 || !end {
		t.Fatalf("Consume(rest) = %d, %v", pos, end)
	}
	if p.InPayload() || p.Remaining() != 0 {
		t.Fatal("parser still in payload after the frame ended")
	}
}

func TestParserDoesNotAllocate(t *testing.T) {
	raw := frameBytes(Header{Fin: true, Opcode: OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}}, make([]byte, 300))
	p := Parser{Role: Server}
	a := testing.AllocsPerRun(100, func() {
		b := raw
		for len(b) > 0 {
			_, n, err := p.Feed(b)
			if err != nil {
				panic(err)
			}
			b = b[n:]
		}
	})
	if a != 0 {
		t.Fatalf("parsing a frame allocated %v times", a)
	}
}
