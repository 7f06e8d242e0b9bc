package handshake

import (
	"fmt"
	"net/http"
	"strings"
)

// Extension is one element of a Sec-WebSocket-Extensions header: an
// extension name and its parameters, in order (RFC 6455 §9.1). In a client's
// request each Extension is one offer, and the same name may be offered
// several times with different parameters, most preferred first; in a
// server's response each is an accepted extension.
type Extension struct {
	Name   string
	Params []Param
}

// Param is one extension parameter. Value is empty for a parameter given
// without "=" (a valueless parameter); a value is never empty otherwise,
// since it must be a token (RFC 6455 §9.1).
type Param struct {
	Name  string
	Value string
}

// Param returns the value of the first parameter called name (compared
// case-insensitively) and whether there is one.
func (e Extension) Param(name string) (value string, ok bool) {
	for _, p := range e.Params {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// String formats e as it appears in a header, "name; p; q=v". It does not
// check the syntax; FormatExtensions does.
func (e Extension) String() string {
	var b strings.Builder
	appendExtension(&b, e)
	return b.String()
}

func appendExtension(b *strings.Builder, e Extension) {
	b.WriteString(e.Name)
	for _, p := range e.Params {
		b.WriteString("; ")
		b.WriteString(p.Name)
		if p.Value != "" {
			b.WriteByte('=')
			b.WriteString(p.Value)
		}
	}
}

// ParseExtensions parses every Sec-WebSocket-Extensions line of h as one
// list (RFC 6455 §9.1: the header may be repeated, and the lines are
// combined as a comma-separated list). It returns nil for no header. Errors
// wrap ErrExtensionsHeader.
func ParseExtensions(h http.Header) ([]Extension, error) { return parseExtensions(h) }

func parseExtensions(h headerValues) ([]Extension, error) {
	var exts []Extension
	for _, v := range h.Values("Sec-Websocket-Extensions") { // canonical form: no allocation
		var err error
		exts, err = appendParsedExtensions(exts, v)
		if err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// ParseExtensionList parses one Sec-WebSocket-Extensions header value.
// Errors wrap ErrExtensionsHeader.
func ParseExtensionList(s string) ([]Extension, error) {
	return appendParsedExtensions(nil, s)
}

// appendParsedExtensions follows the grammar of RFC 6455 §9.1:
//
//	extension-list  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// with the list rule of RFC 9110 §5.6.1 (empty elements are ignored) and
// optional whitespace around the separators, which RFC 6455 allows through
// the implied *LWS of RFC 2616's ABNF (RFC 6455 §2.1).
func appendParsedExtensions(exts []Extension, s string) ([]Extension, error) {
	p := extParser{s: s}
	for {
		// Skip empty list elements: ", ,".
		for p.i < len(p.s) && (isOWS(p.s[p.i]) || p.s[p.i] == ',') {
			p.i++
		}
		if p.i == len(p.s) {
			return exts, nil
		}
		name, err := p.token("extension name")
		if err != nil {
			return nil, err
		}
		ext := Extension{Name: name}
		p.skipOWS()
		for p.i < len(p.s) && p.s[p.i] == ';' {
			p.i++
			p.skipOWS()
			pname, err := p.token("parameter name")
			if err != nil {
				return nil, err
			}
			param := Param{Name: pname}
			p.skipOWS()
			if p.i < len(p.s) && p.s[p.i] == '=' {
				p.i++
				p.skipOWS()
				if p.i < len(p.s) && p.s[p.i] == '"' {
					param.Value, err = p.quotedString()
				} else {
					param.Value, err = p.token("parameter value")
				}
				if err != nil {
					return nil, err
				}
				p.skipOWS()
			}
			ext.Params = append(ext.Params, param)
		}
		if p.i < len(p.s) && p.s[p.i] != ',' {
			return nil, p.errorf("unexpected %q", p.s[p.i])
		}
		exts = append(exts, ext)
	}
}

type extParser struct {
	s string
	i int
}

func (p *extParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrExtensionsHeader, fmt.Sprintf(format, args...), p.i)
}

func (p *extParser) skipOWS() {
	for p.i < len(p.s) && isOWS(p.s[p.i]) {
		p.i++
	}
}

func (p *extParser) token(what string) (string, error) {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		if p.i == len(p.s) {
			return "", p.errorf("missing %s", what)
		}
		return "", p.errorf("%s expected, found %q", what, p.s[p.i])
	}
	return p.s[start:p.i], nil
}

// quotedString reads a quoted-string (RFC 9110 §5.6.4) whose unescaped
// content must be a token (RFC 6455 §9.1).
func (p *extParser) quotedString() (string, error) {
	p.i++ // opening DQUOTE
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			v := string(b)
			if !IsToken(v) {
				return "", p.errorf("quoted parameter value %q is not a token", v)
			}
			return v, nil
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if p.i+1 == len(p.s) {
				return "", p.errorf("unterminated quoted-pair")
			}
			p.i++
			c = p.s[p.i]
			if c != '\t' && (c < 0x20 || c == 0x7f) {
				return "", p.errorf("control character %q in quoted-pair", c)
			}
		case c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80:
			// qdtext
		default:
			return "", p.errorf("control character %q in quoted-string", c)
		}
		b = append(b, c)
		p.i++
	}
	return "", p.errorf("unterminated quoted-string")
}

// FormatExtensions formats exts as a Sec-WebSocket-Extensions header value,
// "a; p=1, b". Parameter values are written as tokens, which they must be
// (RFC 6455 §9.1). It returns an error if a name or value is not a token.
func FormatExtensions(exts []Extension) (string, error) {
	var b strings.Builder
	for i, e := range exts {
		if !IsToken(e.Name) {
			return "", fmt.Errorf("handshake: extension name %q is not a token", e.Name)
		}
		for _, p := range e.Params {
			if !IsToken(p.Name) {
				return "", fmt.Errorf("handshake: parameter name %q of extension %s is not a token", p.Name, e.Name)
			}
			if p.Value != "" && !IsToken(p.Value) {
				return "", fmt.Errorf("handshake: value %q of parameter %s of extension %s is not a token", p.Value, p.Name, e.Name)
			}
		}
		if i > 0 {
			b.WriteString(", ")
		}
		appendExtension(&b, e)
	}
	return b.String(), nil
}
