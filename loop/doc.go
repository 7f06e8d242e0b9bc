// Package loop is a WebSocket server that serves its connections from a
// small, fixed set of event-loop goroutines instead of a goroutine per
// connection: for servers that keep very many mostly idle connections open
// (notifications, dashboards, presence, tickers).
//
// # How it works
//
// On Linux, Serve accepts with accept4(2) and hands each socket to one of
// Server.Loops event loops (GOMAXPROCS by default). A loop waits in
// epoll_wait(2) for the sockets of all its connections (edge-triggered,
// one registration per connection), reads into one read buffer shared by
// all of them, parses the opening handshake in place with package
// server's rules (NegotiateRaw: the same statuses, origin policy,
// subprotocols and permessage-deflate negotiation as the goroutine
// server), and feeds the frames to the sans-I/O protocol core, package
// wsproto: every rule past the handshake (framing, fragmentation, UTF-8,
// control frames, the closing handshake, the read limit, permessage-deflate)
// is the core's, the same code ws.Conn runs.
//
// An idle connection holds no buffer: a message that spans reads is
// collected in a pooled buffer given back after OnMessage, a send queue's
// chunks are pooled and given back once written, and the deadlines
// (handshake, close, heartbeat) are entries in one timer heap per loop. On
// this project's bench (bench/, 19,500 idle connections) a connection costs
// the server about 0.84 KiB of RSS, or 0.61 KiB after a GC.
//
// # The API
//
// A Handler gets OnOpen, OnMessage (whole messages: reassembled,
// decompressed, UTF-8-checked) and OnClose, and optionally OnPing, OnPong
// and OnHeartbeat. They run on the loop goroutine that serves the
// connection and many others, so they must not block; Conn.Send never
// blocks: it writes at once what the socket takes and queues the rest, in
// a queue bounded by Policy (QueueBytes, QueueSize) with hub's overflow
// policies (Drop, CloseSlow). Conn.BufferedAmount reports what waits.
// Package hub serves a loop.Server's connections as hub clients (rooms,
// prepared broadcasts, heartbeat, metrics): see Hub.LoopHandler.
//
// # Limits
//
// As strict as the goroutine server: the handshake must be over within
// Options.HandshakeTimeout (10 s by default, against slowloris clients), a
// request head longer than MaxHeaderBytes is answered 431, the read limit
// (Options.Conn.ReadLimit, 32 MiB by default) is checked on each frame's
// header before any payload is read (1009), a compressed message is limited
// on its inflated size too (a bomb fails with 1009), and reading from a
// connection pauses while more than PauseBytes wait to be written to it, so
// that a peer that sends (pings, messages to echo) without reading holds
// up only itself, within PauseBytes and one read.
//
// # TLS
//
// The event loop speaks plain TCP only. With Server.TLSConfig set, Serve
// speaks TLS (wss://) on its listener and serves those connections with
// the goroutine driver: a goroutine reading each connection and one
// writing it, through the same Handler and Conn API (Conn.EventLoop
// reports false). For event-loop memory on wss, terminate TLS in front of
// the server (a load balancer or TLS proxy) and serve plain connections.
//
// # Other platforms
//
// Without epoll (anything but Linux) every connection is served by the
// goroutine driver, with the same API and behaviour. Server.Goroutines asks
// for it on Linux too.
package loop
