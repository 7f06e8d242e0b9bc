package parser

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
)

// FuzzDecode feeds a text message and then nbin binary messages to a Decoder
// and checks, for every message, what it did against an independent model of
// the reference parser written with encoding/json and recursion (the model
// may recurse: json.Unmarshal bounds the depth):
//
//   - it never panics, and never keeps more than MaxAttachments attachments;
//   - it accepts exactly the packets the model accepts, with the same type,
//     namespace, ack id, payload and attachments, and refuses the others
//     with ErrInvalidPacket;
//   - an accepted packet encodes back to a text that decodes to the same
//     packet.
func FuzzDecode(f *testing.F) {
	for _, tc := range wireCases {
		f.Add([]byte(tc.text), uint8(len(tc.bins)))
	}
	for _, s := range []string{
		`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`[1:],
		`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		`abc`, `2{}`, `2abc["message-with-ack",1,"2",{"3":[false]}]`,
		`51-["a",{"_placeholder":true,"num":1}]`,
		`53-["a",[[[{"_placeholder":true,"num":2,"x":{"_placeholder":true,"num":7}}]]]]`,
		`510-["a"]`, `599999999999-["a"]`, `29007199254740991["a"]`, `29007199254740992["a"]`,
		`0/custom`, `0/custom,{"token":"abc"}`, `2/a,1["x",{"_placeholder":true,"num":0}]`,
		`2["\u0063onnect"]`, `2[-1.5e3]`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, text []byte, nbin uint8) {
		const max = 4
		d := Decoder{MaxAttachments: max}
		want := modelDecode(text, max)

		p, err := d.DecodeText(text)
		if want.err {
			if err == nil || p != nil {
				t.Fatalf("DecodeText(%q) = %+v, %v; the model refuses it", text, p, err)
			}
		} else if err != nil {
			t.Fatalf("DecodeText(%q): %v; the model accepts it", text, err)
		}
		// The attachments: what the model expects after each one.
		for k := 0; k < int(nbin)%8; k++ {
			bin := bytes.Repeat([]byte{byte(k)}, k)
			p2, err2 := d.DecodeBinary(bin)
			switch {
			case want.err || k >= want.n:
				// Nothing pending any more.
				if err2 == nil {
					t.Fatalf("attachment %d of %q accepted; nothing was pending", k, text)
				}
				continue
			case k < want.n-1:
				if p2 != nil || err2 != nil {
					t.Fatalf("attachment %d of %d of %q: %v, %v", k, want.n, text, p2, err2)
				}
				continue
			}
			// The last attachment completes the packet.
			want.bins = make([][]byte, want.n)
			for j := range want.bins {
				want.bins[j] = bytes.Repeat([]byte{byte(j)}, j)
			}
			okPH := modelPlaceholders(want.data, want.n)
			if !okPH {
				if err2 == nil {
					t.Fatalf("%q with %d attachments accepted; the model finds an illegal placeholder", text, want.n)
				}
				want.err = true
				continue
			}
			if err2 != nil {
				t.Fatalf("%q with %d attachments: %v", text, want.n, err2)
			}
			p = p2
		}
		if want.err || p == nil {
			if d.Pending() && len(d.pending.Attachments) > max {
				t.Fatalf("holding %d attachments", len(d.pending.Attachments))
			}
			return
		}
		got := modelPacket{typ: p.Type, nsp: p.Namespace, id: p.ID, hasID: p.HasID, data: p.Data, n: len(p.Attachments), bins: p.Attachments}
		if want.bins == nil && got.n == 0 {
			got.bins = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeText(%q) = %+v, model %+v", text, got, want)
		}
		again, err := Decode(p.AppendText(nil), p.Attachments...)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", p.AppendText(nil), err)
		}
		if again.Type != p.Type || again.Nsp() != p.Nsp() || again.ID != p.ID || again.HasID != p.HasID ||
			!bytes.Equal(again.Data, p.Data) || len(again.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip of %q: %+v, then %+v", text, p, again)
		}
	})
}

type modelPacket struct {
	typ   Type
	nsp   string
	id    uint64
	hasID bool
	data  []byte
	n     int
	bins  [][]byte
	err   bool
}

// modelDecode decodes a text message as the reference parser does, with the
// stricter checks this package documents (digits for counts, ack ids within
// 2^53-1, ACK with an id, ids only on events and acks).
func modelDecode(s []byte, max int) (m modelPacket) {
	fail := modelPacket{err: true}
	if len(s) == 0 || s[0] < '0' || s[0] > '6' {
		return fail
	}
	m.typ = Type(s[0] - '0')
	rest := string(s[1:])
	if m.typ.Binary() {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j == 0 || j == len(rest) || rest[j] != '-' {
			return fail
		}
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n > max {
			return fail
		}
		m.n = n
		rest = rest[j+1:]
	}
	m.nsp = "/"
	if len(rest) > 0 && rest[0] == '/' {
		j := 0
		for j < len(rest) && rest[j] != ',' {
			j++
		}
		m.nsp = rest[:j]
		rest = rest[j:]
		if len(rest) > 0 {
			rest = rest[1:]
		}
	}
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	if j > 0 {
		id, err := strconv.ParseUint(rest[:j], 10, 64)
		if err != nil || id > 1<<53-1 {
			return fail
		}
		m.id, m.hasID = id, true
		rest = rest[j:]
	}
	if m.hasID && m.typ != Event && m.typ != BinaryEvent && m.typ != Ack && m.typ != BinaryAck {
		return fail
	}
	if (m.typ == Ack || m.typ == BinaryAck) && !m.hasID {
		return fail
	}
	if rest == "" {
		switch m.typ {
		case Connect, Disconnect:
			return m
		}
		return fail
	}
	m.data = []byte(rest)
	var v any
	dec := json.NewDecoder(bytes.NewReader(m.data))
	dec.UseNumber()
	if dec.Decode(&v) != nil || dec.More() || !json.Valid(m.data) {
		return fail
	}
	switch m.typ {
	case Connect:
		if _, ok := v.(map[string]any); !ok {
			return fail
		}
	case Disconnect:
		return fail
	case ConnectError:
		switch v.(type) {
		case map[string]any, string:
		default:
			return fail
		}
	case Event, BinaryEvent:
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			return fail
		}
		switch name := a[0].(type) {
		case json.Number:
		case string:
			for _, r := range ReservedEvents {
				if name == r {
					return fail
				}
			}
		default:
			return fail
		}
	case Ack, BinaryAck:
		if _, ok := v.([]any); !ok {
			return fail
		}
	}
	// A binary packet declaring no attachment is complete at once; unlike
	// the reference, which leaves its placeholders as plain objects, a
	// placeholder in it refers to nothing and is refused.
	if m.typ.Binary() && m.n == 0 && !modelPlaceholders(m.data, 0) {
		return fail
	}
	return m
}

// modelPlaceholders is the reference's _reconstructPacket check, recursive.
func modelPlaceholders(data []byte, n int) bool {
	if data == nil {
		return true
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			if v["_placeholder"] == true {
				num, ok := v["num"].(json.Number)
				if !ok {
					return false
				}
				f, err := strconv.ParseFloat(string(num), 64)
				return err == nil && f == math.Trunc(f) && f >= 0 && f < float64(n)
			}
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		case []any:
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		}
		return true
	}
	return walk(v)
}
