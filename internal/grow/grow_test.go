package grow

import "testing"

// Growing a buffer from nothing to a message that reaches the most it may
// (the read limit, or its last frame's end) allocates at most 1.15 times
// that size plus twice Small, never grows a buffer past eight times what it
// holds once past Small, and lands on the size exactly.
func TestGrowthToTheMostCostsAboutTheMost(t *testing.T) {
	for _, final := range []int64{1, 511, 512 << 10, 1<<20 + 1, 32 << 20, 32<<20 + 1, 100 << 20, 1 << 30} {
		for _, need := range []int64{1, 1 << 10, 32 << 10, 64 << 10, 4 * 32 << 10} {
			var n, c, total int64
			steps := 0
			for n < final {
				if n == c {
					nc := Cap(n, min(need, final-n), final-n)
					if nc <= c || nc > final {
						t.Fatalf("final %d need %d: Cap(%d) = %d", final, need, n, nc)
					}
					if n >= Small && nc > 8*n && nc > n+need {
						t.Fatalf("final %d: grew %d to %d, more than eightfold", final, n, nc)
					}
					total += nc
					c = nc
					steps++
				}
				n = c // fill it
			}
			if c != final {
				t.Fatalf("final %d need %d: ended at capacity %d", final, need, c)
			}
			if bound := final + final*15/100 + 2*Small; total > bound {
				t.Errorf("final %d need %d: allocated %d in %d steps, over %d", final, need, total, steps, bound)
			}
		}
	}
}

// Without a known end a buffer grows eightfold past Small.
func TestGrowthWithoutEnd(t *testing.T) {
	if c := Cap(0, 1, -1); c != Min {
		t.Fatalf("Cap(0) = %d", c)
	}
	if c := Cap(1000, 1, -1); c != 2000 {
		t.Fatalf("Cap(1000) = %d", c)
	}
	if c := Cap(Small, 1, -1); c != 8*Small {
		t.Fatalf("Cap(Small) = %d", c)
	}
	if c := Cap(Small, 16*Small, -1); c != 17*Small {
		t.Fatalf("Cap(Small, need 16 Small) = %d", c)
	}
}

func TestTrimmed(t *testing.T) {
	for _, tc := range []struct {
		n, c int64
		want bool
	}{{100, 4000, false}, {1 << 20, 2 << 20, false}, {1 << 20, 8 << 20, true}, {30 << 20, 32 << 20, false}} {
		if got := Trimmed(tc.n, tc.c); got != tc.want {
			t.Errorf("Trimmed(%d, %d) = %v", tc.n, tc.c, got)
		}
	}
}
