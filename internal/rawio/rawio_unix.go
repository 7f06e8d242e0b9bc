//go:build unix && !wasip1

package rawio

import "syscall"

// WriteAll is the body of a syscall.RawConn.Write callback that writes *p
// to fd, a socket that does not block, dropping from *p what was written.
// It returns true when *p is all written or the write failed (*errno set),
// and false when the socket takes no more for now: the poller then waits
// for writability and calls again.
func WriteAll(fd uintptr, p *[]byte, errno *syscall.Errno) bool {
	for len(*p) > 0 {
		n, e := Write(fd, *p)
		switch e {
		case 0:
			*p = (*p)[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			*errno = e
			return true
		}
	}
	return true
}
