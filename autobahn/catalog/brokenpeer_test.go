package catalog

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// flaw is one way a raw test peer breaks the protocol.
type flaw struct {
	noEcho         bool // never echoes a message
	noPong         bool // never answers a ping
	badPong        bool // answers a ping with another payload
	acceptReserved bool // ignores RSV bits and reserved opcodes instead of failing
	dropOnClose    bool // answers a close by dropping TCP, without a close frame
	closeCode      int  // answers a close with this code instead of echoing it
	keepTCP        bool // as server, never closes TCP after the close handshake
}

// rawPeer is a minimal echo endpoint written on the fuzzer's own codec,
// with the given flaws. It returns when the connection ends.
func rawPeer(c net.Conn, br *bufio.Reader, isServer bool, fl flaw) {
	defer c.Close()
	send := func(op byte, p []byte) { c.Write(encodeFrame(Frame(op, p), isServer)) }
	fail := func() {
		send(8, binary.BigEndian.AppendUint16(nil, 1002))
		c.Close()
	}
	var msg []byte
	var msgOp byte
	for {
		f, err := readFrame(br)
		if err != nil {
			return
		}
		reserved := f.rsv != 0 || (f.opcode > 2 && f.opcode < 8) || f.opcode > 10
		if reserved {
			if fl.acceptReserved {
				if f.opcode <= 2 && f.rsv != 0 {
					f.rsv = 0 // treat as an ordinary data frame
				} else {
					continue
				}
			} else {
				fail()
				return
			}
		}
		if f.opcode >= 8 && len(f.payload) > 125 {
			fail()
			return
		}
		switch f.opcode {
		case 8:
			if fl.dropOnClose {
				return
			}
			reply := f.payload
			if len(reply) >= 2 {
				reply = reply[:2]
			}
			if fl.closeCode != 0 {
				reply = binary.BigEndian.AppendUint16(nil, uint16(fl.closeCode))
			}
			send(8, reply)
			if isServer && !fl.keepTCP {
				return
			}
			// A client (or a server that keeps TCP) waits for the
			// other side to close.
			for {
				if _, err := readFrame(br); err != nil {
					return
				}
			}
		case 9:
			switch {
			case fl.noPong:
			case fl.badPong:
				send(10, append([]byte("x"), f.payload...))
			default:
				send(10, f.payload)
			}
		case 10:
		default:
			if f.opcode != 0 {
				msgOp, msg = f.opcode, nil
			}
			msg = append(msg, f.payload...)
			if f.fin && !fl.noEcho {
				send(msgOp, msg)
			}
		}
	}
}

// brokenServer serves rawPeer with fl on 127.0.0.1 and returns its URL.
func brokenServer(t *testing.T, fl flaw) string {
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
				br := bufio.NewReader(c)
				if _, err := acceptWS(c, br, 5*time.Second); err != nil {
					c.Close()
					return
				}
				// Bound the peer so a test cannot hang on it.
				c.SetDeadline(time.Now().Add(20 * time.Second))
				rawPeer(c, br, true, fl)
			}()
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

