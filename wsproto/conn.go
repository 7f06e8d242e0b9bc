package wsproto

// Conn is both halves of a connection, for a driver that runs them on one
// goroutine (an event loop): Feed input, act on each event, append what
// AppendReply gives for it to the output, and ask Await what the
// connection waits for. Make it with New, or Init one held by value.
type Conn struct {
	Receiver
	Sender
}

// New returns a Conn for a connection with cfg.
func New(cfg Config) *Conn {
	c := new(Conn)
	c.Init(cfg)
	return c
}

// Init makes c ready for a new connection with cfg.
func (c *Conn) Init(cfg Config) {
	if cfg.Role != Server && cfg.Role != Client {
		panic("wsproto: Config.Role must be Server or Client")
	}
	c.Receiver.Init(cfg)
	c.Sender.Init(cfg)
}

// Await says what a connection waits for, which decides the driver's
// timers; see Conn.Await.
type Await uint8

// What a connection waits for.
const (
	// AwaitFrames: the connection is open. The driver's own policy
	// applies (idle timeout, heartbeat).
	AwaitFrames Await = iota
	// AwaitClose: this side's close frame is out and the peer's is
	// awaited (RFC 6455 §7.1.2), for at most a close timeout; then TCP is
	// closed anyway.
	AwaitClose
	// AwaitEOF: nothing more is read; the driver half-closes or keeps
	// TCP open until the peer closes it, for at most a close timeout,
	// discarding what arrives. So waits a client after the closing
	// handshake, since the server closes TCP first (§7.1.1), and either
	// side after failing the connection, so that its close frame is not
	// lost to a reset (§7.1.7).
	AwaitEOF
	// CloseNow: close TCP now: the server after the closing handshake
	// (§7.1.1).
	CloseNow
)

var awaitNames = [...]string{"frames", "close", "EOF", "close now"}

// String returns the name of a.
func (a Await) String() string {
	if int(a) < len(awaitNames) {
		return awaitNames[a]
	}
	return "invalid Await"
}

// Await reports what the connection waits for, assuming that the driver
// sent what AppendReply gave for every event so far.
func (c *Conn) Await() Await {
	switch {
	case c.Receiver.state == recvFailed:
		return AwaitEOF
	case c.Receiver.state == recvClosed:
		if c.Sender.role == Server {
			return CloseNow
		}
		return AwaitEOF
	case c.closeSent:
		return AwaitClose
	}
	return AwaitFrames
}
