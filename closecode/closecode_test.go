package closecode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// validRanges is the set of codes that may appear on the wire, written out
// independently of the implementation (RFC 6455 §7.4.1, §7.4.2, IANA).
var validRanges = [][2]int{
	{1000, 1003},
	{1007, 1011},
	{1012, 1014},
	{3000, 4999},
}

func wantValid(c int) bool {
	for _, r := range validRanges {
		if c >= r[0] && c <= r[1] {
			return true
		}
	}
	return false
}

func TestValidReceivedAndSendable(t *testing.T) {
	for c := 0; c <= 5100; c++ {
		want := wantValid(c)
		if got := Code(c).ValidReceived(); got != want {
			t.Errorf("Code(%d).ValidReceived() = %v, want %v", c, got, want)
		}
		if got := Code(c).Sendable(); got != want {
			t.Errorf("Code(%d).Sendable() = %v, want %v", c, got, want)
		}
	}
	for _, c := range []Code{5101, 9999, 65535} {
		if c.ValidReceived() || c.Sendable() {
			t.Errorf("Code(%d) accepted", c)
		}
	}
}

func TestConstants(t *testing.T) {
	tests := []struct {
		c    Code
		want uint16
	}{
		{Normal, 1000}, {GoingAway, 1001}, {ProtocolError, 1002},
		{UnsupportedData, 1003}, {Reserved, 1004}, {NoStatus, 1005},
		{Abnormal, 1006}, {InvalidPayload, 1007}, {PolicyViolation, 1008},
		{MessageTooBig, 1009}, {MandatoryExtension, 1010},
		{InternalError, 1011}, {ServiceRestart, 1012},
		{TryAgainLater, 1013}, {BadGateway, 1014}, {TLSHandshake, 1015},
	}
	for _, tt := range tests {
		if uint16(tt.c) != tt.want {
			t.Errorf("%s = %d, want %d", tt.c, uint16(tt.c), tt.want)
		}
	}
	if MaxReasonLen != 123 {
		t.Errorf("MaxReasonLen = %d", MaxReasonLen)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		c    Code
		want string
	}{
		{0, "0 (unused)"},
		{999, "999 (unused)"},
		{Normal, "1000 (normal closure)"},
		{GoingAway, "1001 (going away)"},
		{ProtocolError, "1002 (protocol error)"},
		{UnsupportedData, "1003 (unsupported data)"},
		{Reserved, "1004 (reserved)"},
		{NoStatus, "1005 (no status)"},
		{Abnormal, "1006 (abnormal closure)"},
		{InvalidPayload, "1007 (invalid payload data)"},
		{PolicyViolation, "1008 (policy violation)"},
		{MessageTooBig, "1009 (message too big)"},
		{MandatoryExtension, "1010 (mandatory extension)"},
		{InternalError, "1011 (internal error)"},
		{ServiceRestart, "1012 (service restart)"},
		{TryAgainLater, "1013 (try again later)"},
		{BadGateway, "1014 (bad gateway)"},
		{TLSHandshake, "1015 (TLS handshake failure)"},
		{1016, "1016 (reserved for protocol)"},
		{2999, "2999 (reserved for protocol)"},
		{3000, "3000 (registered)"},
		{3999, "3999 (registered)"},
		{4000, "4000 (private use)"},
		{4999, "4999 (private use)"},
		{5000, "5000 (invalid)"},
		{65535, "65535 (invalid)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Code(%d).String() = %q, want %q", uint16(tt.c), got, tt.want)
		}
	}
}

func codeOf(t *testing.T, err error) Code {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	if e.Rule == "" || !strings.Contains(e.Error(), e.Rule) {
		t.Errorf("Error() %q does not include rule %q", e.Error(), e.Rule)
	}
	if Code(e.CloseCode()) != e.Code {
		t.Errorf("CloseCode() = %d, want %d", e.CloseCode(), e.Code)
	}
	return e.Code
}

