package handshake

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestParseExtensionList(t *testing.T) {
	pmd := "permessage-deflate"
	for _, tc := range []struct {
		in   string
		want []Extension
	}{
		{"", nil},
		{" , ,", nil},
		{pmd, []Extension{{Name: pmd}}},
		{"permessage-deflate; client_max_window_bits", []Extension{{Name: pmd, Params: []Param{{Name: "client_max_window_bits"}}}}},
		{
			"permessage-deflate;server_no_context_takeover;client_max_window_bits=10",
			[]Extension{{Name: pmd, Params: []Param{{Name: "server_no_context_takeover"}, {Name: "client_max_window_bits", Value: "10"}}}},
		},
		{
			`permessage-deflate ; client_max_window_bits = "10" , x-foo;a="b\c" ,, bar`,
			[]Extension{
				{Name: pmd, Params: []Param{{Name: "client_max_window_bits", Value: "10"}}},
				{Name: "x-foo", Params: []Param{{Name: "a", Value: "bc"}}},
				{Name: "bar"},
			},
		},
		{"\tfoo\t;\tp\t", []Extension{{Name: "foo", Params: []Param{{Name: "p"}}}}},
		{"foo; p=1; p=2", []Extension{{Name: "foo", Params: []Param{{Name: "p", Value: "1"}, {Name: "p", Value: "2"}}}}},
	} {
		got, err := ParseExtensionList(tc.in)
		if err != nil {
			t.Errorf("ParseExtensionList(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseExtensionList(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseExtensionListRejects(t *testing.T) {
	for _, in := range []string{
		";",                 // no name
		"foo;",              // no parameter name
		"foo; =1",           // no parameter name
		"foo; p=",           // no value
		"foo; p= ,",         // no value
		`foo; p=""`,         // empty quoted value is not a token
		`foo; p="a b"`,      // quoted value is not a token
		`foo; p="10`,        // unterminated
		`foo; p="10\`,       // unterminated quoted-pair
		"foo; p=\"1\x010\"", // control character
		"foo bar",           // two tokens
		"foo; p=1 2",        // two values
		"foo; p==1",         // stray '='
		"fo\"o",             // quote inside a token
		"foo; p=(1)",        // separators are not tokens
		"foo; p=\"\\\x7f\"", // DEL in quoted-pair
		"foo\x00",           // NUL
		"foo; p=\"é\"",      // obs-text decodes but is not a token
		"foo,,bar;q=1;r=\"", // unterminated at the very end
	} {
		got, err := ParseExtensionList(in)
		if !errors.Is(err, ErrExtensionsHeader) {
			t.Errorf("ParseExtensionList(%q) = %+v, %v; want ErrExtensionsHeader", in, got, err)
		}
	}
}

func TestParseExtensionsRepeatedHeaders(t *testing.T) {
	h := http.Header{}
	h.Add("Sec-WebSocket-Extensions", "a; x=1, b")
	h.Add("Sec-WebSocket-Extensions", "a")
	got, err := ParseExtensions(h)
	if err != nil {
		t.Fatal(err)
	}
	want := []Extension{{Name: "a", Params: []Param{{Name: "x", Value: "1"}}}, {Name: "b"}, {Name: "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseExtensions = %+v, want %+v", got, want)
	}
	h.Add("Sec-WebSocket-Extensions", "c;")
	if _, err := ParseExtensions(h); !errors.Is(err, ErrExtensionsHeader) {
		t.Fatalf("a bad third line: error %v, want ErrExtensionsHeader", err)
	}
}

func TestFormatExtensions(t *testing.T) {
	got, err := FormatExtensions([]Extension{
		{Name: "permessage-deflate", Params: []Param{{Name: "server_no_context_takeover"}, {Name: "client_max_window_bits", Value: "10"}}},
		{Name: "x-foo"},
	})
	if want := "permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x-foo"; err != nil || got != want {
		t.Fatalf("FormatExtensions = %q, %v; want %q", got, err, want)
	}
	for _, bad := range [][]Extension{
		{{Name: ""}},
		{{Name: "a b"}},
		{{Name: "a", Params: []Param{{Name: "p;"}}}},
		{{Name: "a", Params: []Param{{Name: "p", Value: "x,y"}}}},
	} {
		if s, err := FormatExtensions(bad); err == nil {
			t.Errorf("FormatExtensions(%+v) = %q, want an error", bad, s)
		}
	}
}

func TestExtensionParam(t *testing.T) {
	e := Extension{Name: "x", Params: []Param{{Name: "a"}, {Name: "B", Value: "2"}}}
	if v, ok := e.Param("b"); !ok || v != "2" {
		t.Errorf(`Param("b") = %q, %v`, v, ok)
	}
	if v, ok := e.Param("a"); !ok || v != "" {
		t.Errorf(`Param("a") = %q, %v`, v, ok)
	}
	if _, ok := e.Param("c"); ok {
		t.Errorf(`Param("c") found`)
	}
	if got, want := e.String(), "x; a; B=2"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
