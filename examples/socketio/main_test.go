package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nodeModules is where interop/install.sh puts the npm packages.
var nodeModules = filepath.Join("..", "..", "interop", "node_modules")

// missingPeer skips the test, or fails it under CI=true, where .ci/run
// installs the peers.
func missingPeer(t *testing.T, what string, err error) {
	t.Helper()
	msg := what + " is missing (run bash interop/install.sh): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startExample runs the program on a free port and returns its URL; the
// cleanup stops it and checks that it shut down cleanly.
func startExample(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no banner")
	}
	banner := sc.Text()
	m := regexp.MustCompile(`at (http://[^ ]+)/socket\.io/`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("banner %q does not say where", banner)
	}
	var rest bytes.Buffer
	restDone := make(chan struct{})
	go func() {
		defer close(restDone)
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return after its context ended")
		}
		<-restDone
		if t.Failed() {
			t.Logf("server output:\n%s", rest.String())
		}
	})
	return m[1]
}

// The banner says how to try it: the page, and the seed's client.
func TestBannerSaysHowToTryIt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	var banner strings.Builder
	for range 7 {
		l, err := r.ReadString('\n')
		banner.WriteString(l)
		if err != nil {
			break
		}
	}
	cancel()
	go io.Copy(io.Discard, r)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/socket.io/", "open http://127.0.0.1:", "socket.emit('message', { text: 'Hello!' })", "io('http://127.0.0.1:"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
}

// seedClient is the seed's Socket.IO client section, as it is, but for
// the URL and the exit once it has seen what the server sends.
const seedClient = `
const { io } = require("socket.io-client");
const seen = [];
const socket = io(process.argv[1]);

socket.on('connect', () => {
  console.log('Connected:', socket.id);
});

socket.on('message', (data) => {
  console.log('Message:', data);
  seen.push(JSON.stringify(data));
  if (seen.includes('"Message received"') && seen.includes('{"text":"Hello!"}')) {
    socket.disconnect();
  }
});

socket.emit('message', { text: 'Hello!' });

socket.on('disconnect', () => {
  console.log('Disconnected');
});
`

// The seed's client, in Node with socket.io-client, against the example.
func TestSeedClientInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(t, "Node", err)
	}
	if _, err := os.Stat(filepath.Join(nodeModules, "socket.io-client", "package.json")); err != nil {
		missingPeer(t, "socket.io-client", err)
	}
	url := startExample(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "-e", seedClient, url)
	abs, _ := filepath.Abs(nodeModules)
	cmd.Env = append(os.Environ(), "NODE_PATH="+abs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	for _, want := range []string{"Connected: ", "Message: Hello room", "Message: Message received", "Message: { text: 'Hello!' }", "Disconnected"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
