package client

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeModules is where interop/install.sh puts the npm packages.
var nodeModules = filepath.Join("..", "..", "interop", "node_modules")

// startNode starts testdata/server.js, the Node reference server
// (socket.io 4.8 from interop/package-lock.json). Without Node or the
// package it skips, and fails under CI=true, where .ci/run installs them.
func startNode(t *testing.T, cfg serverConfig) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodeModules, "socket.io", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Node reference server is missing (run bash interop/install.sh): %v", err)
		}
		t.Skipf("the Node reference server is missing (run bash interop/install.sh): %v", err)
	}
	arg, _ := json.Marshal(cfg)
	cmd := exec.Command(node, "testdata/server.js", string(arg))
	abs, _ := filepath.Abs(nodeModules)
	cmd.Env = append(os.Environ(), "NODE_PATH="+abs)
	stdin, _ := cmd.StdinPipe() // the server exits when it closes
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("node server: %q %v", line, err)
	}
	return "http://127.0.0.1:" + port
}

func TestNodeServer(t *testing.T) {
	noLeaks(t)
	runSuite(t, startNode)
}
