//go:build !js

package ws

// BufferedAmount returns the bytes queued for sending and not yet handed to
// the network: always 0 here, since a write returns once its frames are
// written to the connection. It exists for programs that also run in the
// browser, where the browser queues what a write hands it (see the package
// documentation).
func (c *Conn) BufferedAmount() int { return 0 }
