//go:build !linux

package load

import "syscall"

func bindAddressNoPort(network, address string, c syscall.RawConn) error { return nil }
