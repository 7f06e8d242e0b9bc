// Package wsconn lets package server hand package ws what its handshake
// on a raw connection has already made, without exporting a way to do so
// from ws: the socket's syscall.RawConn, which net makes anew (an
// allocation) at each SyscallConn call.
package wsconn

// NewConn, set by package ws where it reads through the socket's raw
// connection, is its
//
//	func(nc net.Conn, rc syscall.RawConn, buffered []byte, role ws.Role, opts *ws.Options) *ws.Conn
//
// that ws.NewConn(nc, buffered, role, opts) calls with rc nil: given nc's
// raw connection (from nc's SyscallConn) it does not make it again. It is
// the function itself, not a wrapper, so that calling it takes no more
// stack than ws.NewConn (a server's goroutine should keep the 2 KiB stack
// it starts with). Nil where package ws does not use raw connections.
var NewConn any
