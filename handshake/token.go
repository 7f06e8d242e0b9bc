package handshake

import (
	"strings"
)

// isTokenChar reports whether c may appear in a token (RFC 9110 §5.6.2,
// tchar; the same set as RFC 2616's token that RFC 6455 refers to).
func isTokenChar(c byte) bool {
	return tokenTable[c]
}

var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsToken reports whether s is a non-empty RFC 9110 token, the syntax of
// subprotocol names, extension names and extension parameters.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isOWS reports whether c is optional whitespace (RFC 9110 §5.6.3).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// headerHasToken reports whether any of the header's values, read as a
// comma-separated list, holds token, compared case-insensitively. Repeated
// header lines are one list (RFC 9110 §5.3).
func headerHasToken(h headerValues, name, token string) bool {
	for _, v := range h.Values(name) {
		for v != "" {
			elem := v
			if i := strings.IndexByte(v, ','); i >= 0 {
				elem, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			if strings.EqualFold(trimOWS(elem), token) {
				return true
			}
		}
	}
	return false
}

// parseTokenList reads all values of a header as one comma-separated list of
// tokens (RFC 9110 §5.6.1: 1#token). Empty elements are skipped, as that
// rule asks of recipients. ok is false if any element is not a token.
func parseTokenList(values []string) (list []string, ok bool) {
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			elem = trimOWS(elem)
			if elem == "" {
				continue
			}
			if !IsToken(elem) {
				return nil, false
			}
			list = append(list, elem)
		}
	}
	return list, true
}
