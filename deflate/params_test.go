package deflate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ps parses "a; b=1; c" into parameters: the test's shorthand for a header
// element's parameter list.
func ps(s string) []Param {
	var out []Param
	for _, f := range strings.Split(s, ";") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, value, has := strings.Cut(f, "=")
		out = append(out, Param{Name: name, Value: value, HasValue: has})
	}
	return out
}

func TestParseParams(t *testing.T) {
	type want struct {
		p   Params
		err bool
	}
	cases := []struct {
		in              string
		offer, response want
	}{
		{in: "", offer: want{p: Params{}}, response: want{p: Params{}}},
		{in: "server_no_context_takeover", offer: want{p: Params{ServerNoContextTakeover: true}}, response: want{p: Params{ServerNoContextTakeover: true}}},
		{in: "client_no_context_takeover", offer: want{p: Params{ClientNoContextTakeover: true}}, response: want{p: Params{ClientNoContextTakeover: true}}},
		{in: "Server_No_Context_Takeover", offer: want{p: Params{ServerNoContextTakeover: true}}, response: want{p: Params{ServerNoContextTakeover: true}}},
		{in: "server_max_window_bits=10", offer: want{p: Params{ServerMaxWindowBits: 10}}, response: want{p: Params{ServerMaxWindowBits: 10}}},
		{in: "client_max_window_bits=9", offer: want{p: Params{ClientMaxWindowBits: 9}}, response: want{p: Params{ClientMaxWindowBits: 9}}},
		// §7.1.2.2: without a value only in an offer.
		{in: "client_max_window_bits", offer: want{p: Params{ClientMaxWindowBits: NoValue}}, response: want{err: true}},
		// §7.1.2.1: server_max_window_bits always has a value.
		{in: "server_max_window_bits", offer: want{err: true}, response: want{err: true}},
		// §7.1.1: the takeover parameters have no value.
		{in: "server_no_context_takeover=1", offer: want{err: true}, response: want{err: true}},
		{in: "client_no_context_takeover=", offer: want{err: true}, response: want{err: true}},
		// §7: unknown and duplicate parameters.
		{in: "x-unknown", offer: want{err: true}, response: want{err: true}},
		{in: "server_no_context_takeover; x=1", offer: want{err: true}, response: want{err: true}},
		{in: "server_no_context_takeover; server_no_context_takeover", offer: want{err: true}, response: want{err: true}},
		{in: "client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER", offer: want{err: true}, response: want{err: true}},
		{in: "server_max_window_bits=10; server_max_window_bits=10", offer: want{err: true}, response: want{err: true}},
		{in: "client_max_window_bits; client_max_window_bits=10", offer: want{err: true}, response: want{err: true}},
		{
			in:       "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=15",
			offer:    want{p: Params{true, true, 8, 15}},
			response: want{p: Params{true, true, 8, 15}},
		},
	}
	// §7.1.2: values are "8" to "15" exactly.
	for _, bad := range []string{"7", "16", "08", "0", "", "+9", " 9", "9a", "015", "1", "1e1", "-8", "0x9", "99"} {
		for _, name := range []string{"server_max_window_bits", "client_max_window_bits"} {
			cases = append(cases, struct {
				in              string
				offer, response want
			}{in: name + "=" + bad, offer: want{err: true}, response: want{err: true}})
		}
	}
	for b := 8; b <= 15; b++ {
		cases = append(cases, struct {
			in              string
			offer, response want
		}{in: fmt.Sprintf("server_max_window_bits=%d", b), offer: want{p: Params{ServerMaxWindowBits: b}}, response: want{p: Params{ServerMaxWindowBits: b}}})
	}
	for _, tc := range cases {
		for _, isResponse := range []bool{false, true} {
			w := tc.offer
			if isResponse {
				w = tc.response
			}
			p, err := ParseParams(ps(tc.in), isResponse)
			if w.err {
				if err == nil || !errors.Is(err, ErrParams) {
					t.Errorf("%q (response=%v): got %+v, %v; want an ErrParams error", tc.in, isResponse, p, err)
				}
				continue
			}
			if err != nil || p != w.p {
				t.Errorf("%q (response=%v): got %+v, %v; want %+v", tc.in, isResponse, p, err, w.p)
			}
		}
	}
}

