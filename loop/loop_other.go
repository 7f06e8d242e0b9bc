//go:build !linux

package loop

import (
	"net"
	"sync"

	"github.com/rfc6455/ws"
)

// Without epoll there is no event loop: every connection is served by the
// goroutine driver, through the same API.

type evloop struct{}

type evconn struct{}

type task struct {
	kind uint8
	wg   *sync.WaitGroup
}

const (
	taskShutdown uint8 = iota
	taskDropHandshakes
	taskTerminate
)

func (s *Server) newLoops(int) error                                     { return nil }
func (s *Server) acceptRaw(net.Listener) (error, bool)                   { return nil, false }
func (s *Server) takeOver(*net.TCPConn) bool                             { return false }
func (lp *evloop) post(task)                                             {}
func (lp *evloop) stop()                                                 {}
func (c *Conn) evSend(ws.MessageType, []byte, *ws.PreparedMessage) error { return ErrClosed }
func (c *Conn) evPing([]byte) error                                      { return ErrClosed }
func (c *Conn) evClose(ws.CloseCode, string, error, bool) error          { return ErrClosed }
func (c *Conn) evCloseNow() error                                        { return ErrClosed }
func (c *Conn) evPause()                                                 {}
func (c *Conn) evSendBatch([]*ws.PreparedMessage) error                  { return ErrClosed }
func (c *Conn) evResume()                                                {}
func (c *Conn) evSubprotocol() string                                    { return "" }
func (c *Conn) evAddr(bool) net.Addr                                     { return nil }

type poller struct{}

func (p *poller) wake()       {}
func (c *Conn) evQueued() int { return 0 }
