package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the ws binary as a user would: built once, started as a
// process, talked to through its arguments, stdin, stdout, stderr and exit
// status.

// buildFlags are the go build flags for the binary under test; race_test.go
// adds -race when the tests run with it.
var buildFlags []string

var (
	buildOnce sync.Once
	buildDir  string
	wsBin     string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds the ws command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "ws-cmd-test")
		if buildErr != nil {
			return
		}
		wsBin = filepath.Join(buildDir, "ws")
		args := append([]string{"build", "-o", wsBin}, buildFlags...)
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return wsBin
}

// childEnv is the environment of the processes under test: a binary built
// with -race would otherwise wait a second before exiting; a race it finds
// still makes it exit with status 66.
func childEnv() []string {
	return append(os.Environ(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

// result is what a finished ws process left.
type result struct {
	stdout, stderr string
	code           int
}

// runWS runs the binary with args and stdin to completion (at most a minute).
func runWS(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = childEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ws %s: still running after a minute", strings.Join(args, " "))
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// process is a ws command running in the background.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *bufio.Reader
	done   chan struct{}
}

// start starts ws with args, stdin, stdout and stderr connected to pipes.
// The process is interrupted (and if need be killed) when the test ends.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = childEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout), stderr: bufio.NewReader(stderr), done: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGINT)
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		defer timer.Stop()
		io.Copy(io.Discard, p.stdout)
		io.Copy(io.Discard, p.stderr)
		p.wait()
	})
	return p
}

