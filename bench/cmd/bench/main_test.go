package main

import (
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-cases", "("}, {"-libs", "nope", "-cases", "^handshake"}} {
		var out, errs strings.Builder
		if code := run(args, &out, &errs); code == 0 {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
