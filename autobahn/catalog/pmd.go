package catalog

// permessage-deflate (RFC 7692) on the fuzzing peer, as the original suite's
// autobahn speaks it: a client sends the case's offers and takes whatever
// valid response the server gives; a server answers the client's offers with
// the case's accept function. The fuzzing peer compresses with this
// project's deflate.Compressor (the peer under test decompresses with its
// own inflater, so a bug there cannot hide) and decompresses with
// compress/flate, never with this project's Decompressor, checking with an
// inflater of its own that no back-reference of the peer reaches beyond the
// window negotiated for it.

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rfc6455/ws/deflate"
)

const pmdName = "permessage-deflate"

// DeflateOffer is a client's permessage-deflate offer, as autobahn's
// PerMessageDeflateOffer models it.
type DeflateOffer struct {
	// AcceptNoContextTakeover offers client_no_context_takeover.
	AcceptNoContextTakeover bool
	// AcceptMaxWindowBits offers client_max_window_bits (without a value):
	// the server may limit the client's window.
	AcceptMaxWindowBits bool
	// RequestNoContextTakeover asks for server_no_context_takeover.
	RequestNoContextTakeover bool
	// RequestMaxWindowBits asks for server_max_window_bits=N (8..15);
	// 0 asks nothing.
	RequestMaxWindowBits int
}

// DefaultDeflateOffer is autobahn's PerMessageDeflateOffer(): accept both
// client parameters, request nothing.
var DefaultDeflateOffer = DeflateOffer{AcceptNoContextTakeover: true, AcceptMaxWindowBits: true}

// String formats the offer as autobahn's get_extension_string does.
func (o DeflateOffer) String() string {
	s := pmdName
	if o.AcceptNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if o.AcceptMaxWindowBits {
		s += "; client_max_window_bits"
	}
	if o.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if o.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", o.RequestMaxWindowBits)
	}
	return s
}

// DeflateAccept is a server's acceptance of one offer, as autobahn's
// PerMessageDeflateOfferAccept models it.
type DeflateAccept struct {
	Offer DeflateOffer
	// RequestNoContextTakeover answers client_no_context_takeover.
	RequestNoContextTakeover bool
	// RequestMaxWindowBits answers client_max_window_bits=N (8..15); 0:
	// none.
	RequestMaxWindowBits int
}

// String formats the response as autobahn's get_extension_string does.
func (a DeflateAccept) String() string {
	s := pmdName
	if a.Offer.RequestNoContextTakeover {
		s += "; server_no_context_takeover"
	}
	if a.Offer.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", a.Offer.RequestMaxWindowBits)
	}
	if a.RequestNoContextTakeover {
		s += "; client_no_context_takeover"
	}
	if a.RequestMaxWindowBits != 0 {
		s += fmt.Sprintf("; client_max_window_bits=%d", a.RequestMaxWindowBits)
	}
	return s
}

// params is what the accepted offer puts in force (autobahn's
// create_from_offer_accept).
func (a DeflateAccept) params() DeflateParams {
	return DeflateParams{
		ServerNoContextTakeover: a.Offer.RequestNoContextTakeover,
		ClientNoContextTakeover: a.RequestNoContextTakeover,
		ServerMaxWindowBits:     orFifteen(a.Offer.RequestMaxWindowBits),
		ClientMaxWindowBits:     orFifteen(a.RequestMaxWindowBits),
	}
}

func orFifteen(bits int) int {
	if bits == 0 {
		return 15
	}
	return bits
}

// Compression is a case's permessage-deflate setup: what the fuzzing peer
// offers as a client, and how it answers offers as a server. A case without
// one negotiates no extension.
type Compression struct {
	// ClientOffers are sent, in order, when the fuzzing peer is the client.
	ClientOffers []DeflateOffer
	// ServerAccept picks the offer to accept, with its response
	// parameters, when the fuzzing peer is the server; nil declines them
	// all.
	ServerAccept func(offers []DeflateOffer) *DeflateAccept
}

