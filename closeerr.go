package ws

import "errors"

// IsCloseError reports whether err, or an error it wraps, is the peer's
// close (*CloseError) with one of codes; with no codes, with any code. It
// is gorilla/websocket's IsCloseError, and answers "was this close
// expected?" after a read fails:
//
//	_, _, err := c.ReadMessage(ctx, buf)
//	if !ws.IsCloseError(err, ws.CloseNormal, ws.CloseGoingAway) {
//		log.Printf("connection ended unexpectedly: %v", err)
//	}
//
// Unlike gorilla's IsUnexpectedCloseError, which is false for anything but a
// close frame, the negation counts as unexpected every other end too: a
// close with another code, a connection dropped without a close frame
// (1006), a protocol error (closecode.Of gives its code), a timeout.
func IsCloseError(err error, codes ...CloseCode) bool {
	var ce *CloseError
	if !errors.As(err, &ce) || ce == nil {
		return false
	}
	if len(codes) == 0 {
		return true
	}
	for _, code := range codes {
		if ce.Code == code {
			return true
		}
	}
	return false
}