// line reads the next line of r, failing the test at the end of output.
func line(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %v (got %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// wait waits for the process to end and returns its exit status; stdout
// and stderr must have been read to the end.
func (p *process) wait() int {
	err := p.cmd.Wait()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// serve starts ws serve on a free port of 127.0.0.1 and returns the process
// and the ws:// URL it announced.
func serve(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	p := start(t, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	first := line(t, p.stdout)
	url := regexp.MustCompile(`wss?://\S+`).FindString(first)
	if url == "" {
		t.Fatalf("ws serve announced %q: no URL in it", first)
	}
	return p, url
}

// wantOneLine checks that s is a single line starting with prefix.
func wantOneLine(t *testing.T, s, prefix string) {
	t.Helper()
	if !strings.HasPrefix(s, prefix) || strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("stderr = %q, want one line starting with %q", s, prefix)
	}
}

func TestDialSendPrintsTheReplies(t *testing.T) {
	_, url := serve(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one", []string{"-send", "hello"}, "hello\n"},
		{"two replies", []string{"-send", "a", "-send", "b c", "-n", "2"}, "a\nb c\n"},
		{"first reply only", []string{"-send", "a", "-send", "b"}, "a\n"},
		{"no reply", []string{"-send", "a", "-n", "0"}, ""},
		{"binary as hex", []string{"-binary", "-send", "hi!"}, "686921\n"},
		{"binary as base64", []string{"-binary", "-binary-format", "base64", "-send", "hi!"}, "aGkh\n"},
		{"utf-8", []string{"-send", "héllo, 世界"}, "héllo, 世界\n"},
		{"flags after the URL", []string{"-send", "x"}, "x\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"dial"}, tc.args...)
			if tc.name == "flags after the URL" {
				args = append([]string{"dial", url}, tc.args...)
			} else {
				args = append(args, url)
			}
			r := runWS(t, "", args...)
			if r.code != 0 || r.stdout != tc.want || r.stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}

func TestDialInteractiveSendsLinesAndClosesAtEndOfInput(t *testing.T) {
	_, url := serve(t)
	r := runWS(t, "one\ntwo\r\n\nthree", "dial", url)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// A transcript, as on the test page: "> " sent, "< " received. Each
	// echo comes after its message; the lines sent are in order, and so
	// are the echoes. The empty line is an empty message, echoed as one.
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var sent, received []string
	at := map[string]int{}
	for i, l := range lines {
		at[l] = i
		switch {
		case strings.HasPrefix(l, "> "):
			sent = append(sent, l[2:])
		case strings.HasPrefix(l, "< "):
			received = append(received, l[2:])
		default:
			t.Errorf("unmarked line %q", l)
		}
	}
	want := []string{"one", "two", "", "three"}
	if strings.Join(sent, "|") != strings.Join(want, "|") || strings.Join(received, "|") != strings.Join(want, "|") {
		t.Errorf("stdout %q: sent %q, received %q; want %q both", r.stdout, sent, received, want)
	}
	for _, m := range want {
		if at["< "+m] < at["> "+m] {
			t.Errorf("stdout %q: the echo of %q before it", r.stdout, m)
		}
	}
	if !strings.HasPrefix(r.stderr, "connected to "+url) || !strings.HasSuffix(r.stderr, "closed with 1000 (normal closure)\n") {
		t.Errorf("stderr %q, want the connected and closed lines", r.stderr)
	}
}

func TestServeBroadcastSendsToEveryOtherClient(t *testing.T) {
	forServers(t, testServeBroadcastSendsToEveryOtherClient)
}

func testServeBroadcastSendsToEveryOtherClient(t *testing.T, extra ...string) {
	_, url := serve(t, append(extra, "-mode", "broadcast")...)
	a := start(t, "dial", url)
	if s := line(t, a.stderr); !strings.HasPrefix(s, "connected") {
		t.Fatalf("first client: %q", s)
	}
	if r := runWS(t, "", "dial", "-send", "hi all", "-n", "0", url); r.code != 0 {
		t.Fatalf("second client: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := line(t, a.stdout); got != "< hi all" {
		t.Fatalf("first client got %q, want the broadcast", got)
	}
	a.stdin.Close() // Ctrl-D
	if s := line(t, a.stderr); s != "closed with 1000 (normal closure)" {
		t.Errorf("first client's last words: %q", s)
	}
	if rest, _ := io.ReadAll(a.stdout); len(rest) != 0 {
		t.Errorf("first client printed %q as well", rest)
	}
	if code := a.wait(); code != 0 {
		t.Errorf("first client exit %d", code)
	}
}

func TestServeShutdownClosesClientsWith1001(t *testing.T) {
	forServers(t, testServeShutdownClosesClientsWith1001)
}

func testServeShutdownClosesClientsWith1001(t *testing.T, extra ...string) {
	srv, url := serve(t, extra...)
	a := start(t, "dial", url)
	line(t, a.stderr) // connected
	srv.cmd.Process.Signal(syscall.SIGINT)
	if s := line(t, a.stderr); s != `closed by the server with 1001 "server shutting down"` {
		t.Errorf("client: %q", s)
	}
	if code := a.wait(); code != 0 {
		t.Errorf("client exit %d", code)
	}
	if s := line(t, srv.stdout); !strings.HasPrefix(s, "shutting down: closing 1 connection(s) with 1001") {
		t.Errorf("server: %q", s)
	}
	io.Copy(io.Discard, srv.stdout)
	io.Copy(io.Discard, srv.stderr)
	if code := srv.wait(); code != 0 {
		t.Errorf("server exit %d", code)
	}
}

func TestServeTestPage(t *testing.T) { forServers(t, testServeTestPage) }

func testServeTestPage(t *testing.T, extra ...string) {
	_, url := serve(t, append(extra, "-mode", "broadcast")...)
	base := "http" + strings.TrimPrefix(url, "ws")
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(body, []byte("new WebSocket(")) || !bytes.Contains(body, []byte("<b>broadcast</b>")) {
		t.Errorf("GET / = %s %q, %d bytes: want the test page in broadcast mode", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
	resp, err = http.Get(base + "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere = %s, want 404", resp.Status)
	}
}

func TestLoadReportParses(t *testing.T) {
	_, url := serve(t)
	r := runWS(t, "", "load", url, "-c", "4", "-size", "1KiB", "-d", "1s")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{
		`^target:     ` + regexp.QuoteMeta(url) + ` \(4 connections, 1KiB binary messages\)$`,
		`^connected:  4/4 in (\S+)$`,
		`^messages:   (\d+) round trips in (\S+)$`,
		`^throughput: (\d+) msg/s, ([\d.]+) MB/s$`,
		`^latency:    p50=(\S+) p90=(\S+) p99=(\S+) max=(\S+)$`,
		`^errors:     0$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("report:\n%s\nwant %d lines", r.stdout, len(want))
	}
	var durations []time.Duration
	for i, re := range want {
		m := regexp.MustCompile(re).FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("line %q does not match %s", lines[i], re)
		}
		for _, f := range m[1:] {
			if d, err := time.ParseDuration(f); err == nil {
				durations = append(durations, d)
			} else if _, err := strconv.ParseFloat(f, 64); err != nil {
				t.Errorf("%q in %q is neither a duration nor a number", f, lines[i])
			}
		}
	}
	// connect time, elapsed, p50, p90, p99, max: in order where it matters.
	if len(durations) != 6 || durations[1] < time.Second || !(durations[2] <= durations[3] && durations[3] <= durations[4] && durations[4] <= durations[5]) {
		t.Errorf("durations %v: want elapsed >= 1s and ordered percentiles", durations)
	}
}

func TestLoadProgressLines(t *testing.T) {
	_, url := serve(t)
	progress := regexp.MustCompile(`^\s*\d+s  \d+ connections  \d+ round trips  \d+ msg/s  \d+ errors$`)
	for _, tc := range []struct {
		flag string
		want bool
	}{{"-progress", true}, {"-progress=false", false}} {
		r := runWS(t, "", "load", tc.flag, "-c", "2", "-d", "1100ms", url)
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tc.flag, r.code, r.stderr)
		}
		// How many lines there are depends on timing; what they say does not.
		for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			if l != "" && (!tc.want || !progress.MatchString(l)) {
				t.Errorf("%s: stderr line %q", tc.flag, l)
			}
		}
	}
}

func TestConformanceAgainstServe(t *testing.T) { forServers(t, testConformanceAgainstServe) }

func testConformanceAgainstServe(t *testing.T, extra ...string) {
	_, url := serve(t, extra...)
	r := runWS(t, "", "conformance", "-server", url, "-cases", "1.*,2.*")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) == 8 {
			rows[f[0]] = f[1:]
		}
	}
	// section, cases, OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED, close not OK
	for _, sec := range []string{"1", "2", "all"} {
		row := rows[sec]
		if row == nil || row[0] == "0" || row[0] != row[1] || row[5] != "0" || row[6] != "0" {
			t.Errorf("section %s: %v; want every case OK\n%s", sec, row, r.stdout)
		}
	}
	if len(rows) != 3 { // 1, 2, all
		t.Errorf("summary rows %v, want sections 1 and 2 only", rows)
	}
}

// closedPort returns an address of 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachableURLIsOneLineAndStatus1(t *testing.T) {
	url := "ws://" + closedPort(t) + "/"
	for _, args := range [][]string{
		{"dial", url},
		{"dial", "-send", "x", url},
		{"load", "-d", "1s", url},
		{"conformance", "-server", url, "-cases", "1.1.1"},
	} {
		r := runWS(t, "", args...)
		if r.code != 1 {
			t.Errorf("ws %s: exit %d, want 1", strings.Join(args, " "), r.code)
		}
		wantOneLine(t, r.stderr, "ws "+args[0]+": ")
		if !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("ws %s: %q does not say why", strings.Join(args, " "), r.stderr)
		}
	}
}

func TestHandshakeRefusedIsStatus1(t *testing.T) {
	srv := &http.Server{Handler: http.NotFoundHandler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	r := runWS(t, "", "dial", "-send", "x", "ws://"+ln.Addr().String()+"/")
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	wantOneLine(t, r.stderr, "ws dial: ")
	if !strings.Contains(r.stderr, "handshake refused: 404 Not Found") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestUsageErrorsAreOneLineAndStatus2(t *testing.T) {
	url := "ws://" + closedPort(t) + "/"
	for _, args := range [][]string{
		{"frob"},
		{"help", "frob"},
		{"dial"},
		{"dial", url, url},
		{"dial", "-nope", url},
		{"dial", "-n", "-1", "-send", "x", url},
		{"dial", "-binary-format", "octal", url},
		{"dial", "-H", "no colon", url},
		{"dial", "-cacert", "/does/not/exist", url},
		{"dial", "ftp://127.0.0.1/"},
		{"load"},
		{"load", "-c", "0", url},
		{"load", "-c", "many", url},
		{"load", "-size", "1XB", url},
		{"load", "-d", "0s", url},
		{"load", "-rate", "-5", url},
		{"serve", "extra"},
		{"serve", "-mode", "chat"},
		{"serve", "-cert", "c.pem"},
		{"serve", "-read-limit", "lots"},
		{"conformance"},
		{"conformance", "-server", url, "-client-listen", "127.0.0.1:0"},
		{"conformance", "-server", url, "-cases", "99.*"},
	} {
		r := runWS(t, "", args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("ws %s: exit %d, stdout %q; want 2 and nothing", strings.Join(args, " "), r.code, r.stdout)
		}
		prefix := "ws " + args[0] + ": "
		if args[0] == "frob" {
			prefix = "ws: "
		}
		wantOneLine(t, r.stderr, prefix)
	}
}

func TestHelpDocumentsEveryCommandAndFlag(t *testing.T) {
	r := runWS(t, "", "help")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("ws help: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, name := range order {
		if !strings.Contains(r.stdout, "\n  "+name+" ") {
			t.Errorf("ws help does not list %s", name)
		}
	}
	if !strings.Contains(r.stdout, "exit status") {
		t.Error("ws help does not document the exit status")
	}
	if r := runWS(t, ""); r.code != 2 || !strings.Contains(r.stderr, "usage: ws COMMAND") {
		t.Errorf("ws without a command: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, c := range commands {
		h := runWS(t, "", c.name, "-h")
		if h.code != 0 || !strings.HasPrefix(h.stdout, "usage: ws "+c.name) || h.stderr != "" {
			t.Errorf("ws %s -h: exit %d, stdout %.40q, stderr %q", c.name, h.code, h.stdout, h.stderr)
		}
		if hh := runWS(t, "", "help", c.name); hh.stdout != h.stdout {
			t.Errorf("ws help %s differs from ws %s -h", c.name, c.name)
		}
		fs := newFlagSet(c)
		c.setup(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(h.stdout, "  -"+f.Name) || f.Usage == "" {
				t.Errorf("ws %s -h does not document -%s", c.name, f.Name)
			}
		})
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key to
// dir, and returns their paths.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ws test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSServeAndDial(t *testing.T) { forServers(t, testTLSServeAndDial) }

func testTLSServeAndDial(t *testing.T, extra ...string) {
	cert, key := writeCert(t, t.TempDir())
	_, url := serve(t, append(extra, "-cert", cert, "-key", key)...)
	if !strings.HasPrefix(url, "wss://") {
		t.Fatalf("URL %q, want wss://", url)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-cacert", cert}, 0},
		{[]string{"-insecure"}, 0},
		{nil, 1}, // a self-signed certificate is not trusted by default
	} {
		args := append(append([]string{"dial", "-send", "secret"}, tc.args...), url)
		r := runWS(t, "", args...)
		if r.code != tc.code {
			t.Errorf("ws %s: exit %d, stderr %q; want %d", strings.Join(args, " "), r.code, r.stderr, tc.code)
		}
		if tc.code == 0 && r.stdout != "secret\n" {
			t.Errorf("ws %s: stdout %q", strings.Join(args, " "), r.stdout)
		}
		if tc.code == 1 {
			wantOneLine(t, r.stderr, "ws dial: ")
			if !strings.Contains(r.stderr, "certificate") {
				t.Errorf("stderr %q does not mention the certificate", r.stderr)
			}
		}
	}
}

func TestSubprotocolsAndHeaders(t *testing.T) { forServers(t, testSubprotocolsAndHeaders) }

func testSubprotocolsAndHeaders(t *testing.T, extra ...string) {
	_, url := serve(t, append(extra, "-subprotocols", "chat.v2,chat.v1")...)
	host := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
	a := start(t, "dial", "-subprotocols", "chat.v1,chat.v2", "-H", "X-Test: 1", "-origin", "http://"+host, url)
	if s := line(t, a.stderr); !strings.Contains(s, "(subprotocol chat.v2)") {
		t.Errorf("connected line %q: want the server's preference, chat.v2", s)
	}
	a.stdin.Close()
	io.Copy(io.Discard, a.stdout)
	io.Copy(io.Discard, a.stderr)
	if code := a.wait(); code != 0 {
		t.Errorf("exit %d", code)
	}
	// A page of another site is refused (cross-site WebSocket hijacking).
	r := runWS(t, "", "dial", "-send", "x", "-origin", "https://evil.example", url)
	if r.code != 1 || !strings.Contains(r.stderr, "403 Forbidden") {
		t.Errorf("foreign origin: exit %d, stderr %q; want 1 and 403", r.code, r.stderr)
	}
}

func TestCompressionIsNegotiatedWhenBothSidesAsk(t *testing.T) {
	forServers(t, testCompressionIsNegotiatedWhenBothSidesAsk)
}

func testCompressionIsNegotiatedWhenBothSidesAsk(t *testing.T, extra ...string) {
	_, plain := serve(t, extra...)
	_, compressing := serve(t, append(extra, "-compress", "-compress-level", "1")...)
	for _, tc := range []struct {
		url        string
		flags      []string
		compressed bool
	}{
		{compressing, []string{"-compress"}, true},
		{compressing, nil, false},
		{plain, []string{"-compress"}, false},
	} {
		args := append(append([]string{"dial"}, tc.flags...), tc.url)
		r := runWS(t, strings.Repeat("compressible ", 50)+"\n", args...)
		if m := strings.Repeat("compressible ", 50); r.code != 0 || r.stdout != "> "+m+"\n< "+m+"\n" {
			t.Errorf("ws %s: exit %d, stdout %.40q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		if got := strings.Contains(r.stderr, "(permessage-deflate)"); got != tc.compressed {
			t.Errorf("ws %s: stderr %q; want compression %v", strings.Join(args, " "), r.stderr, tc.compressed)
		}
	}
	r := runWS(t, "", "load", "-compress", "-text", "-c", "2", "-n", "100", compressing)
	if r.code != 0 || !strings.Contains(r.stdout, "text messages, permessage-deflate)") || !strings.Contains(r.stdout, "messages:   100 round trips") {
		t.Errorf("ws load -compress: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestInterruptClosesCleanly(t *testing.T) {
	_, url := serve(t)
	// Ctrl-C in an interactive session closes with 1000 and exits 0.
	a := start(t, "dial", url)
	line(t, a.stderr) // connected
	a.cmd.Process.Signal(syscall.SIGINT)
	if s := line(t, a.stderr); s != "closed with 1000 (normal closure)" {
		t.Errorf("dial after Ctrl-C: %q", s)
	}
	if code := a.wait(); code != 0 {
		t.Errorf("dial exit %d", code)
	}
	// Ctrl-C during a load run prints the report so far.
	l := start(t, "load", "-c", "2", "-d", "1m", "-progress", url)
	line(t, l.stderr) // the first progress line: the run is under way
	l.cmd.Process.Signal(syscall.SIGINT)
	out, _ := io.ReadAll(l.stdout)
	io.Copy(io.Discard, l.stderr)
	if code := l.wait(); code != 0 || !strings.HasSuffix(string(out), "errors:     0\ninterrupted: yes\n") {
		t.Errorf("load after Ctrl-C: exit %d, report:\n%s", code, out)
	}
}

// forServers runs test against ws serve with a goroutine per connection and
// with the event-loop server (-loop).
func forServers(t *testing.T, test func(t *testing.T, extra ...string)) {
	t.Run("goroutines", func(t *testing.T) { test(t) })
	t.Run("loop", func(t *testing.T) { test(t, "-loop") })
}
