package catalog

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/server"
)

// s1213Options are the run options of the section 12 and 13 tests. The
// suite's cases send 1000 messages each, up to 128 MiB a case and 10 GiB
// per role over both sections: CATALOG_FULL=1 runs them so (and every case
// under the race detector too); by default each case sends at most 4 MiB
// (256 KiB under the race detector, which runs a sample of the cases): each
// case still sends at least 32 (2) messages, many times the data sets'
// length and the 32 KiB window.
func s1213Options(t *testing.T) *Options {
	o := &Options{OutDir: t.TempDir()}
	if os.Getenv("CATALOG_FULL") == "" {
		o.CompressionBytesPerCase = 4 << 20
		if raceEnabled {
			// Every message size of the sample, and at least two
			// 128 KiB messages, so that the second one compresses
			// against the first one's history: the race detector
			// slows compression about tenfold.
			o.CompressionBytesPerCase = 256 << 10
		}
	} else {
		o.CaseTimeout = 10 * time.Minute
	}
	return o
}

func sections12and13(t *testing.T) []Case {
	t.Helper()
	cases, err := Select(All(), []string{"12.*", "13.*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 216 {
		t.Fatalf("sections 12 and 13 have %d cases, want 216", len(cases))
	}
	return cases
}

// compressingServer starts this project's echo server with
// permessage-deflate enabled (nil cfg: disabled) and returns its URL.
func compressingServer(t *testing.T, cfg *deflate.ServerConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := server.Handler(echo)
	h.Options.Compression = cfg
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return "ws://" + ln.Addr().String() + "/"
}

// TestSections12And13AgainstOurServer runs sections 12 and 13 against this
// project's server, which accepts permessage-deflate with its defaults
// (every window, context takeover in both directions unless asked).
func TestSections12And13AgainstOurServer(t *testing.T) {
	t.Parallel()
	url := compressingServer(t, &deflate.ServerConfig{})
	cases := casesFor(sections12and13(t))
	start := time.Now()
	reports, err := RunServerTests(context.Background(), url, "rfc6455-ws-server", cases, s1213Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases against our server in %v", len(reports), time.Since(start).Round(time.Millisecond))
	checkAll(t, reports, len(cases))
	checkNegotiated(t, reports, false)
}

// clientConfigFor is the offer this project's client makes for a case: the
// first of the original's client offers for its subsection, so that the
// fuzzing server's answer (the original's accept functions) applies.
func clientConfigFor(id string) *deflate.ClientConfig {
	cfg := &deflate.ClientConfig{}
	if strings.HasPrefix(id, "13.") {
		var sub int
		fmt.Sscanf(id, "13.%d.", &sub)
		o := s13Params[sub-1].offers[0]
		cfg.ServerNoContextTakeover = o[0] == 1
		cfg.ServerMaxWindowBits = o[1]
	}
	return cfg
}

// TestSections12And13AgainstOurClient runs sections 12 and 13 against this
// project's client, which offers permessage-deflate as each subsection's
// client offer says.
func TestSections12And13AgainstOurClient(t *testing.T) {
	t.Parallel()
	cases := casesFor(sections12and13(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		res map[string][]Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := ServeClientTests(ctx, ln, cases, s1213Options(t))
		done <- out{res, err}
	}()
	start := time.Now()
	cerr := runOurClientWith(ctx, ln.Addr().String(), "rfc6455-ws-client", func(n int) *client.Options {
		return &client.Options{Compression: clientConfigFor(cases[n-1].ID)}
	})
	cancel()
	o := <-done
	if cerr != nil {
		t.Fatal(cerr)
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	reports := o.res["rfc6455-ws-client"]
	t.Logf("%d cases against our client in %v", len(reports), time.Since(start).Round(time.Millisecond))
	checkAll(t, reports, len(cases))
	checkNegotiated(t, reports, true)
}

// checkNegotiated checks that each case ran with the parameters its
// subsection is about, from the handshake the report recorded.
func checkNegotiated(t *testing.T, reports []Report, fuzzerIsServer bool) {
	t.Helper()
	for _, r := range reports {
		ext := ""
		for _, line := range strings.Split(r.HTTPResponse, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Extensions") {
				ext = strings.TrimSpace(v)
			}
		}
		if ext == "" {
			t.Errorf("case %s: no Sec-WebSocket-Extensions in the response %q", r.ID, r.HTTPResponse)
			continue
		}
		var want []string
		sub := r.ID[:strings.LastIndexByte(r.ID, '.')]
		switch sub {
		case "13.2":
			want = []string{"server_no_context_takeover"}
		case "13.3":
			want = []string{"server_max_window_bits=9"}
		case "13.5", "13.7":
			want = []string{"server_no_context_takeover", "server_max_window_bits=9"}
		case "13.6":
			want = []string{"server_no_context_takeover", "server_max_window_bits=15"}
		}
		if fuzzerIsServer {
			// The fuzzing server asks the client for these.
			switch sub {
			case "13.2", "13.6":
				want = append(want, "client_no_context_takeover")
			case "13.3":
				want = append(want, "client_max_window_bits=9")
			case "13.4":
				want = append(want, "client_max_window_bits=15")
			case "13.5", "13.7":
				want = append(want, "client_no_context_takeover", "client_max_window_bits=9")
			}
		}
		for _, w := range want {
			if !strings.Contains(ext, w) {
				t.Errorf("case %s: response %q lacks %s", r.ID, ext, w)
			}
		}
	}
}

// runOurClientWith is runOurClient with options per case number.
func runOurClientWith(ctx context.Context, addr, agent string, opts func(n int) *client.Options) error {
	base := "ws://" + addr
	c, _, err := client.Dial(ctx, base+"/getCaseCount", nil)
	if err != nil {
		return err
	}
	_, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		return err
	}
	c.Close(ws.CloseNormal, "")
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("case count %q: %v", msg, err)
	}
	for i := 1; i <= n; i++ {
		c, _, err := client.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), opts(i))
		if err != nil {
			return err
		}
		echo(c)
		c.CloseNow()
	}
	c, _, err = client.Dial(ctx, base+"/updateReports?agent="+agent, nil)
	if err != nil {
		return err
	}
	_, _, err = c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	c.CloseNow()
	return nil
}