func TestFormatParsesBack(t *testing.T) {
	bits := []int{0, 8, 9, 10, 11, 12, 13, 14, 15}
	for _, snct := range []bool{false, true} {
		for _, cnct := range []bool{false, true} {
			for _, s := range bits {
				for _, c := range append(bits, NoValue) {
					p := Params{snct, cnct, s, c}
					got, err := ParseParams(p.Format(), false)
					if err != nil || got != p {
						t.Errorf("%+v: formatted %v, parsed back %+v, %v", p, p.Format(), got, err)
					}
				}
			}
		}
	}
	p := Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: NoValue}
	if got, want := p.String(), "; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name   string
		cfg    ServerConfig
		offers []string
		want   Params
		ok     bool
	}{
		{"no offer", ServerConfig{}, nil, Params{}, false},
		{"plain offer", ServerConfig{}, []string{""}, Params{}, true},
		{"server window asked", ServerConfig{}, []string{"server_max_window_bits=10"}, Params{ServerMaxWindowBits: 10}, true},
		{"server window below config", ServerConfig{ServerMaxWindowBits: 12}, []string{"server_max_window_bits=10"}, Params{ServerMaxWindowBits: 10}, true},
		{"server window above config", ServerConfig{ServerMaxWindowBits: 9}, []string{"server_max_window_bits=10"}, Params{ServerMaxWindowBits: 9}, true},
		{"server window unasked", ServerConfig{ServerMaxWindowBits: 12}, []string{""}, Params{ServerMaxWindowBits: 12}, true},
		{"client window bare, no limit", ServerConfig{}, []string{"client_max_window_bits"}, Params{}, true},
		{"client window bare, limit", ServerConfig{ClientMaxWindowBits: 10}, []string{"client_max_window_bits"}, Params{ClientMaxWindowBits: 10}, true},
		{"client window echoed", ServerConfig{}, []string{"client_max_window_bits=9"}, Params{ClientMaxWindowBits: 9}, true},
		{"client window under limit", ServerConfig{ClientMaxWindowBits: 12}, []string{"client_max_window_bits=9"}, Params{ClientMaxWindowBits: 9}, true},
		{"client window over limit", ServerConfig{ClientMaxWindowBits: 8}, []string{"client_max_window_bits=9"}, Params{ClientMaxWindowBits: 8}, true},
		{"client window limit needs offer", ServerConfig{ClientMaxWindowBits: 10}, []string{""}, Params{}, false},
		{"limit: second offer fits", ServerConfig{ClientMaxWindowBits: 10}, []string{"", "client_max_window_bits"}, Params{ClientMaxWindowBits: 10}, true},
		{"server_no_context_takeover honoured", ServerConfig{}, []string{"server_no_context_takeover"}, Params{ServerNoContextTakeover: true}, true},
		{"client_no_context_takeover echoed", ServerConfig{}, []string{"client_no_context_takeover"}, Params{ClientNoContextTakeover: true}, true},
		{"config adds both", ServerConfig{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, []string{""}, Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, true},
		{"preference order", ServerConfig{}, []string{"server_max_window_bits=10", ""}, Params{ServerMaxWindowBits: 10}, true},
		{"invalid first offer skipped", ServerConfig{}, []string{"x-foo", "server_max_window_bits=11"}, Params{ServerMaxWindowBits: 11}, true},
		{"duplicate first offer skipped", ServerConfig{}, []string{"server_no_context_takeover; server_no_context_takeover", "client_max_window_bits"}, Params{}, true},
		{"bad value skipped", ServerConfig{}, []string{"server_max_window_bits=7", "server_max_window_bits=16"}, Params{}, false},
		{"bare server window declined", ServerConfig{}, []string{"server_max_window_bits"}, Params{}, false},
		{"everything", ServerConfig{ServerMaxWindowBits: 14, ClientMaxWindowBits: 13},
			[]string{"server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits"},
			Params{true, true, 14, 13}, true},
	}
	for b := 8; b <= 15; b++ {
		cases = append(cases, struct {
			name   string
			cfg    ServerConfig
			offers []string
			want   Params
			ok     bool
		}{fmt.Sprintf("every server window: %d", b), ServerConfig{}, []string{fmt.Sprintf("server_max_window_bits=%d", b)}, Params{ServerMaxWindowBits: b}, true})
	}
	for _, tc := range cases {
		var offers [][]Param
		for _, o := range tc.offers {
			offers = append(offers, ps(o))
		}
		got, ok := tc.cfg.Negotiate(offers)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAccept(t *testing.T) {
	cases := []struct {
		name string
		cfg  ClientConfig
		resp string
		want Params
		err  bool
	}{
		{"plain", ClientConfig{}, "", Params{}, false},
		{"unasked server window", ClientConfig{}, "server_max_window_bits=9", Params{ServerMaxWindowBits: 9}, false},
		{"unasked server_no_context_takeover", ClientConfig{}, "server_no_context_takeover", Params{ServerNoContextTakeover: true}, false},
		{"client window set by server", ClientConfig{}, "client_max_window_bits=8", Params{ClientMaxWindowBits: 8}, false},
		{"client_no_context_takeover set by server", ClientConfig{}, "client_no_context_takeover", Params{ClientNoContextTakeover: true}, false},
		{"client window without value", ClientConfig{}, "client_max_window_bits", Params{}, true},
		{"asked server window granted", ClientConfig{ServerMaxWindowBits: 10}, "server_max_window_bits=10", Params{ServerMaxWindowBits: 10}, false},
		{"asked server window lowered", ClientConfig{ServerMaxWindowBits: 10}, "server_max_window_bits=8", Params{ServerMaxWindowBits: 8}, false},
		{"asked server window raised", ClientConfig{ServerMaxWindowBits: 10}, "server_max_window_bits=11", Params{}, true},
		{"asked server window ignored", ClientConfig{ServerMaxWindowBits: 10}, "", Params{}, true},
		{"offered client window raised", ClientConfig{ClientMaxWindowBits: 10}, "client_max_window_bits=12", Params{}, true},
		{"offered client window lowered", ClientConfig{ClientMaxWindowBits: 10}, "client_max_window_bits=9", Params{ClientMaxWindowBits: 9}, false},
		{"offered client window kept", ClientConfig{ClientMaxWindowBits: 10}, "", Params{ClientMaxWindowBits: 10}, false},
		{"asked server_no_context_takeover ignored", ClientConfig{ServerNoContextTakeover: true}, "", Params{}, true},
		{"asked server_no_context_takeover granted", ClientConfig{ServerNoContextTakeover: true}, "server_no_context_takeover", Params{ServerNoContextTakeover: true}, false},
		{"announced client_no_context_takeover", ClientConfig{ClientNoContextTakeover: true}, "", Params{ClientNoContextTakeover: true}, false},
		{"unknown parameter", ClientConfig{}, "x-foo", Params{}, true},
		{"duplicate parameter", ClientConfig{}, "server_max_window_bits=9; server_max_window_bits=9", Params{}, true},
		{"bad value", ClientConfig{}, "server_max_window_bits=16", Params{}, true},
	}
	for _, tc := range cases {
		got, err := tc.cfg.Accept(ps(tc.resp))
		if tc.err {
			if !errors.Is(err, ErrParams) {
				t.Errorf("%s: got %+v, %v; want an ErrParams error", tc.name, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestOffer(t *testing.T) {
	cases := []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{}, "; client_max_window_bits"},
		{ClientConfig{ServerMaxWindowBits: 10, ClientMaxWindowBits: 12}, "; server_max_window_bits=10; client_max_window_bits=12"},
		{ClientConfig{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, "; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"},
	}
	for _, tc := range cases {
		p, err := ParseParams(tc.cfg.Offer(), false)
		if err != nil || p.String() != tc.want {
			t.Errorf("%+v: offer %q, %v; want %q", tc.cfg, p.String(), err, tc.want)
		}
	}
}

// Every client configuration against every server configuration: what the
// server answers, the client accepts, and both sides agree on windows that
// respect both configurations.
func TestNegotiationEndToEnd(t *testing.T) {
	bits := []int{0, 8, 9, 10, 11, 12, 13, 14, 15}
	for _, cs := range bits {
		for _, cc := range bits {
			for _, ss := range bits {
				for _, sc := range bits {
					for flags := range 16 {
						ccfg := ClientConfig{ServerNoContextTakeover: flags&1 != 0, ClientNoContextTakeover: flags&2 != 0, ServerMaxWindowBits: cs, ClientMaxWindowBits: cc}
						scfg := ServerConfig{ServerNoContextTakeover: flags&4 != 0, ClientNoContextTakeover: flags&8 != 0, ServerMaxWindowBits: ss, ClientMaxWindowBits: sc}
						resp, ok := scfg.Negotiate([][]Param{ccfg.Offer()})
						if !ok {
							t.Fatalf("client %+v, server %+v: declined", ccfg, scfg)
						}
						got, err := ccfg.Accept(resp.Format())
						if err != nil {
							t.Fatalf("client %+v, server %+v: response %v rejected: %v", ccfg, scfg, resp, err)
						}
						s := got.ServerWindowBits()
						c := got.ClientWindowBits()
						if s > effectiveBits(ss) || cs != 0 && s > cs || c > effectiveBits(sc) || cc != 0 && c > cc ||
							resp.ServerWindowBits() != s || resp.ClientWindowBits() != c {
							t.Fatalf("client %+v, server %+v: windows server %d client %d (server sees %d %d)", ccfg, scfg, s, c, resp.ServerWindowBits(), resp.ClientWindowBits())
						}
						if got.ServerNoContextTakeover != (flags&5 != 0) || got.ClientNoContextTakeover != (flags&10 != 0) ||
							resp.ServerNoContextTakeover != got.ServerNoContextTakeover || resp.ClientNoContextTakeover != got.ClientNoContextTakeover {
							t.Fatalf("client %+v, server %+v: takeover flags %+v vs %+v", ccfg, scfg, got, resp)
						}
					}
				}
			}
		}
	}
}
