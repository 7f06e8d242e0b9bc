package deflate

import (
	"fmt"
	"strings"
)

// ExtensionName is the extension token of permessage-deflate (RFC 7692 §7).
const ExtensionName = "permessage-deflate"

// The parameter names of RFC 7692 §7.1.
const (
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// Window sizes, as the base-2 logarithm of the LZ77 window in bytes
// (RFC 7692 §7.1.2).
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// NoValue, as Params.ClientMaxWindowBits, stands for client_max_window_bits
// present without a value, which only an offer may carry: the client can
// limit its window to whatever the server asks (RFC 7692 §7.1.2.2).
const NoValue = -1

// Param is one extension parameter as parsed from a Sec-WebSocket-Extensions
// header (RFC 6455 §9.1). Value is the parameter's value with any
// quoted-string form already unquoted by the caller (RFC 7692 §7.1: "the
// value MUST conform to the ABNF after any quoted-string unescaping");
// HasValue tells "name=value" from a bare "name".
type Param struct {
	Name     string
	Value    string
	HasValue bool
}

// Params holds the parameters of one permessage-deflate offer or response
// (RFC 7692 §7.1).
type Params struct {
	// ServerNoContextTakeover: the server does not keep its LZ77 history
	// from one message to the next (§7.1.1.1).
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client does not keep its LZ77 history
	// from one message to the next (§7.1.1.2).
	ClientNoContextTakeover bool
	// ServerMaxWindowBits limits the server's LZ77 window to
	// 2^ServerMaxWindowBits bytes, 8..15; 0 means absent, that is 15
	// (§7.1.2.1).
	ServerMaxWindowBits int
	// ClientMaxWindowBits limits the client's LZ77 window, 8..15; 0 means
	// absent (15); NoValue means present without a value, in an offer only
	// (§7.1.2.2).
	ClientMaxWindowBits int
}

// ServerWindowBits returns the window the server compresses with: 8..15.
func (p Params) ServerWindowBits() int { return effectiveBits(p.ServerMaxWindowBits) }

// ClientWindowBits returns the window the client compresses with: 8..15.
func (p Params) ClientWindowBits() int { return effectiveBits(p.ClientMaxWindowBits) }

func effectiveBits(b int) int {
	if b < MinWindowBits || b > MaxWindowBits {
		return MaxWindowBits
	}
	return b
}

// ParseParams checks the parameters of one permessage-deflate element of a
// Sec-WebSocket-Extensions header: an offer in a request, or the accepted
// element of a response (isResponse). It enforces RFC 7692 §7.1 and returns
// an error wrapping ErrParams for
//
//   - a parameter not defined for use there (§7: a server declines such an
//     offer, a client fails on such a response);
//   - the same parameter twice (§7);
//   - server_no_context_takeover or client_no_context_takeover with a value
//     (§7.1.1.1, §7.1.1.2: "This extension parameter has no value");
//   - server_max_window_bits without a value, or a window value that is not
//     a decimal integer from 8 to 15 without leading zeros (§7.1.2.1,
//     §7.1.2.2);
//   - client_max_window_bits without a value in a response (§7.1.2.2: the
//     server includes it "with a value").
//
// Parameter names are compared case-insensitively, as HTTP parameter names
// are (RFC 9110 §5.6.6).
func ParseParams(ps []Param, isResponse bool) (Params, error) {
	var p Params
	var seen [4]bool
	for _, q := range ps {
		var i int
		switch {
		case strings.EqualFold(q.Name, paramServerNoContextTakeover):
			i = 0
		case strings.EqualFold(q.Name, paramClientNoContextTakeover):
			i = 1
		case strings.EqualFold(q.Name, paramServerMaxWindowBits):
			i = 2
		case strings.EqualFold(q.Name, paramClientMaxWindowBits):
			i = 3
		default:
			return Params{}, fmt.Errorf("%w: unknown parameter %q (RFC 7692 §7)", ErrParams, q.Name)
		}
		if seen[i] {
			return Params{}, fmt.Errorf("%w: duplicate parameter %q (RFC 7692 §7)", ErrParams, q.Name)
		}
		seen[i] = true
		switch i {
		case 0, 1:
			if q.HasValue {
				return Params{}, fmt.Errorf("%w: %s takes no value (RFC 7692 §7.1.1)", ErrParams, q.Name)
			}
			if i == 0 {
				p.ServerNoContextTakeover = true
			} else {
				p.ClientNoContextTakeover = true
			}
		case 2:
			b, ok := parseWindowBits(q)
			if !ok {
				return Params{}, fmt.Errorf("%w: server_max_window_bits needs a value from 8 to 15, got %q (RFC 7692 §7.1.2.1)", ErrParams, q.Value)
			}
			p.ServerMaxWindowBits = b
		case 3:
			if !q.HasValue && !isResponse {
				p.ClientMaxWindowBits = NoValue
				break
			}
			b, ok := parseWindowBits(q)
			if !ok {
				return Params{}, fmt.Errorf("%w: client_max_window_bits needs a value from 8 to 15, got %q (RFC 7692 §7.1.2.2)", ErrParams, q.Value)
			}
			p.ClientMaxWindowBits = b
		}
	}
	return p, nil
}

// parseWindowBits accepts exactly "8" … "15": RFC 7692 §7.1.2.1's
// "decimal integer value without leading zeros between 8 to 15".
func parseWindowBits(q Param) (int, bool) {
	if !q.HasValue {
		return 0, false
	}
	switch v := q.Value; len(v) {
	case 1:
		if v[0] == '8' || v[0] == '9' {
			return int(v[0] - '0'), true
		}
	case 2:
		if v[0] == '1' && v[1] >= '0' && v[1] <= '5' {
			return 10 + int(v[1]-'0'), true
		}
	}
	return 0, false
}

var windowBitsText = [...]string{"", "", "", "", "", "", "", "", "8", "9", "10", "11", "12", "13", "14", "15"}

// Format returns p as extension parameters for a Sec-WebSocket-Extensions
// header, in the order of RFC 7692 §7.1, with lowercase names. Window
// values outside 8..15 (0 for absent) are left out, except NoValue in
// ClientMaxWindowBits, which gives a bare client_max_window_bits.
func (p Params) Format() []Param {
	ps := make([]Param, 0, 4)
	if p.ServerNoContextTakeover {
		ps = append(ps, Param{Name: paramServerNoContextTakeover})
	}
	if p.ClientNoContextTakeover {
		ps = append(ps, Param{Name: paramClientNoContextTakeover})
	}
	if b := p.ServerMaxWindowBits; b >= MinWindowBits && b <= MaxWindowBits {
		ps = append(ps, Param{Name: paramServerMaxWindowBits, Value: windowBitsText[b], HasValue: true})
	}
	if b := p.ClientMaxWindowBits; b >= MinWindowBits && b <= MaxWindowBits {
		ps = append(ps, Param{Name: paramClientMaxWindowBits, Value: windowBitsText[b], HasValue: true})
	} else if b == NoValue {
		ps = append(ps, Param{Name: paramClientMaxWindowBits})
	}
	return ps
}

// String formats p as it follows the extension name in a header, e.g.
// "; server_no_context_takeover; client_max_window_bits=10".
func (p Params) String() string {
	var b strings.Builder
	for _, q := range p.Format() {
		b.WriteString("; ")
		b.WriteString(q.Name)
		if q.HasValue {
			b.WriteByte('=')
			b.WriteString(q.Value)
		}
	}
	return b.String()
}

// ServerConfig is a server's permessage-deflate policy.
type ServerConfig struct {
	// ServerNoContextTakeover: the server compresses every message on its
	// own, even when the client did not ask (RFC 7692 §7.1.1.1 lets a
	// server include server_no_context_takeover in any response). The
	// compressor can then be pooled rather than held per connection.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the server tells the client not to use
	// context takeover (§7.1.1.2), so the server keeps no decompression
	// history per connection.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits caps the server's window, 8..15; 0 means 15.
	// Below 15 it is announced in every response (§7.1.2.1 allows that
	// even when the client did not offer the parameter).
	ServerMaxWindowBits int
	// ClientMaxWindowBits caps the client's window, 8..15; 0 means 15.
	// Below 15 the server declines offers without client_max_window_bits,
	// since it may send that parameter only to a client that offered it
	// (§7.1.2.2).
	ClientMaxWindowBits int
	// Level is the compression level for NewCompressor, 1..9; 0 means
	// DefaultCompression. Negotiation does not use it.
	Level int
	// Threshold: messages shorter than this many bytes are sent
	// uncompressed (RFC 7692 §6: RSV1 is set per message). Negotiation does
	// not use it.
	Threshold int
}

// Negotiate picks the first offer, in the client's order of preference
// (RFC 7692 §5), that the server can accept, and returns the response
// parameters; ok is false when it declines them all. Each offer is the
// parameter list of one permessage-deflate element of the request; offers
// of other extensions must not be passed.
//
// An offer is declined when ParseParams rejects it (RFC 7692 §7), or when
// cfg.ClientMaxWindowBits is below 15 and the offer has no
// client_max_window_bits (§7.1.2.2). Every server_max_window_bits from 8 to
// 15 is accepted: the response carries the smaller of the requested and the
// configured window (§7.1.2.1). A requested server_no_context_takeover is
// always honoured (§7.1.1.1, which requires it in the response), and a
// client_no_context_takeover hint is echoed (§7.1.1.2). A client window the
// client limited itself to is echoed too, so that the Params returned tell
// the server how much history it must keep to decompress.
func (cfg ServerConfig) Negotiate(offers [][]Param) (resp Params, ok bool) {
	for _, o := range offers {
		offer, err := ParseParams(o, false)
		if err != nil {
			continue
		}
		if resp, ok := cfg.accept(offer); ok {
			return resp, true
		}
	}
	return Params{}, false
}

func (cfg ServerConfig) accept(offer Params) (Params, bool) {
	sBits, cBits := effectiveBits(cfg.ServerMaxWindowBits), effectiveBits(cfg.ClientMaxWindowBits)
	resp := Params{
		ServerNoContextTakeover: offer.ServerNoContextTakeover || cfg.ServerNoContextTakeover,
		ClientNoContextTakeover: offer.ClientNoContextTakeover || cfg.ClientNoContextTakeover,
	}
	// §7.1.2.1: "the same or smaller value as the offer".
	switch {
	case offer.ServerMaxWindowBits > 0:
		resp.ServerMaxWindowBits = min(offer.ServerMaxWindowBits, sBits)
	case sBits < MaxWindowBits:
		resp.ServerMaxWindowBits = sBits
	}
	// §7.1.2.2: client_max_window_bits may appear in the response only if
	// it was offered, with a value no larger than the offered one.
	switch {
	case offer.ClientMaxWindowBits > 0:
		resp.ClientMaxWindowBits = min(offer.ClientMaxWindowBits, cBits)
	case offer.ClientMaxWindowBits == NoValue:
		if cBits < MaxWindowBits {
			resp.ClientMaxWindowBits = cBits
		}
	case cBits < MaxWindowBits:
		return Params{}, false
	}
	return resp, true
}

// ClientConfig is a client's permessage-deflate policy.
type ClientConfig struct {
	// ServerNoContextTakeover asks the server not to use context takeover
	// (RFC 7692 §7.1.1.1), so the client keeps no decompression history.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover announces that the client compresses every
	// message on its own (§7.1.1.2).
	ClientNoContextTakeover bool
	// ServerMaxWindowBits, 8..15, asks the server to limit its window
	// (§7.1.2.1); 0 asks nothing.
	ServerMaxWindowBits int
	// ClientMaxWindowBits, 8..15, announces the largest window the client
	// compresses with; 0 offers client_max_window_bits without a value,
	// since this package compresses with any window the server picks
	// (§7.1.2.2).
	ClientMaxWindowBits int
	// Level is the compression level for NewCompressor, 1..9; 0 means
	// DefaultCompression. Negotiation does not use it.
	Level int
	// Threshold: messages shorter than this many bytes are sent
	// uncompressed. Negotiation does not use it.
	Threshold int
}

func (cfg ClientConfig) offer() Params {
	p := Params{
		ServerNoContextTakeover: cfg.ServerNoContextTakeover,
		ClientNoContextTakeover: cfg.ClientNoContextTakeover,
		ClientMaxWindowBits:     NoValue,
	}
	if b := cfg.ServerMaxWindowBits; b >= MinWindowBits && b <= MaxWindowBits {
		p.ServerMaxWindowBits = b
	}
	if b := cfg.ClientMaxWindowBits; b >= MinWindowBits && b <= MaxWindowBits {
		p.ClientMaxWindowBits = b
	}
	return p
}

// Offer returns the parameters of the client's permessage-deflate offer.
func (cfg ClientConfig) Offer() []Param { return cfg.offer().Format() }

// Accept checks the parameters of the permessage-deflate element of the
// server's response against the offer cfg made, and returns the parameters
// in force. An error wraps ErrParams and means the client must fail the
// connection (RFC 7692 §7). Beyond ParseParams' rules, it is an error when
//
//   - the client asked for server_no_context_takeover and the response
//     lacks it (§7.1.1.1: the server MUST include it);
//   - the client asked for server_max_window_bits and the response lacks
//     it or carries a larger value (§7.1.2.1);
//   - client_max_window_bits in the response is larger than the value the
//     client offered (§7.1.2.2).
//
// The result has ClientNoContextTakeover set when the client announced it,
// and ClientMaxWindowBits set to the offered value when the response left
// it out, so that it describes how the client actually compresses.
func (cfg ClientConfig) Accept(resp []Param) (Params, error) {
	p, err := ParseParams(resp, true)
	if err != nil {
		return Params{}, err
	}
	offer := cfg.offer()
	if offer.ServerNoContextTakeover && !p.ServerNoContextTakeover {
		return Params{}, fmt.Errorf("%w: response lacks the requested server_no_context_takeover (RFC 7692 §7.1.1.1)", ErrParams)
	}
	if offer.ServerMaxWindowBits > 0 && (p.ServerMaxWindowBits == 0 || p.ServerMaxWindowBits > offer.ServerMaxWindowBits) {
		return Params{}, fmt.Errorf("%w: server_max_window_bits %d in response to an offer of %d (RFC 7692 §7.1.2.1)", ErrParams, p.ServerMaxWindowBits, offer.ServerMaxWindowBits)
	}
	if offer.ClientMaxWindowBits > 0 {
		if p.ClientMaxWindowBits > offer.ClientMaxWindowBits {
			return Params{}, fmt.Errorf("%w: client_max_window_bits %d in response to an offer of %d (RFC 7692 §7.1.2.2)", ErrParams, p.ClientMaxWindowBits, offer.ClientMaxWindowBits)
		}
		if p.ClientMaxWindowBits == 0 {
			p.ClientMaxWindowBits = offer.ClientMaxWindowBits
		}
	}
	if offer.ClientNoContextTakeover {
		p.ClientNoContextTakeover = true
	}
	return p, nil
}
