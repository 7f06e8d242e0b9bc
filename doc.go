// Package ws implements the WebSocket protocol of RFC 6455 over any
// net.Conn: framing, masking, fragmentation, UTF-8 validation, control
// frames and the close handshake.
//
// A Conn starts past the opening handshake. Package server accepts one from
// a net/http handler and package client dials one; NewConn wraps a net.Conn
// whose handshake was done some other way. The packages beneath, frame,
// mask, utf8 and closecode, are the public low-level layer for people who
// build their own servers.
//
// # Messages
//
// ReadMessage reads a whole message into a buffer the caller can reuse, and
// WriteMessage writes one. In steady state neither allocates. NextReader
// streams a message as its frames arrive; NextWriter sends one in fragments
// as it is written. Every blocking call takes a context.Context; the
// SetReadDeadline and SetWriteDeadline methods work as on net.Conn.
//
// # Byte streams
//
// NetConn turns a Conn into a net.Conn for code written against one (HTTP,
// TLS, SSH, a TCP tunnel): Read spans message boundaries, each Write is one
// message, deadlines work as on TCP without breaking the connection, and a
// normal close reads as io.EOF.
//
// # Events
//
// Serve runs a read loop that dispatches messages, pings, pongs and the
// peer's close to the callbacks of a Handler, for code written in the style
// of an event emitter:
//
//	err := c.Serve(ctx, ws.Handler{
//		OnMessage: func(typ ws.MessageType, data []byte) { ... },
//		OnClose:   func(code ws.CloseCode, reason string) { ... },
//	})
//
// # Concurrency
//
// Any number of goroutines may write at once: each message goes out whole,
// never interleaved with another, and a message being streamed by
// NextWriter makes the others wait until its writer is closed. Pings, pongs
// and the close frame are written between the fragments of a streamed
// message rather than after it. Reads are serialised: one goroutine reads
// at a time (ReadMessage, NextReader, Serve). Close, CloseNow, Ping, State
// and the deadline setters may be called from any goroutine.
//
// # Control frames and who reads them
//
// Pings are answered, pongs delivered and the peer's close handled by the
// goroutine that reads, as part of reading. An application that only writes
// (a ticker, a dashboard) must still read, or the peer's pings go
// unanswered, Ping never sees its pong, and the peer's close is not noticed
// until a write fails: run Serve with an empty Handler on a goroutine of its
// own. If nobody reads, control frames wait in the socket buffer, and after
// it fills, the peer's writes block. KeepAlive, run beside the reader, pings
// at an interval and fails the connection when a pong is late.
//
// # Closing
//
// Close sends a close frame with a status code and reason, waits up to
// Options.CloseTimeout (5 s by default) for the peer's close frame, then
// closes TCP; a client waits for the server to close TCP first (RFC 6455
// §7.1.1). When the peer closes, its close frame is echoed (with 1000 if it
// had no status) and reads return a *CloseError carrying the peer's code and
// reason. CloseNow closes TCP at once. State reports open, closing or
// closed.
//
// # Errors and limits
//
// A peer that breaks the protocol gets a close frame with the code for the
// rule it broke, and reads return an error naming the rule, whose code
// closecode.Of finds: 1002 for framing and fragmentation errors, 1007 for
// text or a close reason that is not valid UTF-8 (checked frame by frame,
// so a bad message is rejected at its first bad frame), 1009 for a message
// over Options.ReadLimit (32 MiB by default, checked on frame headers before
// anything is allocated). Messages that arrived whole before the error are
// returned first.
//
// # Buffers and memory
//
// A connection waiting for its next message holds no pooled buffer: it
// reads into a 128-byte buffer inside the Conn, takes a pooled 16 KiB buffer
// only while data arrives faster than that, and gives it back when the
// burst is over. Large payloads are read straight into the destination, and
// on the server written from the caller's slice with one vectored write; a
// client masks through a pooled buffer and never modifies the caller's
// slice. A message's buffer grows with what arrives, doubling while it is
// small and then in steps that land on the largest size the message can
// reach, so that a message that reaches the read limit costs about the
// limit (at most 1.25 times it and 1 MiB), not twice it.
//
// # Compression
//
// permessage-deflate (RFC 7692) is negotiated by the server and client
// packages (their Options.Compression) and recorded in Options.Compression;
// Conn.Compression reports the parameters. Messages of at least the
// threshold are compressed, with RSV1 on their first frame only; control
// frames never are. With context takeover a connection that is sending
// holds a compressor (10 KiB for an 8-bit window to 163 KiB for 15 bits),
// and one that is not keeps only the history its next message refers to
// (at most the window): the first message of a connection, or the first
// after a pause of half a second, gives its compressor back to a pool right
// after it, and a connection that stops sending gives it back within a
// second. A connection whose peer compresses with context takeover keeps
// its decompressor. Without context takeover both come from pools. Every window a peer may ask for, 8 to 15
// bits, is honoured. The read limit applies to the inflated size and is
// enforced while inflating, so a compression bomb is cut at the limit with
// 1009; the compressed payload is inflated as it arrives and never held
// whole, so a bomb costs about the read limit in memory. A PreparedMessage is compressed once for all receivers that keep no
// context.
//
// # In the browser (GOOS=js, WebAssembly)
//
// A Go program compiled with GOOS=js GOARCH=wasm and run in a page gets a
// Conn backed by the browser's own WebSocket: client.Dial opens it, and
// NewBrowserConn adopts one the page opened in JavaScript. The methods a
// client uses after dialing are the same (ReadMessage, NextReader,
// WriteMessage, NextWriter, Serve, Close, CloseNow, State, Subprotocol,
// Compression, SetReadLimit, the deadline setters, NetConn), with what the
// browser imposes:
//
//   - Messages arrive and leave whole: NextReader reads one from memory,
//     NextWriter collects one and sends it at Close, FragmentSize does not
//     apply, and a read or write ended by its context or a deadline leaves
//     the connection open, since nothing was cut in half.
//   - The browser queues what a write hands it: WriteMessage waits while
//     more than BrowserSendBuffer (1 MiB) bytes are queued, and
//     BufferedAmount reports them (on other platforms it is always 0).
//     Nothing holds back what the server sends: it is queued in memory
//     until read.
//   - Pings: the browser answers the server's pings itself and shows the
//     page neither pings nor pongs. Ping, WritePing and KeepAlive return an
//     error that wraps errors.ErrUnsupported; OnPing and OnPong are never
//     called. Nor is OnPeerClose: the browser answers the server's close
//     itself.
//   - Close codes: a page may send 1000 and 3000 to 4999 only; Close with
//     another returns an error that wraps errors.ErrUnsupported. CloseNow
//     cannot drop the TCP connection: the browser still runs the close
//     handshake. Reads still end with the server's *CloseError.
//   - The read limit is applied once the browser has received the whole
//     message; a message over it ends the connection without a status code
//     (1009 is not one a page may send), with an error whose code is 1009.
//   - Text written must be valid UTF-8, which is checked before sending: a
//     JavaScript string cannot carry anything else.
//   - Headers, TLS settings, proxies and permessage-deflate parameters are
//     the browser's: client.Dial refuses the options that set them, with an
//     error that wraps errors.ErrUnsupported. Compression reports what the
//     browser negotiated, and Subprotocol what the server chose.
//   - A page cannot see addresses: LocalAddr is the page's origin, and
//     RemoteAddr the WebSocket's URL, on network "websocket".
//   - NewConn and the method NetConn (the underlying net.Conn) are not
//     there; a PreparedMessage is sent as WriteMessage sends it.
//
// Blocking calls must not run on the goroutine of a js.FuncOf callback,
// which holds the browser's event loop: start a goroutine there.
package ws