func TestParse(t *testing.T) {
	reason123 := strings.Repeat("a", 123)
	reason124 := strings.Repeat("a", 124)
	// "é" is 2 bytes: 61 of them plus one ASCII byte make 123 bytes.
	multi123 := strings.Repeat("é", 61) + "x"
	tests := []struct {
		name       string
		payload    []byte
		wantCode   Code
		wantReason string
		wantErr    Code // 0: no error; else the close code the error carries
	}{
		{"empty", nil, NoStatus, "", 0},
		{"empty non-nil", []byte{}, NoStatus, "", 0},
		{"one byte", []byte{0x03}, 0, "", ProtocolError},
		{"one byte zero", []byte{0x00}, 0, "", ProtocolError},
		{"1000", []byte{0x03, 0xe8}, Normal, "", 0},
		{"1003", []byte{0x03, 0xeb}, UnsupportedData, "", 0},
		{"1004 reserved", []byte{0x03, 0xec}, 0, "", ProtocolError},
		{"1005 no status", []byte{0x03, 0xed}, 0, "", ProtocolError},
		{"1006 abnormal", []byte{0x03, 0xee}, 0, "", ProtocolError},
		{"1007", []byte{0x03, 0xef}, InvalidPayload, "", 0},
		{"1011", []byte{0x03, 0xf3}, InternalError, "", 0},
		{"1014", []byte{0x03, 0xf6}, BadGateway, "", 0},
		{"1015 tls", []byte{0x03, 0xf7}, 0, "", ProtocolError},
		{"1016", []byte{0x03, 0xf8}, 0, "", ProtocolError},
		{"2999", []byte{0x0b, 0xb7}, 0, "", ProtocolError},
		{"3000", []byte{0x0b, 0xb8}, 3000, "", 0},
		{"4999", []byte{0x13, 0x87}, 4999, "", 0},
		{"5000", []byte{0x13, 0x88}, 0, "", ProtocolError},
		{"0", []byte{0x00, 0x00}, 0, "", ProtocolError},
		{"999", []byte{0x03, 0xe7}, 0, "", ProtocolError},
		{"65535", []byte{0xff, 0xff}, 0, "", ProtocolError},
		{"reason", append([]byte{0x03, 0xe9}, "bye"...), GoingAway, "bye", 0},
		{"reason 123", append([]byte{0x03, 0xe8}, reason123...), Normal, reason123, 0},
		{"reason 123 multibyte", append([]byte{0x03, 0xe8}, multi123...), Normal, multi123, 0},
		{"reason 124", append([]byte{0x03, 0xe8}, reason124...), 0, "", ProtocolError},
		{"huge", make([]byte, 1000), 0, "", ProtocolError},
		{"invalid utf8", []byte{0x03, 0xe8, 'a', 0xff}, 0, "", InvalidPayload},
		{"truncated utf8", []byte{0x03, 0xe8, 0xc3}, 0, "", InvalidPayload},
		{"overlong utf8", []byte{0x03, 0xe8, 0xc0, 0xaf}, 0, "", InvalidPayload},
		// U+D800 encoded as if it were a scalar value (CESU/WTF-8 style).
		{"surrogate", []byte{0x03, 0xe8, 0xed, 0xa0, 0x80}, 0, "", InvalidPayload},
		{"surrogate pair", []byte{0x03, 0xe8, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, 0, "", InvalidPayload},
		{"above max rune", []byte{0x03, 0xe8, 0xf4, 0x90, 0x80, 0x80}, 0, "", InvalidPayload},
		{"invalid code wins over utf8", []byte{0x03, 0xed, 0xff}, 0, "", ProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := Parse(tt.payload)
			if tt.wantErr != 0 {
				if err == nil {
					t.Fatalf("Parse(%x) = %v, %q, nil; want error with %v", tt.payload, code, reason, tt.wantErr)
				}
				if got := codeOf(t, err); got != tt.wantErr {
					t.Errorf("error code = %v, want %v (%v)", got, tt.wantErr, err)
				}
				if c, ok := Of(err); !ok || c != tt.wantErr {
					t.Errorf("Of(err) = %v, %v", c, ok)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%x) error: %v", tt.payload, err)
			}
			if code != tt.wantCode || reason != tt.wantReason {
				t.Errorf("Parse(%x) = %v, %q; want %v, %q", tt.payload, code, reason, tt.wantCode, tt.wantReason)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	reason123 := strings.Repeat("z", 123)
	tests := []struct {
		name    string
		code    Code
		reason  string
		want    []byte
		wantErr bool
	}{
		{"zero empty", 0, "", nil, false},
		{"nostatus empty", NoStatus, "", nil, false},
		{"zero with reason", 0, "x", nil, true},
		{"nostatus with reason", NoStatus, "x", nil, true},
		{"normal", Normal, "", []byte{0x03, 0xe8}, false},
		{"going away bye", GoingAway, "bye", []byte{0x03, 0xe9, 'b', 'y', 'e'}, false},
		{"private", 4321, "", []byte{0x10, 0xe1}, false},
		{"reason 123", Normal, reason123, append([]byte{0x03, 0xe8}, reason123...), false},
		{"reason 124", Normal, reason123 + "z", nil, true},
		{"abnormal", Abnormal, "", nil, true},
		{"tls", TLSHandshake, "", nil, true},
		{"reserved", Reserved, "", nil, true},
		{"999", 999, "", nil, true},
		{"2000", 2000, "", nil, true},
		{"5000", 5000, "", nil, true},
		{"invalid utf8", Normal, "\xff", nil, true},
		{"surrogate", Normal, "\xed\xa0\x80", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("pre")
			got, err := Append(prefix, tt.code, tt.reason)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Append(%v, %q) = %x, want error", tt.code, tt.reason, got)
				}
				codeOf(t, err)
				if !bytes.Equal(got, prefix) {
					t.Errorf("dst modified on error: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Append error: %v", err)
			}
			if want := append([]byte("pre"), tt.want...); !bytes.Equal(got, want) {
				t.Errorf("Append = %x, want %x", got, want)
			}
		})
	}
}

func TestRoundTripAllCodes(t *testing.T) {
	for c := 0; c <= 0xffff; c++ {
		p, err := Append(nil, Code(c), "r")
		if !wantValid(c) {
			if err == nil {
				t.Fatalf("Append(%d) succeeded", c)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Append(%d): %v", c, err)
		}
		code, reason, err := Parse(p)
		if err != nil || code != Code(c) || reason != "r" {
			t.Fatalf("Parse(Append(%d)) = %v, %q, %v", c, code, reason, err)
		}
	}
}

func TestParseAllocs(t *testing.T) {
	ok := append([]byte{0x03, 0xe8}, "hello"...)
	bare := []byte{0x03, 0xe8}
	bad := []byte{0x03, 0xe8, 0xff}
	for _, tt := range []struct {
		name    string
		payload []byte
		max     float64
	}{
		{"reason", ok, 1},
		{"no reason", bare, 0},
		{"empty", nil, 0},
		{"error", bad, 0},
		{"one byte", []byte{1}, 0},
	} {
		allocs := testing.AllocsPerRun(100, func() { _, _, _ = Parse(tt.payload) })
		if allocs > tt.max {
			t.Errorf("%s: %v allocs, want ≤ %v", tt.name, allocs, tt.max)
		}
	}
}

func TestCloseError(t *testing.T) {
	tests := []struct {
		e    *CloseError
		want string
	}{
		{&CloseError{GoingAway, "bye"}, `websocket: close 1001 (going away): "bye"`},
		{&CloseError{Normal, ""}, `websocket: close 1000 (normal closure)`},
		{&CloseError{4000, "a\"b"}, `websocket: close 4000 (private use): "a\"b"`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if Code(tt.e.CloseCode()) != tt.e.Code {
			t.Errorf("CloseCode() = %d", tt.e.CloseCode())
		}
	}
	var nilCE *CloseError
	if nilCE.CloseCode() != 0 || nilCE.Error() == "" {
		t.Error("nil *CloseError methods")
	}
	var nilE *Error
	if nilE.CloseCode() != 0 || nilE.Error() == "" {
		t.Error("nil *Error methods")
	}
}

// customErr is an error type from "another package" that carries a close
// code without importing closecode.
type customErr struct{ code uint16 }

func (e customErr) Error() string     { return fmt.Sprintf("custom %d", e.code) }
func (e customErr) CloseCode() uint16 { return e.code }

func TestErrorsAsWrapped(t *testing.T) {
	ce := &CloseError{Code: GoingAway, Reason: "bye"}
	wrapped := fmt.Errorf("read: %w", fmt.Errorf("conn: %w", ce))
	var got *CloseError
	if !errors.As(wrapped, &got) || got != ce {
		t.Fatalf("errors.As(*CloseError) failed on %v", wrapped)
	}

	_, _, perr := Parse([]byte{0x03, 0xe8, 0xff})
	wrapped = fmt.Errorf("frame: %w", perr)
	var pe *Error
	if !errors.As(wrapped, &pe) || pe.Code != InvalidPayload {
		t.Fatalf("errors.As(*Error) failed on %v", wrapped)
	}
}

func TestOf(t *testing.T) {
	_, _, perr := Parse([]byte{0x03})
	tests := []struct {
		name   string
		err    error
		want   Code
		wantOK bool
	}{
		{"nil", nil, 0, false},
		{"plain", errors.New("x"), 0, false},
		{"eof wrapped", fmt.Errorf("w: %w", io.EOF), 0, false},
		{"close error", &CloseError{Code: GoingAway}, GoingAway, true},
		{"close error wrapped", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &CloseError{Code: 4001})), 4001, true},
		{"parse error", perr, ProtocolError, true},
		{"parse error wrapped", fmt.Errorf("a: %w", perr), ProtocolError, true},
		{"custom", customErr{uint16(MessageTooBig)}, MessageTooBig, true},
		{"custom wrapped", fmt.Errorf("frame: %w", customErr{1002}), ProtocolError, true},
		{"custom zero", customErr{0}, 0, false},
		{"joined", errors.Join(io.EOF, fmt.Errorf("x: %w", customErr{1009})), MessageTooBig, true},
		{"outermost wins", fmt.Errorf("%w", &wrapErr{customErr{1011}, &CloseError{Code: 1000}}), InternalError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Of(tt.err)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Of(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// wrapErr carries a code and wraps another error carrying a different one.
type wrapErr struct {
	customErr
	inner error
}

func (e *wrapErr) Unwrap() error { return e.inner }

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0xe8})
	f.Add(append([]byte{0x03, 0xe9}, "bye"...))
	f.Add([]byte{0x03, 0xed})
	f.Add([]byte{0x03, 0xe8, 0xed, 0xa0, 0x80})
	f.Add(append([]byte{0x0f, 0xa0}, strings.Repeat("x", 123)...))
	f.Fuzz(func(t *testing.T, payload []byte) {
		code, reason, err := Parse(payload)
		if err != nil {
			if c, ok := Of(err); !ok || (c != ProtocolError && c != InvalidPayload) {
				t.Fatalf("Parse(%x) error %v carries code %v, %v", payload, err, c, ok)
			}
			return
		}
		if len(payload) == 0 {
			if code != NoStatus || reason != "" {
				t.Fatalf("Parse(empty) = %v, %q", code, reason)
			}
			return
		}
		if !code.ValidReceived() || len(reason) > MaxReasonLen {
			t.Fatalf("Parse(%x) accepted %v, %d-byte reason", payload, code, len(reason))
		}
		out, err := Append(nil, code, reason)
		if err != nil {
			t.Fatalf("Append(%v, %q) after Parse(%x): %v", code, reason, payload, err)
		}
		if !bytes.Equal(out, payload) {
			t.Fatalf("round trip: Parse(%x) → Append = %x", payload, out)
		}
	})
}
