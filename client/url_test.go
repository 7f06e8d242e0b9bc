//go:build !js

package client

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestURLWithoutScheme: what users type without a scheme is answered with
// the fix, not with url.Parse's view of it.
func TestURLWithoutScheme(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "localhost:8080", "localhost:8080/ws", "example.com/ws", "ws//example.com/", "[::1]:8080"} {
		_, _, err := Dial(context.Background(), u, nil)
		if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "has no scheme; use ws:// or wss://") {
			t.Errorf("Dial(%q): %v, want the no-scheme error", u, err)
		}
	}
}
