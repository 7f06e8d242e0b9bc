//go:build linux

package main

import (
	"sync/atomic"
	"unsafe"
)

// loadAcquire and storeRelease read and write a ring's head or tail,
// shared with the kernel (Go's atomics are sequentially consistent, which
// is at least acquire and release).
func loadAcquire(p *uint32) uint32 { return atomic.LoadUint32(p) }

func storeRelease(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

// bufAddr is the address of b's first byte, for an SQE. b's array is on
// the Go heap, which does not move, and the connection keeps it until the
// send's completion.
func bufAddr(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
