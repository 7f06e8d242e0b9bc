package handshake

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestValidKeyMatchesStrictDecoding checks the hand-written ValidKey
// against package base64's strict decoding on random and mutated keys.
func TestValidKeyMatchesStrictDecoding(t *testing.T) {
	ref := func(key string) bool {
		if len(key) != 24 || strings.ContainsAny(key, "\r\n") {
			return false
		}
		var b [18]byte
		n, err := base64.StdEncoding.Strict().Decode(b[:], []byte(key))
		return err == nil && n == 16
	}
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \r\n\x00\xff"
	for i := range 20000 {
		k := []byte(NewKey())
		switch i % 4 {
		case 1:
			k[i%24] = chars[i%len(chars)]
		case 2:
			k[21] = chars[(i/4)%64]
		case 3:
			k[(i*7)%24] = chars[i%len(chars)]
			k[(i*11)%24] = chars[(i/3)%len(chars)]
		}
		if got, want := ValidKey(string(k)), ref(string(k)); got != want {
			t.Fatalf("ValidKey(%q) = %v, strict base64 says %v", k, got, want)
		}
	}
	for _, k := range []string{"", "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAAAB==", "AAAAAAAAAAAAAAAAAAAAAQ==", "AAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAA="} {
		if got, want := ValidKey(k), ref(k); got != want {
			t.Fatalf("ValidKey(%q) = %v, strict base64 says %v", k, got, want)
		}
	}
}
