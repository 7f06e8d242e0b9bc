package parser

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The examples of the protocol document's "Packet encoding" section, both
// ways.
var wireCases = []struct {
	name string
	text string
	bins []string
	p    Packet
}{
	{"connect main", `0`, nil, Packet{Type: Connect, Namespace: "/"}},
	{"connect reply", `0{"sid":"wZX3oN0bSVIhsaknAAAI"}`, nil, Packet{Type: Connect, Namespace: "/", Data: []byte(`{"sid":"wZX3oN0bSVIhsaknAAAI"}`)}},
	{"connect admin", `0/admin,`, nil, Packet{Type: Connect, Namespace: "/admin"}},
	{"connect admin reply", `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, nil, Packet{Type: Connect, Namespace: "/admin", Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}},
	{"connect error", `4{"message":"Not authorized"}`, nil, Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Not authorized"}`)}},
	{"event", `2["foo"]`, nil, Packet{Type: Event, Namespace: "/", Data: []byte(`["foo"]`)}},
	{"event admin", `2/admin,["bar"]`, nil, Packet{Type: Event, Namespace: "/admin", Data: []byte(`["bar"]`)}},
	{"binary event", `51-["baz",{"_placeholder":true,"num":0}]`, []string{"\x01\x02\x03\x04"},
		Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["baz",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3, 4}}}},
	{"binary event admin", `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, []string{"\x01\x02", "\x03\x04"},
		Packet{Type: BinaryEvent, Namespace: "/admin", Data: []byte(`["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1, 2}, {3, 4}}}},
	{"event with id", `212["foo"]`, nil, Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: []byte(`["foo"]`)}},
	{"ack", `312[]`, nil, Packet{Type: Ack, Namespace: "/", ID: 12, HasID: true, Data: []byte(`[]`)}},
	{"event admin id", `2/admin,13["foo"]`, nil, Packet{Type: Event, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["foo"]`)}},
	{"ack admin", `3/admin,13["bar"]`, nil, Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}},
	{"binary event id", `51-14["foo",{"_placeholder":true,"num":0}]`, []string{"\x01\x02\x03\x04"},
		Packet{Type: BinaryEvent, Namespace: "/", ID: 14, HasID: true, Data: []byte(`["foo",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3, 4}}}},
	{"binary ack", `61-15["bar",{"_placeholder":true,"num":0}]`, []string{"\x01\x02\x03\x04"},
		Packet{Type: BinaryAck, Namespace: "/", ID: 15, HasID: true, Data: []byte(`["bar",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2, 3, 4}}}},
	{"disconnect", `1`, nil, Packet{Type: Disconnect, Namespace: "/"}},
	{"disconnect admin", `1/admin,`, nil, Packet{Type: Disconnect, Namespace: "/admin"}},
	// From the official test suite.
	{"suite ack", `2456["message-with-ack",1,"2",{"3":[false]}]`, nil, Packet{Type: Event, Namespace: "/", ID: 456, HasID: true, Data: []byte(`["message-with-ack",1,"2",{"3":[false]}]`)}},
	{"numeric event name", `2[42,"x"]`, nil, Packet{Type: Event, Namespace: "/", Data: []byte(`[42,"x"]`)}},
	{"binary zero attachments", `50-["a"]`, nil, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`)}},
	{"connect error string", `4/x,"nope"`, nil, Packet{Type: ConnectError, Namespace: "/x", Data: []byte(`"nope"`)}},
}

func TestDecodeProtocolExamples(t *testing.T) {
	for _, tc := range wireCases {
		t.Run(tc.name, func(t *testing.T) {
			var bins [][]byte
			for _, b := range tc.bins {
				bins = append(bins, []byte(b))
			}
			p, err := Decode([]byte(tc.text), bins...)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.text, err)
			}
			want := tc.p
			if want.Attachments == nil && p.Type.Binary() {
				want.Attachments = p.Attachments // empty, allocated or not
			}
			if !reflect.DeepEqual(*p, want) {
				t.Fatalf("Decode(%q) = %+v, want %+v", tc.text, *p, want)
			}
		})
	}
}

