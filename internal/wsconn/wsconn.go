// Package wsconn lets package server hand package ws what its handshake
// on a raw connection has already made, without exporting a way to do so
// from ws: the socket's syscall.RawConn, which net makes anew (an
// allocation) at each SyscallConn call.
package wsconn

import (
	"net"
	"syscall"
)

// NewServerConn, set by package ws where it reads through the socket's
// raw connection, is ws.NewConn(nc, buffered, ws.RoleServer, opts) given
// rc, nc's raw connection (from nc's SyscallConn), instead of making it
// again. opts is a *ws.Options, the result a *ws.Conn. Nil where package
// ws does not use raw connections.
var NewServerConn func(nc net.Conn, rc syscall.RawConn, buffered []byte, opts any) any
