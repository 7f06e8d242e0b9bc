package loop

import "sync"

// Buffers for what waits to be written, and for messages that span reads,
// come from pools by size class and go back once written or delivered, so
// that an idle connection holds none.

var bufClasses = [...]int{512, 4 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20}

var bufPools [len(bufClasses)]sync.Pool

// getBuf returns a pooled buffer with room for at least n bytes, empty.
// Above the largest class it is made for the purpose.
func getBuf(n int) *[]byte {
	for i, size := range bufClasses {
		if n <= size {
			if p, _ := bufPools[i].Get().(*[]byte); p != nil {
				*p = (*p)[:0]
				return p
			}
			b := make([]byte, 0, size)
			return &b
		}
	}
	b := make([]byte, 0, n)
	return &b
}

// putBuf gives a buffer from getBuf back, if it fits a class.
func putBuf(p *[]byte) {
	if p == nil {
		return
	}
	c := cap(*p)
	for i, size := range bufClasses {
		if c == size {
			*p = (*p)[:0]
			bufPools[i].Put(p)
			return
		}
	}
}
