package engineio_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
)

// An echo server, and one exchange of a polling client with it: the
// handshake, a message posted, and the echo fetched by the next poll.
func ExampleServer() {
	srv := engineio.NewServer(&engineio.Options{
		Handler: engineio.HandlerFuncs{
			OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
				s.Send(s.Context(), typ, data)
			},
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()

	get := func(url string) string {
		res, err := http.Get(url)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open := get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	var handshake struct {
		Sid          string
		Upgrades     []string
		PingInterval int
		MaxPayload   int
	}
	json.Unmarshal([]byte(open[1:]), &handshake)
	fmt.Println("open packet type:", open[:1])
	fmt.Println("upgrades:", handshake.Upgrades, "pingInterval:", handshake.PingInterval, "maxPayload:", handshake.MaxPayload)

	session := hs.URL + "/engine.io/?EIO=4&transport=polling&sid=" + handshake.Sid
	res, err := http.Post(session, "text/plain;charset=UTF-8", strings.NewReader("4hello\x1ebAQID"))
	if err != nil {
		panic(err)
	}
	ok, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("POST:", string(ok))
	fmt.Printf("GET: %q\n", get(session))

	// Output:
	// open packet type: 0
	// upgrades: [websocket] pingInterval: 25000 maxPayload: 1000000
	// POST: ok
	// GET: "4hello\x1ebAQID"
}
