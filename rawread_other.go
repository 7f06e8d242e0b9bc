//go:build !unix || wasip1

package ws

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: reads go through the net.Conn.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (c *Conn) rawRead(uintptr) bool { return true }
