package handshake

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
)

// GUID is the string that RFC 6455 §1.3 appends to the client's key before
// hashing it into Sec-WebSocket-Accept.
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Version is the only protocol version this package speaks, the value of
// Sec-WebSocket-Version (RFC 6455 §4.1, §11.3.5).
const Version = "13"

// AcceptKey returns the Sec-WebSocket-Accept value for the client's
// Sec-WebSocket-Key: base64(SHA-1(key + GUID)) (RFC 6455 §1.3, §4.2.2).
// The key is used as sent, without decoding.
func AcceptKey(key string) string {
	if len(key) == 24 {
		// The usual case, a valid key: hash and encode on the stack.
		var b [24 + len(GUID)]byte
		copy(b[:], key)
		copy(b[24:], GUID)
		sum := sha1.Sum(b[:])
		var out [28]byte
		base64.StdEncoding.Encode(out[:], sum[:])
		return string(out[:])
	}
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(GUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// NewKey returns a fresh Sec-WebSocket-Key: 16 random bytes, base64-encoded
// (RFC 6455 §4.1: "a nonce consisting of a randomly selected 16-byte value").
func NewKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return base64.StdEncoding.EncodeToString(b[:])
}

// ValidKey reports whether key is a valid Sec-WebSocket-Key: the padded
// base64 encoding of exactly 16 bytes (RFC 6455 §4.2.1 item 5), which is
// always 24 characters long.
func ValidKey(key string) bool {
	// The length check also keeps out the CR and LF that package base64
	// would skip over.
	// 16 bytes are 22 base64 characters and "==" of padding. The length
	// check also keeps out the CR and LF that package base64 would skip
	// over.
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for i := range 22 {
		if b64Value[key[i]] == 0xFF {
			return false
		}
	}
	// The 22nd character carries 2 bits of the last byte and 4 unused
	// bits, which strict decoding requires to be zero.
	return b64Value[key[21]]&0x0F == 0
}

// b64Value maps a character of the standard base64 alphabet to its value,
// and every other byte to 0xFF.
var b64Value = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xFF
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()
