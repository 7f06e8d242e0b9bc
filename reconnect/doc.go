// Package reconnect keeps a WebSocket client connected: it dials, and when
// the connection drops it dials again, with exponential backoff and jitter,
// until it succeeds, gives up after a number of attempts, or is stopped.
//
//	c := reconnect.New("ws://127.0.0.1:8082/ws", &reconnect.Options{
//		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
//			// Runs after every (re)connection, before queued sends:
//			// authenticate and re-subscribe here.
//			return conn.WriteMessage(ctx, ws.Text, []byte(`{"type":"subscribe"}`))
//		},
//		OnMessage: func(typ ws.MessageType, data []byte) { fmt.Printf("%s\n", data) },
//		OnStateChange: func(t reconnect.Transition) { log.Println(t) },
//	})
//	go c.Run(ctx) // until ctx ends, Close is called, or it gives up
//	c.Send(ws.Text, []byte("hello")) // queued while disconnected
//
// # States
//
// A Client is in one State at a time, and Run alone moves it, along these
// edges only:
//
//	Idle ──► Connecting ──► Open ──► Waiting ──► Connecting ...
//	             │  ▲                   ▲  │
//	             │  └───────────────────┘  │
//	             └─► Waiting               │
//	any state but Closed ──► Closed ◄──────┘
//
// Connecting covers dialing and the OnConnect hook; a failure of either is a
// failed attempt and leads to Waiting (or to Closed once MaxAttempts
// consecutive attempts have failed). Open means the hook succeeded and
// messages flow. When an open connection ends, for any reason but the
// client being stopped, the client goes to Waiting, then Connecting. Closed
// is final. Each move is reported, in order, to Options.OnStateChange as a
// Transition carrying the error that caused it and, into Waiting, the delay
// chosen.
//
// # Backoff
//
// The delay before the n-th consecutive retry is Initial·Multiplier^(n-1),
// capped at Max, then shortened by a random fraction of up to Jitter of
// itself, so that many clients dropped by one server restart do not all
// come back at the same instant. A connection that reached Open resets the
// count: after it drops, the first retry waits about Initial.
//
// # Sending
//
// Send never blocks: it appends the message to a queue, which the client
// writes, in order, whenever it is connected and the hook has succeeded.
// While disconnected, messages wait in the queue, up to Options.QueueMessages
// messages and Options.QueueBytes bytes; beyond either bound Send returns
// ErrQueueFull. A message leaves the queue once written. A message whose
// write failed stays at the head of the queue and is sent first on the next
// connection; since a failed write never delivers a whole frame, the peer
// sees it once. A message written just before the connection dropped may be
// lost with the connection, as with any TCP stream: applications that need
// every message acknowledge them at the application level.
//
// # Receiving
//
// Messages are delivered to Options.OnMessage, on the client's reading
// goroutine, one at a time; or, without OnMessage, on the channel Messages
// returns. The reader also answers the server's pings. With
// Options.PingInterval set, the client pings the server and treats a missing
// pong as a dead connection, so that a server that vanished without closing
// TCP is noticed.
//
// # Stopping
//
// Cancelling Run's context, or calling Close, stops everything: an open
// connection is closed with 1000 (bounded by the connection's CloseTimeout),
// a backoff wait or a dial in progress is abandoned at once, and Run returns
// after every goroutine of the client has ended. Messages still queued are
// discarded.
package reconnect