// runSome runs the cases with the given IDs against url.
func runSome(t *testing.T, url string, ids ...string) map[string]Report {
	t.Helper()
	cases, err := Select(All(), ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := &Options{CompressionBytesPerCase: 1 << 20}
	reports, err := RunServerTests(context.Background(), url, "peer", cases, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Report{}
	for _, r := range reports {
		out[r.ID] = r
	}
	return out
}

// TestSections12And13ServerDeclines: a server without compression leaves
// every case UNIMPLEMENTED, with a clean close, as in the original.
func TestSections12And13ServerDeclines(t *testing.T) {
	t.Parallel()
	url := compressingServer(t, nil)
	for id, r := range runSome(t, url, "12.1.1", "12.5.18", "13.3.1", "13.7.10") {
		if r.Behavior != Unimplemented || r.BehaviorClose != OK {
			t.Errorf("case %s: %s / %s (%s), want UNIMPLEMENTED / OK", id, r.Behavior, r.BehaviorClose, r.Result.Result)
		}
	}
}

// pmdFlaw is how pmdBrokenServer breaks permessage-deflate.
type pmdFlaw int

const (
	// pmdBigWindow grants the window the client asks for but compresses
	// with compress/flate, whose window is always 32 KiB.
	pmdBigWindow pmdFlaw = iota
	// pmdWiderAnswer answers server_max_window_bits=15 whatever the
	// client asked for.
	pmdWiderAnswer
	// pmdCorrupt sends a compressed message whose DEFLATE data is invalid.
	pmdCorrupt
)

// pmdBrokenServer is an echo server on the fuzzer's own codec that
// negotiates permessage-deflate with deflate.ServerConfig and breaks it as
// fl says.
func pmdBrokenServer(t *testing.T, fl pmdFlaw) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				pmdBrokenConn(c, fl)
			}()
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func pmdBrokenConn(c net.Conn, fl pmdFlaw) {
	br := bufio.NewReader(c)
	tp := textproto.NewReader(br)
	if _, err := tp.ReadLine(); err != nil {
		return
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return
	}
	els, err := parseExtensions(hdr.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return
	}
	var offers [][]deflate.Param
	for _, e := range els {
		if e.name != pmdName {
			continue
		}
		var ps []deflate.Param
		for _, p := range e.params {
			ps = append(ps, deflate.Param{Name: p.name, Value: p.value, HasValue: p.hasValue})
		}
		offers = append(offers, ps)
	}
	params, ok := deflate.ServerConfig{}.Negotiate(offers)
	ext := pmdName + params.String()
	if fl == pmdWiderAnswer {
		ext = pmdName + "; server_max_window_bits=15"
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(hdr.Get("Sec-WebSocket-Key")) + "\r\n"
	if ok {
		resp += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	if _, err := c.Write([]byte(resp + "\r\n")); err != nil {
		return
	}
	dec := deflate.NewDecompressor(params.ClientWindowBits())
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	var msg []byte
	var op byte
	compressed := false
	for {
		f, err := readFrame(br)
		if err != nil {
			return
		}
		switch f.opcode {
		case 8:
			c.Write(encodeFrame(Frame(8, f.payload), true))
			return
		case 9:
			c.Write(encodeFrame(Frame(10, f.payload), true))
			continue
		case 10:
			continue
		case 1, 2:
			op, msg, compressed = f.opcode, nil, f.rsv == 4
		}
		msg = append(msg, f.payload...)
		if !f.fin {
			continue
		}
		if compressed {
			if msg, err = dec.Decompress(nil, msg, -1, !params.ClientNoContextTakeover); err != nil {
				return
			}
		}
		buf.Reset()
		if params.ServerNoContextTakeover {
			fw.Reset(&buf)
		}
		fw.Write(msg)
		fw.Flush()
		out := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
		if fl == pmdCorrupt {
			out = []byte{0xff, 0xff, 0xff}
		}
		c.Write(encodeFrame(FrameSpec{Opcode: op, Payload: out, Fin: true, Rsv: 4}, true))
	}
}

// TestSections12And13BrokenServers: the fuzzer catches a server that
// compresses beyond the window it granted, one that answers an offer with
// a larger window than asked, and one that sends invalid DEFLATE data.
func TestSections12And13BrokenServers(t *testing.T) {
	t.Parallel()
	t.Run("window beyond the granted one", func(t *testing.T) {
		t.Parallel()
		got := runSome(t, pmdBrokenServer(t, pmdBigWindow), "13.3.1", "13.3.5", "13.3.10", "13.3.18", "13.5.10", "13.7.4", "13.4.10", "13.1.10")
		for _, id := range []string{"13.3.1", "13.3.5", "13.3.10", "13.3.18", "13.5.10", "13.7.4"} {
			r := got[id]
			if r.Behavior != Failed || !strings.Contains(r.Result.Result, "beyond the negotiated window of 512 bytes") {
				t.Errorf("case %s: %s (%s), want FAILED for a reference beyond the window", id, r.Behavior, r.Result.Result)
			}
		}
		// Where it granted 15 bits, compress/flate's window is right.
		for _, id := range []string{"13.4.10", "13.1.10"} {
			if r := got[id]; !r.Strict() {
				t.Errorf("case %s: %s / %s (%s), want OK", id, r.Behavior, r.BehaviorClose, r.Result.Result)
			}
		}
	})
	t.Run("wider answer than asked", func(t *testing.T) {
		t.Parallel()
		got := runSome(t, pmdBrokenServer(t, pmdWiderAnswer), "13.3.1", "13.5.1")
		for id, r := range got {
			if r.Behavior != Failed || r.BehaviorClose != Failed || !strings.Contains(r.WasNotCleanReason, "answers none of the offers") {
				t.Errorf("case %s: %s / %s (%s), want the handshake failed", id, r.Behavior, r.BehaviorClose, r.WasNotCleanReason)
			}
		}
	})
	t.Run("invalid data", func(t *testing.T) {
		t.Parallel()
		got := runSome(t, pmdBrokenServer(t, pmdCorrupt), "12.2.1", "13.1.1")
		for id, r := range got {
			if r.Behavior != Failed || !strings.Contains(r.Result.Result, "invalid compressed data") {
				t.Errorf("case %s: %s (%s), want FAILED for invalid data", id, r.Behavior, r.Result.Result)
			}
		}
	})
}