// DeflateParams are the permessage-deflate parameters in force on a
// connection.
type DeflateParams struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int // 8..15
	ClientMaxWindowBits     int // 8..15
}

// String formats p for reports.
func (p DeflateParams) String() string {
	return fmt.Sprintf("server_no_context_takeover=%t client_no_context_takeover=%t server_max_window_bits=%d client_max_window_bits=%d",
		p.ServerNoContextTakeover, p.ClientNoContextTakeover, p.ServerMaxWindowBits, p.ClientMaxWindowBits)
}

// extParam is one parameter of an extension element.
type extParam struct {
	name     string
	value    string
	hasValue bool
}

// extElement is one element of a Sec-WebSocket-Extensions header.
type extElement struct {
	name   string
	params []extParam
}

// parseExtensions parses Sec-WebSocket-Extensions values (RFC 6455 §9.1),
// with quoted-string values unquoted.
func parseExtensions(values []string) ([]extElement, error) {
	var out []extElement
	for _, v := range values {
		for _, el := range splitQuoted(v, ',') {
			if strings.TrimSpace(el) == "" {
				continue
			}
			parts := splitQuoted(el, ';')
			e := extElement{name: strings.TrimSpace(parts[0])}
			if !isToken(e.name) {
				return nil, fmt.Errorf("invalid extension name %q", e.name)
			}
			for _, p := range parts[1:] {
				name, val, has := strings.Cut(p, "=")
				ep := extParam{name: strings.TrimSpace(name), hasValue: has}
				if !isToken(ep.name) {
					return nil, fmt.Errorf("invalid extension parameter %q", p)
				}
				if has {
					val = strings.TrimSpace(val)
					if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
						val = strings.ReplaceAll(val[1:len(val)-1], `\`, "")
					}
					if !isToken(val) {
						return nil, fmt.Errorf("invalid value in extension parameter %q", p)
					}
					ep.value = val
				}
				e.params = append(e.params, ep)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// windowValue parses a window-bits value as autobahn does: a decimal
// integer from 8 to 15.
func windowValue(p extParam) (int, error) {
	if p.hasValue {
		if n, err := strconv.Atoi(p.value); err == nil && n >= 8 && n <= 15 && p.value[0] != '0' && p.value[0] != '+' {
			return n, nil
		}
	}
	return 0, fmt.Errorf("illegal value %q for parameter %s of extension %s", p.value, p.name, pmdName)
}

// checkParams rejects repeated parameters and values on the two
// no-context-takeover parameters, as autobahn's parsers do.
func checkParams(ps []extParam) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.name] {
			return fmt.Errorf("multiple occurrence of extension parameter %s for extension %s", p.name, pmdName)
		}
		seen[p.name] = true
		if (p.name == "client_no_context_takeover" || p.name == "server_no_context_takeover") && p.hasValue {
			return fmt.Errorf("illegal value %q for parameter %s of extension %s", p.value, p.name, pmdName)
		}
	}
	return nil
}

// parseOffer parses one offer as autobahn's PerMessageDeflateOffer.parse:
// client_no_context_takeover is taken as accepted whether or not it is
// present (as autobahn does), client_max_window_bits may come with or
// without a value, unknown parameters are errors.
func parseOffer(ps []extParam) (DeflateOffer, error) {
	o := DeflateOffer{AcceptNoContextTakeover: true}
	if err := checkParams(ps); err != nil {
		return o, err
	}
	for _, p := range ps {
		switch p.name {
		case "client_max_window_bits":
			if p.hasValue {
				if _, err := windowValue(p); err != nil {
					return o, err
				}
			}
			o.AcceptMaxWindowBits = true
		case "client_no_context_takeover":
		case "server_max_window_bits":
			n, err := windowValue(p)
			if err != nil {
				return o, err
			}
			o.RequestMaxWindowBits = n
		case "server_no_context_takeover":
			o.RequestNoContextTakeover = true
		default:
			return o, fmt.Errorf("illegal extension parameter %s for extension %s", p.name, pmdName)
		}
	}
	return o, nil
}

// serverNegotiate is the fuzzing server's side: it parses the request's
// permessage-deflate offers (an invalid one fails the handshake, as in
// autobahn) and lets the case pick. It returns the response element, or ""
// when nothing was accepted.
func serverNegotiate(comp *Compression, headerValues []string) (string, *DeflateParams, error) {
	if comp == nil || comp.ServerAccept == nil {
		return "", nil, nil
	}
	els, err := parseExtensions(headerValues)
	if err != nil {
		return "", nil, err
	}
	var offers []DeflateOffer
	for _, e := range els {
		if e.name != pmdName {
			continue // an extension the fuzzer does not speak is ignored
		}
		o, err := parseOffer(e.params)
		if err != nil {
			return "", nil, err
		}
		offers = append(offers, o)
	}
	if len(offers) == 0 {
		return "", nil, nil
	}
	a := comp.ServerAccept(offers)
	if a == nil {
		return "", nil, nil
	}
	p := a.params()
	return a.String(), &p, nil
}

// clientOfferHeader is the request's Sec-WebSocket-Extensions value.
func clientOfferHeader(comp *Compression) string {
	if comp == nil {
		return ""
	}
	var s []string
	for _, o := range comp.ClientOffers {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}

// clientAccept checks the server's Sec-WebSocket-Extensions and returns
// the parameters in force, or nil when the server accepted nothing. Any
// error fails the connection. Beyond autobahn's checks (only offered
// extensions, at most one permessage-deflate element, well-formed
// parameters), the response must be one that some offer allows (RFC 7692
// §7.1.1.1, §7.1.2.1, §7.1.2.2): server_no_context_takeover when the
// offer asked for it, server_max_window_bits no larger than asked, and
// client_max_window_bits only if offered.
func clientAccept(comp *Compression, headerValues []string) (*DeflateParams, error) {
	els, err := parseExtensions(headerValues)
	if err != nil {
		return nil, err
	}
	if len(els) == 0 {
		return nil, nil
	}
	if comp == nil || len(comp.ClientOffers) == 0 {
		return nil, errors.New("server accepted an extension that was not offered")
	}
	if len(els) > 1 {
		return nil, fmt.Errorf("server accepted %d extensions; one %s was offered", len(els), pmdName)
	}
	if els[0].name != pmdName {
		return nil, fmt.Errorf("server accepted extension %q, which was not offered", els[0].name)
	}
	ps := els[0].params
	if err := checkParams(ps); err != nil {
		return nil, err
	}
	var r struct {
		snct, cnct bool
		smwb, cmwb int
	}
	for _, p := range ps {
		switch p.name {
		case "client_max_window_bits":
			n, err := windowValue(p)
			if err != nil {
				return nil, err
			}
			r.cmwb = n
		case "client_no_context_takeover":
			r.cnct = true
		case "server_max_window_bits":
			n, err := windowValue(p)
			if err != nil {
				return nil, err
			}
			r.smwb = n
		case "server_no_context_takeover":
			r.snct = true
		default:
			return nil, fmt.Errorf("illegal extension parameter %s for extension %s", p.name, pmdName)
		}
	}
	fits := false
	for _, o := range comp.ClientOffers {
		if (o.RequestNoContextTakeover && !r.snct) ||
			(o.RequestMaxWindowBits != 0 && (r.smwb == 0 || r.smwb > o.RequestMaxWindowBits)) ||
			(!o.AcceptMaxWindowBits && r.cmwb != 0) {
			continue
		}
		fits = true
		break
	}
	if !fits {
		return nil, fmt.Errorf("the server's response %q answers none of the offers (RFC 7692 §7.1)", formatElement(els[0]))
	}
	return &DeflateParams{
		ServerNoContextTakeover: r.snct,
		ClientNoContextTakeover: r.cnct,
		ServerMaxWindowBits:     orFifteen(r.smwb),
		ClientMaxWindowBits:     orFifteen(r.cmwb),
	}, nil
}

func formatElement(e extElement) string {
	s := e.name
	for _, p := range e.params {
		s += "; " + p.name
		if p.hasValue {
			s += "=" + p.value
		}
	}
	return s
}

// fuzzerLevel is the level the fuzzing peer compresses at. autobahn uses
// zlib's default (6); the level changes how hard the compressor searches,
// not what kind of DEFLATE data the peer under test has to inflate (dynamic
// Huffman blocks with matches reaching across the whole window), and level 1
// keeps a run of sections 12 and 13 about twice as fast.
const fuzzerLevel = deflate.BestSpeed

// pmdState is a session's permessage-deflate state.
type pmdState struct {
	params       DeflateParams
	comp         *deflate.Compressor
	sendTakeover bool
	recvTakeover bool
	recvBits     int
	fr           io.ReadCloser
	hist         []byte
	walker       deflateWalker
	src          bytes.Reader
}

func newPMD(p DeflateParams, isServer bool) *pmdState {
	st := &pmdState{params: p}
	sendBits := p.ClientMaxWindowBits
	st.sendTakeover = !p.ClientNoContextTakeover
	st.recvBits = p.ServerMaxWindowBits
	st.recvTakeover = !p.ServerNoContextTakeover
	if isServer {
		sendBits = p.ServerMaxWindowBits
		st.sendTakeover = !p.ServerNoContextTakeover
		st.recvBits = p.ClientMaxWindowBits
		st.recvTakeover = !p.ClientNoContextTakeover
	}
	st.comp = deflate.NewCompressor(sendBits, fuzzerLevel)
	return st
}

// compress returns the payload of a compressed message holding msg.
func (st *pmdState) compress(msg []byte) []byte {
	return st.comp.Compress(nil, msg, st.sendTakeover)
}

// pmdTail is the 00 00 ff ff the sender removed, then an empty final
// stored block so that compress/flate ends cleanly.
var pmdTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// windowError is a back-reference beyond the negotiated window.
type windowError struct{ dist, bits int }

func (e *windowError) Error() string {
	return fmt.Sprintf("compressed message refers %d bytes back, beyond the negotiated window of %d bytes (max_window_bits %d)", e.dist, 1<<e.bits, e.bits)
}

// decompress inflates a received message's payload with compress/flate,
// using the history of earlier messages under context takeover, and checks
// its back-references against the window.
func (st *pmdState) decompress(payload []byte) ([]byte, error) {
	data := make([]byte, 0, len(payload)+len(pmdTail))
	data = append(append(data, payload...), pmdTail...)
	if st.recvBits < 15 {
		// 15 bits is the format's own limit: distances cannot exceed it.
		d, err := st.walker.maxDistance(data[:len(payload)+4])
		if err != nil {
			return nil, fmt.Errorf("invalid compressed data: %v", err)
		}
		if d > 1<<st.recvBits {
			return nil, &windowError{d, st.recvBits}
		}
	}
	var dict []byte
	if st.recvTakeover {
		dict = st.hist
	}
	st.src.Reset(data)
	if st.fr == nil {
		st.fr = flate.NewReaderDict(&st.src, dict)
	} else if err := st.fr.(flate.Resetter).Reset(&st.src, dict); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(st.fr)
	if err != nil {
		return nil, fmt.Errorf("invalid compressed data: %v", err)
	}
	if st.recvTakeover {
		st.hist = append(st.hist, out...)
		if len(st.hist) > 1<<15 {
			st.hist = append(st.hist[:0:0], st.hist[len(st.hist)-1<<15:]...)
		}
	}
	return out, nil
}
