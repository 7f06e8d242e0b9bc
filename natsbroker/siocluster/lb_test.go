package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// need finds a program the test needs, skipping without it (failing under
// CI=true, where .ci/run installs it: bash interop/install.sh).
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (bash interop/install.sh installs it)", name)
		}
		t.Skipf("%s is missing (bash interop/install.sh installs it)", name)
	}
	return p
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBehindHAProxy runs the committed haproxy.cfg (its ports moved) in
// front of two siocluster processes sharing a NATS server, and the real
// socket.io-client through it: polling, WebSocket and the upgrade stick to
// their server, a room spans both servers, and when s1 is killed its
// clients reconnect through the balancer to s2 and the room works again;
// s2 notices that s1 is gone, and its cluster requests stop waiting for it.
func TestBehindHAProxy(t *testing.T) {
	haproxy := need(t, "haproxy")
	node := need(t, "node")
	modules, _ := filepath.Abs(filepath.Join("..", "..", "interop", "node_modules"))
	if _, err := os.Stat(filepath.Join(modules, "socket.io-client")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("socket.io-client is missing: bash interop/install.sh")
		}
		t.Skip("socket.io-client is missing: bash interop/install.sh")
	}
	dir := t.TempDir()

	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	natsURL := fmt.Sprintf("nats://%s", ns.Addr())

	bin := filepath.Join(dir, "siocluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ports := map[string]int{"s1": freePort(t), "s2": freePort(t)}
	servers := map[string]*exec.Cmd{}
	for _, id := range []string{"s1", "s2"} {
		cmd := exec.Command(bin, "-addr", fmt.Sprintf("127.0.0.1:%d", ports[id]), "-id", id, "-nats", natsURL,
			"-heartbeat-interval", "200ms", "-heartbeat-timeout", "1s")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		servers[id] = cmd
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitListening(t, fmt.Sprintf("127.0.0.1:%d", ports[id]))
	}

	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	front := freePort(t)
	c := strings.NewReplacer(
		"127.0.0.1:3000", fmt.Sprintf("127.0.0.1:%d", front),
		"127.0.0.1:3001", fmt.Sprintf("127.0.0.1:%d", ports["s1"]),
		"127.0.0.1:3002", fmt.Sprintf("127.0.0.1:%d", ports["s2"]),
	).Replace(string(cfg))
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	lb := exec.Command(haproxy, "-db", "-f", cfgPath)
	lb.Stdout, lb.Stderr = os.Stderr, os.Stderr
	if err := lb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lb.Process.Kill(); lb.Wait() })
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", front))

	js := exec.Command(node, "testdata/lbclient.js", fmt.Sprintf("http://127.0.0.1:%d", front))
	js.Env = append(os.Environ(), "NODE_PATH="+modules)
	js.Stderr = os.Stderr
	stdin, _ := js.StdinPipe()
	stdout, _ := js.StdoutPipe()
	if err := js.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Process.Kill(); js.Wait() })
	lines := bufio.NewScanner(stdout)
	ok := false
	for lines.Scan() {
		line := lines.Text()
		t.Log(line)
		switch {
		case line == "kill s1":
			servers["s1"].Process.Kill()
			servers["s1"].Wait()
			fmt.Fprintln(stdin, "killed")
		case line == "ok":
			ok = true
		case strings.HasPrefix(line, "FAIL"):
			t.Fatal(line)
		}
	}
	if err := js.Wait(); err != nil || !ok {
		t.Fatalf("lbclient.js: %v", err)
	}
}
