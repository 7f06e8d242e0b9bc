package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
)

// MessageVerifier checks the authentication message a client sent after
// connecting and returns its identity. An error wrapping ErrForbidden gives
// the close reason "forbidden"; any other, "authentication failed".
type MessageVerifier func(ctx context.Context, typ ws.MessageType, data []byte) (Identity, error)

// TokenMessage returns a MessageVerifier for an event of package event,
//
//	{"type":"auth","payload":{"token":"..."}}
//
// whose token it passes to verify.
func TokenMessage(verify Verifier) MessageVerifier {
	return func(ctx context.Context, typ ws.MessageType, data []byte) (Identity, error) {
		if typ != ws.Text {
			return Identity{}, ErrInvalidToken
		}
		e, err := event.Parse(data)
		if err != nil {
			return Identity{}, errors.Join(ErrInvalidToken, err)
		}
		var p struct {
			Token string `json:"token"`
		}
		if e.Type != "auth" || e.Decode(&p) != nil || p.Token == "" {
			return Identity{}, ErrInvalidToken
		}
		return verify(ctx, p.Token)
	}
}

// Close reasons sent by Await with 1008 (policy violation).
const (
	ReasonTimeout   = "authentication timeout"
	ReasonFailed    = "authentication failed"
	ReasonForbidden = "forbidden"
)

// Await reads the first message from c, which must arrive within timeout,
// and verifies it. On success it returns the identity and c is ready for
// use (hand it to hub.Serve). On failure c is closed with 1008 (policy
// violation) and a reason (ReasonTimeout, ReasonFailed, ReasonForbidden),
// and the error says why: ErrTimeout, the verifier's error, or the
// connection's. It must be called before anything else reads c. The
// message is bounded by c's read limit; keep it small on endpoints that
// authenticate this way (ws.Options.ReadLimit).
func Await(ctx context.Context, c *ws.Conn, timeout time.Duration, verify MessageVerifier) (Identity, error) {
	var timedOut atomic.Bool
	fired := make(chan struct{})
	// The timer closes the connection while this goroutine is still
	// reading, so the read loop sees the peer's answer and the close
	// handshake completes.
	t := time.AfterFunc(timeout, func() {
		defer close(fired)
		timedOut.Store(true)
		c.Close(ws.ClosePolicyViolation, ReasonTimeout)
	})
	typ, msg, err := c.ReadMessage(ctx, nil)
	if !t.Stop() {
		<-fired
	}
	if timedOut.Load() {
		return Identity{}, ErrTimeout
	}
	if err != nil {
		return Identity{}, err
	}
	id, err := verify(ctx, typ, msg)
	if err != nil {
		reason := ReasonFailed
		if errors.Is(err, ErrForbidden) {
			reason = ReasonForbidden
		}
		c.Close(ws.ClosePolicyViolation, reason)
		return Identity{}, err
	}
	return id, nil
}