func TestEncodeProtocolExamples(t *testing.T) {
	for _, tc := range wireCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			got := string(p.AppendText(nil))
			want := tc.text
			// The encoder writes the namespace with its comma even with
			// nothing after it, as the reference does.
			if got != want {
				t.Fatalf("AppendText = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeNamespaceWithoutComma(t *testing.T) {
	// socket.io-client writes "40/custom,", the official suite "40/custom".
	for _, s := range []string{"0/custom", "0/custom,", "1/custom"} {
		p, err := Decode([]byte(s))
		if err != nil || p.Namespace != "/custom" || p.Data != nil {
			t.Errorf("Decode(%q) = %+v, %v; want namespace /custom, no data", s, p, err)
		}
	}
	p, err := Decode([]byte(`0/custom,{"token":"abc"}`))
	if err != nil || p.Namespace != "/custom" || string(p.Data) != `{"token":"abc"}` {
		t.Fatalf("Decode with auth = %+v, %v", p, err)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name, text string
		bins       int
	}{
		{"empty", "", 0},
		{"unknown type letter", "abc", 0},
		{"unknown type 7", "7", 0},
		{"unknown type 9", `9["a"]`, 0},
		{"event payload object", `2{}`, 0},
		{"event payload empty array", `2[]`, 0},
		{"event no payload", `2`, 0},
		{"event name object", `2[{}]`, 0},
		{"event name null", `2[null]`, 0},
		{"event name reserved", `2["connect"]`, 0},
		{"event name reserved escaped", `2["\u0064isconnect"]`, 0},
		{"event name reserved newListener", `2["newListener"]`, 0},
		{"ack id letters", `2abc["message-with-ack",1]`, 0},
		{"invalid JSON", `2["a"`, 0},
		{"trailing garbage", `2["a"]x`, 0},
		{"ack not array", `31{}`, 0},
		{"ack without id", `3[]`, 0},
		{"ack without payload", `31`, 0},
		{"connect array", `0[]`, 0},
		{"connect string", `0"a"`, 0},
		{"disconnect payload", `1{}`, 0},
		{"connect error number", `41`, 0},
		{"connect error missing", `4`, 0},
		{"connect with id", `05{}`, 0},
		{"ack id beyond 2^53", `29007199254740992["a"]`, 0},
		{"ack id huge", "2" + strings.Repeat("9", 400) + `["a"]`, 0},
		{"attachments no dash", `51["a"]`, 0},
		{"attachments empty count", `5-["a"]`, 0},
		{"attachments letters", `5x-["a"]`, 0},
		{"attachments too many", `511-["a"]`, 0},
		{"attachments count huge", "5" + strings.Repeat("9", 40) + `-["a"]`, 0},
		{"placeholder out of range", `51-["a",{"_placeholder":true,"num":1}]`, 1},
		{"placeholder negative", `51-["a",{"_placeholder":true,"num":-1}]`, 1},
		{"placeholder fraction", `51-["a",{"_placeholder":true,"num":0.5}]`, 1},
		{"placeholder string num", `51-["a",{"_placeholder":true,"num":"0"}]`, 1},
		{"placeholder no num", `51-["a",{"_placeholder":true}]`, 1},
		{"placeholder with zero attachments", `50-["a",{"_placeholder":true,"num":0}]`, 0},
		{"placeholder deep", `51-["a",[[[{"x":{"_placeholder":true,"num":3}}]]]]`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bins := make([][]byte, tc.bins)
			for i := range bins {
				bins[i] = []byte{byte(i)}
			}
			p, err := Decode([]byte(tc.text), bins...)
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want an error", tc.text, p)
			}
			if !errors.Is(err, ErrInvalidPacket) {
				t.Fatalf("Decode(%q) error %v is not ErrInvalidPacket", tc.text, err)
			}
		})
	}
}

