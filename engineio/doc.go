// Package engineio implements the server side of the Engine.IO protocol,
// revision 4: the transport under Socket.IO 3 and later, spoken by the
// official engine.io-client and socket.io-client.
//
// A Server is an http.Handler mounted at a path prefix, "/engine.io/" by
// convention ("/socket.io/" under Socket.IO). It hands each session to a
// Handler as a *Socket: Open when the session starts, Message for each
// message packet, Close once at the end, one call at a time per session.
//
//	srv := engineio.NewServer(&engineio.Options{
//		Handler: engineio.HandlerFuncs{
//			OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
//				s.Send(s.Context(), typ, data) // echo
//			},
//		},
//	})
//	http.Handle("/engine.io/", srv)
//
// # Transports
//
// A session starts with HTTP long-polling (GET requests that wait for
// packets, POST requests that carry the client's) or directly on WebSocket,
// and moves from polling to WebSocket when the client upgrades: it probes
// the WebSocket ("2probe", answered "3probe"), the server ends the pending
// GET with a noop, and the client's "5" completes the move. Packets queued
// meanwhile go out on the WebSocket, in order. The WebSocket transport is a
// ws.Conn accepted by package server, so its limits, origin policy and
// permessage-deflate apply (Options.WebSocket).
//
// # On an event loop
//
// LoopMux serves servers on a loop.Server instead (package loop): the
// WebSocket sessions are served by a few event-loop goroutines, with no
// goroutine per connection (a few KiB per idle session), and polling, on
// the same port, by net/http through the loop's Fallback. The session
// rules are the same code on both drivers: the WebSocket transport sits
// behind a small internal interface, and the probe and upgrade handling
// and the packet decoding are functions each driver calls per message.
// There, Handler.Message runs on the event loop and must not block
// (Socket.OnEventLoop, Socket.PauseReading).
//
// # Heartbeat
//
// The server pings every PingInterval and closes a session whose client
// has not answered within PingTimeout (ErrPingTimeout); any packet from
// the client extends that wait. Sessions of clients that vanish are reaped
// this way. One timer per session drives it, with no goroutine of its own.
//
// # Limits and backpressure
//
// MaxPayload (the reference's maxHttpBufferSize, 1 MB by default, announced
// as "maxPayload") bounds every POST body (413 beyond it) and WebSocket
// message (close code 1009); nothing larger is read into memory. Outgoing
// packets wait in a per-session queue bounded by MaxBufferedAmount: Send
// blocks while it is full, bounded by its context, and TrySendPrepared
// fails with ErrBufferFull, so a client that does not read cannot make the
// server buffer without bound. An idle session holds no buffer and no
// goroutine besides the WebSocket read loop (none on an event loop).
//
// # Errors
//
// Refused requests get the reference server's answers: HTTP 400 (403 for
// AllowRequest's refusals) with a JSON body {"code":…,"message":…}, the
// codes being CodeUnknownTransport ("Transport unknown"), CodeUnknownSID
// ("Session ID unknown"), CodeBadHandshakeMethod, CodeBadRequest,
// CodeForbidden and CodeUnsupportedProtocolVersion (only revision 4,
// EIO=4, is spoken). A malformed payload is answered 400 on polling and
// closes the WebSocket (1008); either ends the session with ErrParseError.
// A second GET or POST in flight is answered 400 and ends the session, the
// GET in flight getting a close packet.
//
// # Browsers on other origins
//
// Options.CORS answers preflights and adds the Access-Control-Allow-*
// headers polling needs from pages of other origins; the same origins are
// admitted to the WebSocket transport. Large polling responses are
// compressed with gzip or deflate when the client accepts it
// (HTTPCompressionThreshold).
//
// # Compared with the reference server
//
// Options follow the reference's (engine.io 6): pingInterval, pingTimeout,
// upgradeTimeout, maxHttpBufferSize (MaxPayload), transports, allowUpgrades
// (DisableUpgrades), allowRequest, cors, cookie, httpCompression (its
// threshold) and perMessageDeflate (Options.WebSocket.Compression). Left
// out: protocol revision 3 (allowEIO3) and the JSONP polling it used, which
// today's clients do not speak; initialPacket and a custom generateId
// (session ids are 20 random URL-safe characters); wsEngine (the WebSocket
// is this module's); the headers and initial_headers events and use()
// middlewares, for which a Go server wraps the http.Handler (and sets
// Options.WebSocket.ResponseHeader); WebTransport. Where the reference
// leaves a request hanging (a POST marked application/octet-stream) or
// answers 500 (a second GET in flight), this server answers as the
// protocol says: the body is read as the same payload, and a second GET is
// answered 400.
package engineio
