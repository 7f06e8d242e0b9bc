package socketio

// Exported entry points to the argument codec, so that the client
// (socketio/client) shares it instead of keeping a copy. Owner: helper
// "sioc".

import "github.com/rfc6455/ws/socketio/parser"

// ArgsOf returns the arguments of a decoded packet: an EVENT's (skip 1,
// its name) or an ACK's (skip 0), with its attachments.
func ArgsOf(p *parser.Packet, skip int) Args {
	return argsOf(p.Data, skip, p.Attachments)
}

// AppendArgs appends to dst the JSON array of a packet's payload, the
// event name first when name is not empty (an EVENT) and then args,
// encoded as Emit encodes them, and returns it with the attachments the
// binary arguments became.
func AppendArgs(dst []byte, name string, args []any) ([]byte, [][]byte, error) {
	e := encoder{buf: dst}
	e.open()
	if name != "" {
		if err := checkName(name); err != nil {
			return nil, nil, err
		}
		e.string(name)
	}
	if err := e.args(args); err != nil {
		return nil, nil, err
	}
	e.close()
	return e.buf, e.bins, nil
}
