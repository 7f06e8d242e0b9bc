//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// The io_uring interface, from the kernel's include/uapi/linux/io_uring.h
// (the system call numbers are the same on every architecture).
const (
	sysIOUringSetup    = 425
	sysIOUringEnter    = 426
	sysIOUringRegister = 427

	// io_uring_setup(2) flags.
	setupSQPoll       = 1 << 1
	setupCQSize       = 1 << 3
	setupSubmitAll    = 1 << 7
	setupCoopTaskrun  = 1 << 8
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13

	featSingleMmap = 1 << 0

	// io_uring_enter(2) flags.
	enterGetEvents = 1 << 0
	enterSQWakeup  = 1 << 1
	enterSQWait    = 1 << 2

	// SQ ring flags.
	sqNeedWakeup = 1 << 0

	// mmap offsets.
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	// Opcodes.
	opAccept  = 13
	opSend    = 26
	opRecv    = 27
	opMsgRing = 40

	// SQE flags.
	sqeBufferSelect   = 1 << 5
	sqeCQESkipSuccess = 1 << 6

	// ioprio bits of accept and recv.
	acceptMultishot = 1 << 0
	recvMultishot   = 1 << 1

	// CQE flags.
	cqeFBuffer     = 1 << 0
	cqeFMore       = 1 << 1
	cqeBufferShift = 16

	// io_uring_register(2) opcodes.
	registerPbufRing = 22
)

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16 // buf_group with IOSQE_BUFFER_SELECT
	personality uint16
	fileIndex   uint32
	addr3       uint64
	_           uint64
}

// cqe is struct io_uring_cqe (16 bytes, no IORING_SETUP_CQE32).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// bufEntry is struct io_uring_buf, an entry of a provided-buffer ring; the
// ring's tail is the resv field of its first entry.
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// bufReg is struct io_uring_buf_reg.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// ring is one io_uring instance, used by one thread.
type ring struct {
	fd int

	sqHead, sqTail *uint32
	sqMask         uint32
	sqes           []sqe
	sqLocal        uint32 // our tail: SQEs filled but not yet published
	sqPending      uint32 // SQEs published since the last io_uring_enter
	sqFlags        *uint32
	sqpoll         bool // IORING_SETUP_SQPOLL: a kernel thread of the process submits

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe

	mems [][]byte // the mappings, kept alive
}

func newRing(entries, cqEntries uint32, flags uint32) (*ring, error) {
	p := params{flags: flags | setupCQSize, cqEntries: cqEntries}
	if flags&setupSQPoll != 0 {
		p.sqThreadIdle = 1 // ms the kernel's polling thread spins without work before it sleeps
	}
	fd, _, errno := syscall.Syscall(sysIOUringSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &ring{fd: int(fd)}
	if p.features&featSingleMmap == 0 {
		return nil, fmt.Errorf("io_uring: no IORING_FEAT_SINGLE_MMAP")
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rm, err := syscall.Mmap(r.fd, offSQRing, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("io_uring: mmap of the rings: %w", err)
	}
	sm, err := syscall.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("io_uring: mmap of the SQEs: %w", err)
	}
	r.mems = [][]byte{rm, sm}
	r.sqHead = (*uint32)(unsafe.Pointer(&rm[p.sqOff.head]))
	r.sqTail = (*uint32)(unsafe.Pointer(&rm[p.sqOff.tail]))
	r.sqMask = *(*uint32)(unsafe.Pointer(&rm[p.sqOff.ringMask]))
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sm[0])), p.sqEntries)
	// The SQ's index array maps slot i to SQE i, once for all.
	array := unsafe.Slice((*uint32)(unsafe.Pointer(&rm[p.sqOff.array])), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.cqHead = (*uint32)(unsafe.Pointer(&rm[p.cqOff.head]))
	r.cqTail = (*uint32)(unsafe.Pointer(&rm[p.cqOff.tail]))
	r.cqMask = *(*uint32)(unsafe.Pointer(&rm[p.cqOff.ringMask]))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&rm[p.cqOff.cqes])), p.cqEntries)
	r.sqFlags = (*uint32)(unsafe.Pointer(&rm[p.sqOff.flags]))
	r.sqpoll = flags&setupSQPoll != 0
	r.sqLocal = atomic.LoadUint32(r.sqTail)
	return r, nil
}