func oneCase(t *testing.T, id string) []Case {
	t.Helper()
	cs, err := Select(All(), []string{id}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestBrokenServers checks that the catalog catches broken servers: each
// flaw turns the matching case to the verdicts the suite gives it.
func TestBrokenServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fl        flaw
		id        string
		behavior  Verdict
		close     Verdict
		closeCode int // expected remote close code, 0: none
	}{
		{"correct peer passes 1.1.1", flaw{}, "1.1.1", OK, OK, 1000},
		{"correct peer passes 4.2.3", flaw{}, "4.2.3", OK, OK, 1002},
		{"never echoes: 1.1.1", flaw{noEcho: true}, "1.1.1", Failed, WrongCode, 1001},
		{"never echoes: 1.2.8 (chopped 64 KiB)", flaw{noEcho: true}, "1.2.8", Failed, WrongCode, 1001},
		{"never echoes: 3.2", flaw{noEcho: true}, "3.2", NonStrict, OK, 1002},
		{"drops TCP on close: 1.1.1", flaw{dropOnClose: true}, "1.1.1", OK, Unclean, 0},
		{"drops TCP on close: 2.7", flaw{dropOnClose: true}, "2.7", OK, Unclean, 0},
		{"wrong close code: 1.1.3", flaw{closeCode: 1002}, "1.1.3", OK, WrongCode, 1002},
		// Not 1.1.x: their KillAfter(1s) races the 1 s drop timeout, in the
		// original too, giving FAILED BY CLIENT or UNCLEAN.
		{"keeps TCP open after close: 2.8", flaw{keepTCP: true}, "2.8", OK, Unclean, 1000},
		{"wrong pong payload: 2.2", flaw{badPong: true}, "2.2", Failed, OK, 0},
		{"wrong pong payload: 2.10", flaw{badPong: true}, "2.10", Failed, OK, 0},
		{"no pong: 2.1", flaw{noPong: true}, "2.1", Failed, OK, 0},
		{"no pong: 2.11 (chopped)", flaw{noPong: true}, "2.11", Failed, OK, 0},
		{"accepts RSV: 3.1", flaw{acceptReserved: true}, "3.1", Failed, Failed, 1001},
		{"accepts RSV: 3.4 (chopped)", flaw{acceptReserved: true}, "3.4", Failed, Failed, 1001},
		{"accepts RSV on close: 3.7", flaw{acceptReserved: true}, "3.7", OK, Failed, 1001},
		{"accepts reserved opcode: 4.1.1", flaw{acceptReserved: true}, "4.1.1", OK, Failed, 1001},
		{"accepts reserved opcode: 4.1.3", flaw{acceptReserved: true}, "4.1.3", Failed, Failed, 1001},
		{"accepts reserved control opcode: 4.2.5", flaw{acceptReserved: true}, "4.2.5", Failed, Failed, 1001},
		{"accepts a 126-octet ping: 2.5", flaw{acceptReserved: true}, "2.5", OK, OK, 1002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := brokenServer(t, tc.fl)
			reps, err := RunServerTests(context.Background(), url, "broken", oneCase(t, tc.id), nil)
			if err != nil {
				t.Fatal(err)
			}
			r := reps[0]
			got := fmt.Sprintf("%s / %s / %s", r.Behavior, r.BehaviorClose, codeString(r.RemoteCloseCode))
			want := fmt.Sprintf("%s / %s / %s", tc.behavior, tc.close, codeString(intPtr(tc.closeCode)))
			if got != want {
				t.Errorf("case %s: got %s, want %s (%s; %s; received %v; notClean %q)",
					tc.id, got, want, r.Result.Result, r.ResultClose, r.Received, r.WasNotCleanReason)
			}
		})
	}
}

func intPtr(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// brokenClient plays a client with fl against a fuzzing server for the
// case with the given 1-based number.
func brokenClient(ctx context.Context, addr string, n int, fl flaw) error {
	cc, err := dialWS(ctx, fmt.Sprintf("ws://%s/runCase?case=%d&agent=broken", addr, n), 5*time.Second)
	if err != nil {
		return err
	}
	cc.c.SetDeadline(time.Now().Add(20 * time.Second))
	rawPeer(cc.c, cc.br, false, fl)
	return nil
}

// TestBrokenClients checks the verdicts in the other role, where the fuzzer
// is the server.
func TestBrokenClients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fl       flaw
		id       string
		behavior Verdict
		close    Verdict
	}{
		{"correct client passes 1.1.2", flaw{}, "1.1.2", OK, OK},
		{"never echoes: 1.1.2", flaw{noEcho: true}, "1.1.2", Failed, WrongCode},
		{"drops TCP on close: 1.2.1", flaw{dropOnClose: true}, "1.2.1", OK, Unclean},
		{"wrong pong payload: 2.3", flaw{badPong: true}, "2.3", Failed, OK},
		{"accepts reserved opcode: 4.2.1", flaw{acceptReserved: true}, "4.2.1", OK, Failed},
		{"accepts RSV: 3.5", flaw{acceptReserved: true}, "3.5", Failed, Failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan map[string][]Report, 1)
			go func() {
				res, _ := ServeClientTests(ctx, ln, oneCase(t, tc.id), nil)
				done <- res
			}()
			if err := brokenClient(ctx, ln.Addr().String(), 1, tc.fl); err != nil {
				t.Fatal(err)
			}
			// Cancelling lets a session that already lost its connection
			// finish undisturbed.
			cancel()
			reps := (<-done)["broken"]
			if len(reps) != 1 {
				t.Fatalf("got %d reports", len(reps))
			}
			r := reps[0]
			if r.Behavior != tc.behavior || r.BehaviorClose != tc.close {
				t.Errorf("case %s: got %s / %s, want %s / %s (%s; %s; received %v; %+v)",
					tc.id, r.Behavior, r.BehaviorClose, tc.behavior, tc.close, r.Result.Result, r.ResultClose, r.Received, r.Result)
			}
		})
	}
}
