package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rfc6455/ws"
)

// decoded is a packet as the tests compare them.
type decoded struct {
	kind byte
	typ  ws.MessageType
	data string
}

func decodeAll(body string) ([]decoded, error) {
	var got []decoded
	var scratch []byte
	err := decodePayload([]byte(body), &scratch, func(p packet) bool {
		got = append(got, decoded{p.kind, p.typ, string(p.data)})
		return true
	})
	return got, err
}

func TestDecodePayload(t *testing.T) {
	msg := func(s string) decoded { return decoded{packetMessage, ws.Text, s} }
	bin := func(s string) decoded { return decoded{packetMessage, ws.Binary, s} }
	tests := []struct {
		name string
		body string
		want []decoded
		err  error // nil: valid
	}{
		{"one message", "4hello", []decoded{msg("hello")}, nil},
		{"empty message", "4", []decoded{msg("")}, nil},
		{"several", "4test1\x1e4test2\x1e4test3", []decoded{msg("test1"), msg("test2"), msg("test3")}, nil},
		{"text and binary", "4hello\x1ebAQIDBA==", []decoded{msg("hello"), bin("\x01\x02\x03\x04")}, nil},
		{"binary without padding", "bAQIDBA", []decoded{bin("\x01\x02\x03\x04")}, nil},
		{"empty binary", "b", []decoded{bin("")}, nil},
		{"control packets", "3\x1e2probe\x1e5\x1e6\x1e1", []decoded{
			{packetPong, ws.Text, ""}, {packetPing, ws.Text, "probe"}, {packetUpgrade, ws.Text, ""},
			{packetNoop, ws.Text, ""}, {packetClose, ws.Text, ""}}, nil},
		{"multibyte text", "4€亜Б", []decoded{msg("€亜Б")}, nil},
		{"empty body", "", nil, errEmptyPacket},
		{"trailing separator", "4a\x1e", []decoded{msg("a")}, errEmptyPacket},
		{"leading separator", "\x1e4a", nil, errEmptyPacket},
		{"unknown type", "abc", nil, errPacketType},
		{"type 7", "7", nil, errPacketType},
		{"error after valid packets", "4a\x1e4b\x1ex", []decoded{msg("a"), msg("b")}, errPacketType},
		{"bad base64", "b!!!!", nil, errBadBase64},
		{"base64 bad length", "bAQIDB", nil, errBadBase64},
		{"base64 with whitespace", "bAQID BA==", nil, errBadBase64},
		{"invalid UTF-8", "4\xff", nil, errPacketUTF8},
		{"surrogate half", "4\xed\xa0\x80", nil, errPacketUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(tc.body)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("packet %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestDecodePayloadStopsWhenTold(t *testing.T) {
	var n int
	var scratch []byte
	err := decodePayload([]byte("4a\x1e1\x1e4b\x1ezzz"), &scratch, func(p packet) bool {
		n++
		return p.kind != packetClose
	})
	if err != nil || n != 2 {
		t.Fatalf("handled %d packets (error %v); want the 2 up to the close packet, and no error", n, err)
	}
}

func TestPolling_EncodesMessages(t *testing.T) {
	text, _ := newMessage(ws.Text, []byte("héllo"), true)
	binary, _ := newMessage(ws.Binary, []byte{1, 2, 3, 4}, true)
	shared, _ := NewPrepared(ws.Binary, []byte{1, 2, 3})
	for _, tc := range []struct {
		p    *Prepared
		want string
	}{
		{text, "4héllo"},
		{binary, "bAQIDBA=="},
		{shared, "bAQID"},
		{shared, "bAQID"}, // cached
		{pingPacket, "2"},
		{closePacket, "1"},
		{noopPacket, "6"},
	} {
		got := tc.p.appendPolling([]byte("x"))
		if string(got) != "x"+tc.want {
			t.Errorf("appendPolling = %q, want %q", got, "x"+tc.want)
		}
		if n := tc.p.pollingLen(); n != len(tc.want) {
			t.Errorf("pollingLen of %q = %d", tc.want, n)
		}
	}
}

func TestNewPreparedRejects(t *testing.T) {
	if _, err := NewPrepared(ws.Text, []byte("\xff")); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v, want ErrInvalidUTF8", err)
	}
	if _, err := NewPrepared(ws.MessageType(9), nil); !errors.Is(err, ws.ErrInvalidMessageType) {
		t.Errorf("message type 9: %v, want ws.ErrInvalidMessageType", err)
	}
	data := []byte{9, 8, 7}
	p, err := NewPrepared(ws.Binary, data)
	if err != nil || &p.Data()[0] != &data[0] || p.Type() != ws.Binary {
		t.Errorf("NewPrepared(binary) must keep the caller's slice: %v", err)
	}
}

// FuzzDecodePayload feeds arbitrary POST bodies to the payload decoder:
// it must never panic, every packet it hands out must be well formed, and
// a payload it accepts must encode back to itself (binary packets to the
// base64 of the same bytes, padded as they came).
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{
		"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA==", "bAQIDBA", "3", "2probe",
		"1", "5\x1e6", "", "\x1e", "abc", "4\xff", "b====", "b\x1e4", "4€\x1eb", "40{\"a\":1}\x1ebAA==",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var out [][]byte
		var scratch []byte
		err := decodePayload(body, &scratch, func(p packet) bool {
			if p.kind < packetOpen || p.kind > packetNoop {
				t.Fatalf("packet type %q handed out", p.kind)
			}
			if p.typ == ws.Text && !utf8.Valid(p.data) {
				t.Fatalf("invalid UTF-8 text %q handed out", p.data)
			}
			if p.typ == ws.Binary && p.kind != packetMessage {
				t.Fatalf("binary packet of type %q", p.kind)
			}
			var enc []byte
			if p.typ == ws.Binary {
				enc = append([]byte{binaryPrefix}, base64.StdEncoding.EncodeToString(p.data)...)
			} else {
				enc = append([]byte{p.kind}, p.data...)
			}
			out = append(out, enc)
			return true
		})
		if err != nil {
			if !errors.Is(err, errEmptyPacket) && !errors.Is(err, errPacketType) &&
				!errors.Is(err, errPacketUTF8) && !errors.Is(err, errBadBase64) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		parts := bytes.Split(body, []byte{separator})
		if len(parts) != len(out) {
			t.Fatalf("%d packets from %d parts", len(out), len(parts))
		}
		for i, part := range parts {
			want := part
			if len(part) > 0 && part[0] == binaryPrefix && len(part)%4 != 1 {
				// Accepted without padding: compare with the padding.
				want = append([]byte{binaryPrefix}, part[1:]...)
				for (len(want)-1)%4 != 0 {
					want = append(want, '=')
				}
			}
			if !bytes.Equal(out[i], want) {
				t.Fatalf("packet %d: %q encodes back to %q", i, part, out[i])
			}
		}
		if strings.Count(string(body), "\x1e")+1 != len(out) {
			t.Fatalf("packet count")
		}
	})
}
