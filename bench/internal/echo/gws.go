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
		opts.PermessageDeflate = gws.PermessageDeflate{
			Enabled:               true,
			ServerContextTakeover: true,
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
