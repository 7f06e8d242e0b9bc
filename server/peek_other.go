//go:build !unix || wasip1

package server

import "net"

// peekSocket reads nothing: the handshake's reads go through nc, under
// the handshake timeout.
func (hb *headBuf) peekSocket(net.Conn) (int, error) { return 0, nil }

func (hb *headBuf) peekFD(uintptr) bool { return true }

func (hb *headBuf) writeFD(uintptr) bool { return true }

func (hb *headBuf) rawWrite(net.Conn, []byte) error { panic("server: no raw connection") }
