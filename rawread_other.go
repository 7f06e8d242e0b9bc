//go:build (!unix || wasip1) && !js

package ws

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: reads go through the net.Conn.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (c *Conn) rawRead(uintptr) bool { return true }

func (c *Conn) rawWrite(uintptr) bool { return true }

func (c *Conn) rawWritev(*vecWrite) error { panic("ws: no raw connection") }

// rawIovecs is empty: there are no raw writes.
type rawIovecs struct{}
