package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestDemoCrossesServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-demo"}, strings.NewReader(""), &out); err != nil {
		t.Fatal(err)
	}
	if want := "bob, on server B, got \"ann@A: hello from server A\"\n"; out.String() != want {
		t.Fatalf("demo printed %q, want %q", out.String(), want)
	}
}