func TestDecoderSequence(t *testing.T) {
	var d Decoder
	if _, err := d.DecodeBinary([]byte{1}); err == nil {
		t.Fatal("binary message with nothing pending: no error")
	}
	p, err := d.DecodeText([]byte(`52-["m",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`))
	if p != nil || err != nil || !d.Pending() {
		t.Fatalf("DecodeText = %v, %v, pending %v; want nil, nil, true", p, err, d.Pending())
	}
	buf := []byte{1, 2, 3}
	if p, err = d.DecodeBinary(buf); p != nil || err != nil {
		t.Fatalf("first attachment: %v, %v", p, err)
	}
	buf[0] = 9 // the decoder must have copied it
	if p, err = d.DecodeBinary([]byte{4, 5, 6}); err != nil || p == nil {
		t.Fatalf("second attachment: %v, %v", p, err)
	}
	if !bytes.Equal(p.Attachments[0], []byte{1, 2, 3}) || !bytes.Equal(p.Attachments[1], []byte{4, 5, 6}) {
		t.Fatalf("attachments %v", p.Attachments)
	}
	if d.Pending() {
		t.Fatal("still pending after the last attachment")
	}
	// A text message while attachments are awaited is refused, and resets.
	if _, err := d.DecodeText([]byte(`51-["m",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DecodeText([]byte(`2["x"]`)); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("text while pending: %v", err)
	}
	if d.Pending() {
		t.Fatal("pending after an error")
	}
}

func TestMaxAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	if _, err := d.DecodeText([]byte(`53-["a"]`)); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("3 attachments with a limit of 2: %v", err)
	}
	if _, err := d.DecodeText([]byte(`52-["a"]`)); err != nil {
		t.Fatalf("2 attachments with a limit of 2: %v", err)
	}
}

func TestPlaceholders(t *testing.T) {
	data := []byte(`["m",{"_placeholder":true,"num":1},{"a":[{"num":0,"_placeholder":true}]},{"_placeholder":false,"num":7},{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":99}}]`)
	ph, err := Placeholders(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ph {
		got = append(got, string(data[p.Start:p.End]))
	}
	want := []string{`{"_placeholder":true,"num":1}`, `{"num":0,"_placeholder":true}`, `{"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":99}}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("placeholders %q, want %q", got, want)
	}
	if ph[0].Num != 1 || ph[1].Num != 0 || ph[2].Num != 0 {
		t.Fatalf("nums %+v", ph)
	}
	// Last member wins, as with JSON.parse.
	if ph, err := Placeholders([]byte(`[{"_placeholder":true,"_placeholder":false}]`), 0); err != nil || len(ph) != 0 {
		t.Fatalf("overridden _placeholder: %v, %v", ph, err)
	}
	if _, err := Placeholders([]byte(`[{"_placeholder":false,"_placeholder":true,"num":0}]`), 0); err == nil {
		t.Fatal("overriding to true with no attachments: no error")
	}
	// Escaped member names are member names.
	if ph, err := Placeholders([]byte(`[{"\u005fplaceholder":true,"n\u0075m":0}]`), 1); err != nil || len(ph) != 1 {
		t.Fatalf("escaped names: %v, %v", ph, err)
	}
}

func TestDeepNesting(t *testing.T) {
	// As deep as json.Valid allows: the walkers do not recurse.
	depth := 9000
	data := "51-[\"a\"," + strings.Repeat("[", depth) + `{"_placeholder":true,"num":0}` + strings.Repeat("]", depth) + "]"
	p, err := Decode([]byte(data), []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if ph, _ := Placeholders(p.Data, 1); len(ph) != 1 {
		t.Fatalf("%d placeholders", len(ph))
	}
	// Beyond it, the payload is not valid JSON for encoding/json.
	deeper := "2[\"a\"," + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "]"
	if _, err := Decode([]byte(deeper)); !errors.Is(err, ErrInvalidPacket) {
		t.Fatalf("20,000 levels: %v", err)
	}
}

func TestForEachElement(t *testing.T) {
	var got []string
	ForEachElement([]byte(` [ "a\"]" , {"b":[1,2]} ,3, true,null,[ ] ] `), func(i int, e []byte) bool {
		got = append(got, string(e))
		return true
	})
	want := []string{`"a\"]"`, `{"b":[1,2]}`, `3`, `true`, `null`, `[ ]`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTypeString(t *testing.T) {
	if BinaryAck.String() != "BINARY_ACK" || Type(9).String() != "Type(9)" {
		t.Fatal(BinaryAck.String(), Type(9).String())
	}
}

func TestEventName(t *testing.T) {
	for _, tc := range []struct {
		data string
		name string
		ok   bool
	}{
		{`["chat",1]`, "chat", true},
		{` [ "chat" ]`, "chat", true},
		{`["caf\u00e9"]`, "café", true},
		{`["a\"b"]`, `a"b`, true},
		{`[42,"x"]`, "42", true},
		{`[]`, "", false},
		{`[{"a":1}]`, "", false},
		{`[null]`, "", false},
	} {
		name, ok := EventName([]byte(tc.data))
		if name != tc.name || ok != tc.ok {
			t.Errorf("EventName(%s) = %q, %v; want %q, %v", tc.data, name, ok, tc.name, tc.ok)
		}
	}
}
