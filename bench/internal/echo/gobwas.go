package echo

import (
	"net"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// gobwasConn is gobwas/ws as its README shows it for a server that owns
// its sockets: the zero-copy ws.Upgrade on the raw connection, then
// wsutil.ReadClientData and wsutil.WriteServerMessage, which answer
// control frames on the way.
func gobwasConn(nc net.Conn) {
	defer nc.Close()
	if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	for {
		msg, op, err := wsutil.ReadClientData(nc)
		if err != nil {
			return
		}
		if err := wsutil.WriteServerMessage(nc, op, msg); err != nil {
			return
		}
	}
}
