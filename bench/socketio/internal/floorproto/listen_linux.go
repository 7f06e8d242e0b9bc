package floorproto

import (
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// Listen opens a blocking listening IPv4 socket on ap.
func Listen(ap netip.AddrPort) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	sa := &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	if err := syscall.Bind(fd, sa); err != nil {
		return -1, err
	}
	if err := syscall.Listen(fd, 4096); err != nil {
		return -1, err
	}
	return fd, nil
}

// Counter counts a loop's acknowledgements, for ReportOnSignal; each loop
// has its own (padded to a cache line of its own, so that loops on
// different CPUs do not share one).
type Counter struct {
	n atomic.Uint64
	_ [56]byte
}

// Add counts n acknowledgements.
func (c *Counter) Add(n int) {
	if n > 0 {
		c.n.Add(uint64(n))
	}
}

// ReportOnSignal prints the acknowledgements the counters counted, in all,
// to standard error ("acks N") each time the process gets SIGUSR1: for
// counting system calls per ack from outside (perf stat, strace) over a
// known number of acks.
func ReportOnSignal(counters []*Counter) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		for range ch {
			var n uint64
			for _, c := range counters {
				n += c.n.Load()
			}
			fmt.Fprintf(os.Stderr, "acks %d\n", n)
		}
	}()
}
