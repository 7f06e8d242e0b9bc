package echo

import (
	"net/http"

	"github.com/lxzan/gws"
)

// gwsHandler is lxzan/gws as its README shows it: an Upgrader with an
// event handler whose OnMessage writes the message back, and a goroutine
// per connection running ReadLoop. Messages of a connection are handled in
// order (ParallelEnabled is off, the default).
func gwsHandler(mode string) http.Handler {
	opts := &gws.ServerOption{ReadMaxPayloadSize: ReadLimit}
	switch mode {
	case DeflateNoTakeover:
		opts.PermessageDeflate = gws.PermessageDeflate{Enabled: true}
	case DeflateTakeover:
		// gws limits its window to 2^12 with context takeover unless
		// told otherwise; ours and coder use 2^15. Compared at the same
		// window: 2^15.
		opts.PermessageDeflate = gws.PermessageDeflate{
			Enabled:               true,
			ServerContextTakeover: true,
			ServerMaxWindowBits:   15,
		}
	}
	up := gws.NewUpgrader(gwsEcho{}, opts)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return // Upgrade has answered the client
		}
		go socket.ReadLoop()
	})
}

// gwsEcho is the event handler: it echoes and otherwise does nothing.
type gwsEcho struct {
	gws.BuiltinEventHandler
}

func (gwsEcho) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	socket.WriteMessage(message.Opcode, message.Bytes())
}
