package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSmallRun runs the whole benchmark at a tiny scale against every
// server, so that the harness and the servers' event handlers do not rot:
// every figure must come out for every server (the floors serve the echo
// and idle WebSocket cases only). Node is required under
// CI=true (.ci/run installs it), skipped elsewhere when missing.
func TestSmallRun(t *testing.T) {
	servers := []string{"zishang"}
	if _, err := os.Stat("../../servers/ours/main.go"); err == nil {
		servers = append([]string{"ours", "ours-loop"}, servers...)
	}
	if _, err := os.Stat(filepath.Join("..", "..", "..", "..", "interop", "node_modules", "socket.io")); err == nil {
		servers = append(servers, "node")
	} else if os.Getenv("CI") == "true" {
		t.Fatal("socket.io is not installed: run bash interop/install.sh")
	}
	// Last: the floors leave the broadcast and polling cells empty.
	servers = append(servers, "floor")
	if err := ioUringWorks(); err != nil {
		// The io_uring floor is a measuring stick, not a server of the
		// project: where the kernel or a seccomp profile refuses
		// io_uring, it is left out, and the log says so.
		t.Logf("floor-uring left out: io_uring_setup: %v", err)
	} else {
		servers = append(servers, "floor-uring")
	}
	cmd := exec.Command("go", "run", "./cmd/siobench", "-servers", strings.Join(servers, ","), "-passes", "1",
		"-window", "300ms", "-warmup", "100ms", "-broadcast-sockets", "20", "-echo-sockets", "4",
		"-idle-ws", "50", "-idle-polling", "20", "-idle-wait", "1s")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("siobench: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, f := range figures {
		re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(f.title) + `( \| [0-9.k]+)+ \|`)
		if !re.Match(out) {
			t.Errorf("no figures for %q", f.title)
		}
	}
}
