package load

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A window in which no operation can complete (each takes longer than the
// window, as on a busy machine) goes on until one does: it never measures
// nothing from a working peer.
func TestWindowLastsUntilAnOperationCompletes(t *testing.T) {
	w := measure(context.Background(), 2, Timing{Window: time.Millisecond}, func(int) (time.Duration, error) {
		time.Sleep(30 * time.Millisecond)
		return 30 * time.Millisecond, nil
	})
	if w.Ops == 0 || w.Errors != 0 {
		t.Fatalf("%d operations, %d errors; want at least one operation and no error", w.Ops, w.Errors)
	}
	if w.Duration < 20*time.Millisecond {
		t.Errorf("window of %v, shorter than the operation it counted", w.Duration)
	}
}

// A window whose workers all fail ends with their error, whatever its
// count.
func TestWindowEndsWhenEveryWorkerFailed(t *testing.T) {
	boom := errors.New("boom")
	w := measure(context.Background(), 3, Timing{Window: time.Millisecond}, func(int) (time.Duration, error) {
		time.Sleep(5 * time.Millisecond)
		return 0, boom
	})
	if w.Ops != 0 || w.Errors != 3 || !errors.Is(w.FirstErr, boom) {
		t.Fatalf("%d operations, %d errors (%v); want 0, 3 (boom)", w.Ops, w.Errors, w.FirstErr)
	}
}