// get returns a cleared SQE to fill; it submits what is queued first if
// the submission queue is full.
func (r *ring) get() *sqe {
	for r.sqLocal-atomic.LoadUint32(r.sqHead) >= uint32(len(r.sqes)) {
		r.publish()
		if err := r.enter(0); err != nil {
			panic(err)
		}
	}
	s := &r.sqes[r.sqLocal&r.sqMask]
	*s = sqe{}
	r.sqLocal++
	return s
}

// publish makes the filled SQEs visible to the kernel.
func (r *ring) publish() {
	t := atomic.LoadUint32(r.sqTail)
	if t != r.sqLocal {
		r.sqPending += r.sqLocal - t
		atomic.StoreUint32(r.sqTail, r.sqLocal)
	}
}

// enter submits every published SQE and, with minComplete > 0, waits for
// that many completions (IORING_ENTER_GETEVENTS; with
// IORING_SETUP_DEFER_TASKRUN this is also where the kernel runs the ring's
// deferred work, such as the receives of data that arrived): one system
// call.
func (r *ring) enter(minComplete uint32) error {
	flags := uintptr(0)
	if minComplete > 0 {
		flags = enterGetEvents
	}
	if r.sqpoll {
		// The polling thread takes the SQEs; wake it if it sleeps, and
		// wait for room in the queue if that is what the caller needs.
		r.sqPending = 0
		if atomic.LoadUint32(r.sqFlags)&sqNeedWakeup != 0 {
			flags |= enterSQWakeup
		}
		if minComplete == 0 {
			flags |= enterSQWait
		}
	}
	for {
		n, _, errno := syscall.Syscall6(sysIOUringEnter, uintptr(r.fd), uintptr(r.sqPending), uintptr(minComplete), flags, 0, 0)
		switch errno {
		case 0:
			if !r.sqpoll {
				r.sqPending -= uint32(n)
			}
			return nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN, syscall.EBUSY:
			// Completions must be reaped first; the caller's loop does.
			if minComplete > 0 {
				return nil
			}
			continue
		}
		return fmt.Errorf("io_uring_enter: %w", errno)
	}
}

// bufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING): buffers
// the kernel picks from for multishot receives, returned by us once read.
type bufRing struct {
	entries []bufEntry
	local   uint16
	mask    uint16
	size    int
	mem     []byte // the buffers, outside the Go heap
}

func (r *ring) newBufRing(group uint16, n, size int) (*bufRing, error) {
	em, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(bufEntry{})), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	bm, err := syscall.Mmap(-1, 0, n*size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	b := &bufRing{
		entries: unsafe.Slice((*bufEntry)(unsafe.Pointer(&em[0])), n),
		mask:    uint16(n - 1),
		size:    size,
		mem:     bm,
	}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&em[0]))), ringEntries: uint32(n), bgid: group}
	if _, _, errno := syscall.Syscall6(sysIOUringRegister, uintptr(r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); errno != 0 {
		return nil, fmt.Errorf("io_uring_register(IORING_REGISTER_PBUF_RING): %w", errno)
	}
	r.mems = append(r.mems, em, bm)
	for i := range n {
		b.put(uint16(i))
	}
	b.publish()
	return b, nil
}

// buf returns buffer id's bytes.
func (b *bufRing) buf(id uint16) []byte {
	return b.mem[int(id)*b.size : (int(id)+1)*b.size]
}

// put queues buffer id for the kernel again (publish makes it visible).
func (b *bufRing) put(id uint16) {
	e := &b.entries[b.local&b.mask]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.mem[int(id)*b.size])))
	e.len = uint32(b.size)
	e.bid = id
	b.local++
}

func (b *bufRing) publish() {
	// The tail is the 16 bits after entry 0's buffer id, which put may
	// have just written: store both as one aligned 32-bit word,
	// atomically, after the entries.
	var w [4]byte
	binary.NativeEndian.PutUint16(w[0:], b.entries[0].bid)
	binary.NativeEndian.PutUint16(w[2:], b.local)
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b.entries[0].bid)), binary.NativeEndian.Uint32(w[:]))
}
