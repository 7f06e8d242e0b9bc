//go:build linux

package loop

import (
	"errors"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// poller is an epoll instance (epoll(7)) with an eventfd (eventfd(2)) that
// other goroutines write to wake the loop that waits on it.
type poller struct {
	epfd  int
	evfd  int
	woken atomic.Bool // an eventfd write is pending: no need for another
}

// eventfd2 flags: EFD_NONBLOCK and EFD_CLOEXEC are O_NONBLOCK and O_CLOEXEC.
const (
	efdNonblock = syscall.O_NONBLOCK
	efdCloexec  = syscall.O_CLOEXEC
)

// Connection sockets are registered edge-triggered for reading, writing
// and the peer's shutdown: one registration for their whole life, no
// epoll_ctl per write that would block. Edge-triggered means the loop
// reads until a read comes back short (epoll(7): a short read on a stream
// socket means its receive queue is empty) and writes until the queue is
// empty or a write comes back short.
const connEvents = syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | epollET

// epollET is EPOLLET as an unsigned flag (package syscall defines it as a
// negative int).
const epollET = 1 << 31

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdNonblock|efdCloexec, 0)
	if e != 0 {
		syscall.Close(epfd)
		return nil, e
	}
	p := &poller{epfd: epfd, evfd: int(r)}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.evfd, &ev); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// add registers a connection's socket.
func (p *poller) add(fd int) error {
	ev := syscall.EpollEvent{Events: uint32(connEvents), Fd: int32(fd)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// wait waits up to msec milliseconds (-1: without a bound) for events.
func (p *poller) wait(events []syscall.EpollEvent, msec int) (int, error) {
	for {
		n, err := syscall.EpollWait(p.epfd, events, msec)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return n, err
	}
}

// wake makes the loop's wait return, once however many goroutines call it
// before the loop has seen it.
func (p *poller) wake() {
	if !p.woken.CompareAndSwap(false, true) {
		return
	}
	one := uint64(1)
	syscall.Write(p.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// woke is called by the loop when the eventfd is readable: it resets it,
// so that the next wake writes again. The read comes first: reset after
// the flag, it could consume the write of a wake that came in between and
// leave the flag set with nothing pending, and every later wake would be
// lost. A wake between the read and the flag's reset writes nothing, but
// its task was posted before it, and the loop runs its tasks after this.
func (p *poller) woke() {
	var b [8]byte
	syscall.Read(p.evfd, b[:])
	p.woken.Store(false)
}

func (p *poller) close() {
	syscall.Close(p.evfd)
	syscall.Close(p.epfd)
}
