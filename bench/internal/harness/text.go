package harness

import (
	"fmt"
	"math/rand/v2"
)

// jsonText returns n bytes of JSON-like ASCII text, the kind of payload
// permessage-deflate is used for: records with repeated keys and varying
// values. The same n always gives the same text.
func jsonText(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 6455))
	events := []string{"click", "view", "purchase", "scroll", "login", "logout"}
	pages := []string{"/", "/search", "/cart", "/product/", "/account", "/help"}
	b := make([]byte, 0, n+256)
	b = append(b, '[')
	for len(b) < n {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"id":%d,"user":"user_%d","event":%q,"page":"%s%d","ts":%d,"score":%.3f,"ok":%t}`,
			r.IntN(1e6), r.IntN(5000), events[r.IntN(len(events))], pages[r.IntN(len(pages))],
			r.IntN(100), 1700000000000+r.Int64N(1e9), r.Float64()*100, r.IntN(2) == 0)
	}
	return b[:n]
}

// binaryPayload returns n bytes of a pattern that is not all one value,
// so that a server that skips unmasking would be caught.
func binaryPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}
