package interop

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
)

// tcase is one scenario, run for every peer, direction, scheme and
// compression mode. It starts on an open connection whose handshake was
// checked and must leave it closed; when it does not close it itself, the
// runner closes it with 1000 and checks the peer saw that.
type tcase struct {
	name string
	// protos is the subprotocol negotiation of the connection, nil for none.
	protos *protoSet
	// needs returns why the peer cannot run this case, "" if it can.
	needs func(c caps, ourServer bool) string
	run   func(s *session)
	// closes says the case ends the connection itself.
	closes bool
	// conn, if set, changes the options of our Conn.
	conn func(*ws.Options)
}

var cases = []tcase{
	{name: "echo-sizes", run: echoSizes},
	{name: "peer-sends-sizes", run: peerSendsSizes},
	{name: "large-16MiB", run: large},
	{name: "our-fragmented-message", run: ourFragmented},
	{name: "peer-fragmented-message", needs: need("peer sends no fragmented messages on request", func(c caps) bool { return c.peerFragments }), run: peerFragmented},
	{name: "peer-ping-between-fragments", needs: need("peer cannot put pings between fragments", func(c caps) bool { return c.pingBetween }), run: pingBetweenFragments},
	{name: "our-ping", run: ourPing},
	{name: "our-ping-between-fragments", run: ourPingBetweenFragments},
	{name: "concurrent-writers-burst", run: concurrentBurst},
	{name: "peer-ping", needs: need("peer cannot send pings", func(c caps) bool { return c.peerPing }), run: peerPing},
	{name: "our-close-4001", closes: true, run: func(s *session) { s.closeOurs(4001, "custom reason") }},
	{name: "our-close-1000", closes: true, run: func(s *session) { s.closeOurs(ws.CloseNormal, "") }},
	{name: "our-close-123-byte-reason", closes: true, run: func(s *session) { s.closeOurs(4001, longReason) }},
	{name: "our-close-with-unread-message", closes: true, run: ourCloseUnread},
	{name: "peer-close-4001", closes: true, run: func(s *session) { peerClose(s, 4001, "custom reason") }},
	{name: "peer-close-1000", closes: true, run: func(s *session) { peerClose(s, 1000, "Normal closure") }},
	{name: "peer-close-123-byte-reason", closes: true, run: func(s *session) { peerClose(s, 4001, longReason) }},
	{name: "peer-close-no-status", closes: true, needs: need("peer cannot send a close frame without a status code", func(c caps) bool { return c.closeNoStatus }), run: peerCloseNoStatus},
	{name: "peer-close-after-messages", closes: true, run: peerCloseAfterMessages},
	{name: "our-read-limit-1009", closes: true, conn: func(o *ws.Options) { o.ReadLimit = readLimit }, run: readLimitExceeded},
	{name: "peer-invalid-utf8-1007", closes: true, needs: need("peer cannot send text that is not UTF-8", func(c caps) bool { return c.invalidUTF8 }), run: invalidUTF8},
	{name: "subprotocol", protos: protoMatch, run: echoOne},
	{name: "subprotocol-none-in-common", protos: protoNone, needs: func(c caps, ourServer bool) string {
		if ourServer && c.failsWithoutSubprotocol {
			return "the peer's client fails the connection when it offered subprotocols and the server chose none (the WHATWG WebSocket standard requires that of browsers; Node ws does the same)"
		}
		return ""
	}, run: echoOne},
}

// longReason is a close reason of the largest size, 123 bytes (RFC 6455
// §5.5: 125 bytes of payload, 2 of them the code), in 2-byte characters.
var longReason = strings.Repeat("é", 61) + "!"

// readLimit is our ReadLimit in our-read-limit-1009.
const readLimit = 1 << 20

func need(reason string, ok func(caps) bool) func(caps, bool) string {
	return func(c caps, _ bool) string {
		if ok(c) {
			return ""
		}
		return reason
	}
}

// echoSizes: we send each type at each size edge; the peer echoes it.
func echoSizes(s *session) {
	for _, typ := range types {
		for _, n := range sizes {
			s.do("echo of our %v message of %d bytes", typ, n)
			p := payload(typ, n)
			s.send(typ, p)
			s.expect(typ, p)
		}
	}
}

// peerSendsSizes: the peer makes and sends each type at each size edge.
func peerSendsSizes(s *session) {
	for _, typ := range types {
		for _, n := range sizes {
			s.do("the peer's %v message of %d bytes", typ, n)
			s.cmd(command{Op: "gen", Type: typeName(typ), Size: n})
			s.expect(typ, payload(typ, n))
		}
	}
}

// large: a 16 MiB message each way, binary and text.
func large(s *session) {
	for _, typ := range types {
		s.do("echo of our %v message of 16 MiB", typ)
		p := payload(typ, largeSize)
		s.send(typ, p)
		s.expect(typ, p)
		if s.caps.buffered {
			s.do("the peer's bufferedAmount after echoing 16 MiB of %v", typ)
			e := s.info("info")
			if e.BinaryType != "arraybuffer" {
				s.errorf("binaryType is %q, want arraybuffer", e.BinaryType)
			}
			if e.LastSendBuffered == nil || *e.LastSendBuffered < largeSize {
				s.errorf("bufferedAmount right after send() of 16 MiB was %v, want at least %d", ptrString(e.LastSendBuffered), largeSize)
			}
			e = s.info("drain")
			if e.BufferedAmount == nil || *e.BufferedAmount != 0 {
				s.errorf("bufferedAmount once the message was sent is %v, want 0", ptrString(e.BufferedAmount))
			}
		}
	}
	s.buf = nil
}

func ptrString(p *int64) string {
	if p == nil {
		return "missing"
	}
	return fmt.Sprint(*p)
}

// ourFragmented: NextWriter sends messages in frames of ourFragmentSize
// bytes, text cut inside characters, written in chunks of various sizes,
// the empty message included; the peer reassembles and echoes them.
func ourFragmented(s *session) {
	for _, typ := range types {
		for _, n := range []int{0, 1, ourFragmentSize - 1, ourFragmentSize, ourFragmentSize + 1, 70000} {
			for _, chunk := range []int{7, 4096} {
				if n <= 1 && chunk != 7 {
					continue
				}
				s.do("echo of our %v message of %d bytes from NextWriter (frames of %d, written %d bytes at a time)", typ, n, ourFragmentSize, chunk)
				p := payload(typ, n)
				w, err := s.c.NextWriter(s.ctx, typ)
				if err != nil {
					s.fatalf("NextWriter: %v", err)
				}
				for rest := p; len(rest) > 0; {
					k := min(chunk, len(rest))
					if _, err := w.Write(rest[:k]); err != nil {
						s.fatalf("writer.Write: %v", err)
					}
					rest = rest[k:]
				}
				if err := w.Close(); err != nil {
					s.fatalf("writer.Close: %v", err)
				}
				s.expect(typ, p)
			}
		}
	}
	// A stream read through NextReader as well, for the reader's side of
	// fragmentation.
	s.do("echo of our fragmented message read with NextReader")
	p := payload(ws.Text, 5000)
	w, err := s.c.NextWriter(s.ctx, ws.Text)
	if err != nil {
		s.fatalf("NextWriter: %v", err)
	}
	if _, err := w.Write(p); err != nil {
		s.fatalf("writer.Write: %v", err)
	}
	if err := w.Close(); err != nil {
		s.fatalf("writer.Close: %v", err)
	}
	typ, r, err := s.c.NextReader(s.ctx)
	if err != nil {
		s.fatalf("NextReader: %v", err)
	}
	got, err := io.ReadAll(r)
	if err != nil || typ != ws.Text || string(got) != string(p) {
		s.fatalf("NextReader gave %v, %v, %s", typ, err, diff(got, p))
	}
}

// peerFragmented: the peer sends messages in fragments, its own way.
func peerFragmented(s *session) {
	for _, typ := range types {
		for _, n := range []int{0, 1000, 70000} {
			for _, k := range []int{2, 3, 50} {
				if n == 0 && k != 2 {
					continue
				}
				s.do("the peer's %v message of %d bytes in %d fragments", typ, n, k)
				s.cmd(command{Op: "gen", Type: typeName(typ), Size: n, Frags: k})
				s.expect(typ, payload(typ, n))
			}
		}
	}
}

// pingBetweenFragments: the peer pings between the fragments of a message
// (RFC 6455 §5.4: control frames may be injected in the middle of a
// fragmented message); we answer the pings and reassemble the message.
func pingBetweenFragments(s *session) {
	for _, typ := range types {
		s.do("the peer's %v message of 70000 bytes in 4 fragments with pings between", typ)
		before := len(s.rec.pingsSeen())
		s.cmd(command{Op: "gen", Type: typeName(typ), Size: 70000, Frags: 4, PingBetween: "between"})
		s.expect(typ, payload(typ, 70000))
		pings := s.rec.pingsSeen()[before:]
		if len(pings) != 3 {
			s.errorf("our OnPing saw %q, want 3 pings", pings)
		}
		for range 3 {
			e := s.event("pong")
			if !strings.HasPrefix(e.Data, "between") {
				s.errorf("the peer got a pong with %q, want one of its pings between fragments", e.Data)
			}
		}
	}
}

// ourPing: our Ping waits for the peer's pong; a goroutine reads meanwhile,
// as Ping requires.
func ourPing(s *session) {
	type result struct {
		typ ws.MessageType
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		typ, p, err := s.c.ReadMessage(s.ctx, nil)
		done <- result{typ, p, err}
	}()
	finished := false
	defer func() {
		if !finished {
			s.c.CloseNow()
			<-done
		}
	}()
	for i := range 3 {
		s.do("our Ping #%d", i+1)
		if err := s.c.Ping(s.ctx); err != nil {
			s.fatalf("Ping: %v%s", err, s.peerNews())
		}
	}
	s.do("stopping our reading goroutine")
	s.cmd(command{Op: "gen", Type: "text", Size: 3})
	r := <-done
	finished = true
	if r.err != nil || r.typ != ws.Text || string(r.p) != string(payload(ws.Text, 3)) {
		s.fatalf("the reading goroutine got %v %q %v", r.typ, r.p, r.err)
	}
	if s.caps.seesPings {
		s.do("the peer's ping events")
		for i := range 3 {
			if _, ok := s.seenOrNext("ping"); !ok {
				s.errorf("the peer reported %d pings, want 3", i)
				break
			}
		}
	}
}

// seenOrNext waits for an event like event does, but reports a missing one
// instead of failing.
func (s *session) seenOrNext(ev string) (event, bool) {
	if e, ok := s.seenEvent(ev); ok {
		return e, true
	}
	select {
	case e, ok := <-s.events:
		if !ok {
			return event{}, false
		}
		if e.Ev == ev {
			return e, true
		}
		s.seen = append(s.seen, e)
		return s.seenOrNext(ev)
	case <-s.ctx.Done():
		return event{}, false
	}
}

// peerPing: the peer pings us, with payloads up to the 125-byte limit of
// control frames (RFC 6455 §5.5); we answer with the same payload (§5.5.3).
func peerPing(s *session) {
	for _, data := range []string{"interop ping", "", strings.Repeat("p", 125)} {
		s.do("the peer's ping with %d bytes", len(data))
		before := len(s.rec.pingsSeen())
		s.cmd(command{Op: "ping", Data: data})
		// The reply to info comes after the ping on the wire, so reading it
		// has handled the ping.
		s.info("info")
		pings := s.rec.pingsSeen()[before:]
		if !slices.Equal(pings, []string{data}) {
			s.errorf("our OnPing saw %q, want [%q]", pings, data)
		}
		e := s.event("pong")
		if e.Data != data {
			s.errorf("the peer's pong has %q, want %q", e.Data, data)
		}
	}
}

// ourCloseUnread: we close while a message of the peer's waits unread; it
// came before the peer's close, so Close keeps it for our reads. The peer
// reports the message sent before we close: some peers (Python's
// websockets) answer a close frame ahead of the messages their application
// has yet to handle, and would never send it otherwise.
func ourCloseUnread(s *session) {
	s.do("the peer sends a message")
	s.cmd(command{Op: "gen", Type: "text", Size: 1000, Report: true})
	s.event("sent")
	s.do("our Close(1000, \"bye\") with the peer's message unread")
	if err := s.c.Close(ws.CloseNormal, "bye"); err != nil {
		s.fatalf("our Close returned %v, want nil%s", err, s.peerNews())
	}
	s.do("reading the message that arrived before the peer's close")
	typ, p, err := s.c.ReadMessage(s.ctx, nil)
	if err != nil || typ != ws.Text || string(p) != string(payload(ws.Text, 1000)) {
		s.fatalf("ReadMessage after Close gave %v, %d bytes, %v; want the peer's text message of 1000 bytes", typ, len(p), err)
	}
	s.do("reading after the message")
	_, _, err = s.c.ReadMessage(s.ctx, nil)
	// The peer's echo carries our code; whether it repeats the reason is
	// up to it.
	s.checkOurCloseError(err, ws.CloseNormal, nil)
	s.do("the peer's close event")
	s.checkPeerClose(1000, "bye")
}

// peerClose: the peer closes with code and reason; our read returns them,
// and we echo the code (RFC 6455 §5.5.1).
func peerClose(s *session, code int, reason string) {
	s.do("the peer's close(%d, %q)", code, reason)
	s.cmd(command{Op: "close", Code: &code, Reason: reason})
	_, _, err := s.c.ReadMessage(s.ctx, nil)
	s.checkOurCloseError(err, ws.CloseCode(code), &reason)
	e := s.event("closing")
	s.checkState(e, 2)
	s.do("the peer's close event after its close(%d, %q)", code, reason)
	s.checkPeerClose(code, "")
}

// peerCloseNoStatus: the peer closes without a status; reads report 1005
// (RFC 6455 §7.1.5) and our echo carries 1000.
func peerCloseNoStatus(s *session) {
	s.do("the peer's close() without a status")
	s.cmd(command{Op: "close"})
	_, _, err := s.c.ReadMessage(s.ctx, nil)
	s.checkOurCloseError(err, ws.CloseNoStatus, new(""))
	s.do("the peer's close event after its close()")
	s.checkPeerClose(1000, "")
}

// peerCloseAfterMessages: messages sent right before the peer's close are
// all read before the close.
func peerCloseAfterMessages(s *session) {
	s.do("the peer sends two messages and closes")
	s.cmd(command{Op: "gen", Type: "binary", Size: 65536})
	s.cmd(command{Op: "gen", Type: "text", Size: 126})
	code := 1000
	s.cmd(command{Op: "close", Code: &code, Reason: "done"})
	s.do("reading the peer's binary message before its close")
	s.expect(ws.Binary, payload(ws.Binary, 65536))
	s.do("reading the peer's text message before its close")
	s.expect(ws.Text, payload(ws.Text, 126))
	s.do("reading the peer's close")
	_, _, err := s.c.ReadMessage(s.ctx, nil)
	s.checkOurCloseError(err, ws.CloseNormal, new("done"))
	s.checkPeerClose(1000, "")
}

// echoOne exchanges one message each way, for cases about the handshake.
func echoOne(s *session) {
	s.do("echo of one message")
	p := payload(ws.Text, 200)
	s.send(ws.Text, p)
	s.expect(ws.Text, p)
	s.cmd(command{Op: "gen", Type: "binary", Size: 300})
	s.expect(ws.Binary, payload(ws.Binary, 300))
}

// runCase runs c on s, then closes the connection if c did not, and
// checks that the peer reported no error.
func runCase(s *session, c tcase) {
	s.checkOpen()
	c.run(s)
	if !c.closes && !s.t.Failed() {
		s.closeOurs(ws.CloseNormal, "")
	}
	s.checkNoPeerErrors()
}

// ourPingBetweenFragments: our Ping goes out between the fragments of a
// message we are streaming (RFC 6455 §5.4); the peer answers it before the
// message is complete, then echoes the message whole.
func ourPingBetweenFragments(s *session) {
	type result struct {
		typ ws.MessageType
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		typ, p, err := s.c.ReadMessage(s.ctx, nil)
		done <- result{typ, p, err}
	}()
	finished := false
	defer func() {
		if !finished {
			s.c.CloseNow()
			<-done
		}
	}()
	p := payload(ws.Binary, 10*ourFragmentSize)
	s.do("the first half of our fragmented message")
	w, err := s.c.NextWriter(s.ctx, ws.Binary)
	if err != nil {
		s.fatalf("NextWriter: %v", err)
	}
	if _, err := w.Write(p[:len(p)/2]); err != nil {
		s.fatalf("writer.Write: %v", err)
	}
	s.do("our Ping between the fragments")
	if err := s.c.Ping(s.ctx); err != nil {
		s.fatalf("Ping: %v%s", err, s.peerNews())
	}
	s.do("the rest of our fragmented message")
	if _, err := w.Write(p[len(p)/2:]); err != nil {
		s.fatalf("writer.Write: %v", err)
	}
	if err := w.Close(); err != nil {
		s.fatalf("writer.Close: %v", err)
	}
	s.do("the peer's echo of our fragmented message")
	r := <-done
	finished = true
	if r.err != nil || r.typ != ws.Binary || string(r.p) != string(p) {
		s.fatalf("the reading goroutine got %v, %v, %s", r.typ, r.err, diff(r.p, p))
	}
	if s.caps.seesPings {
		if _, ok := s.seenOrNext("ping"); !ok {
			s.errorf("the peer did not report our ping")
		}
	}
}

// concurrentBurst: several goroutines write many messages at once while we
// read the echoes; the peer's parser sees each message whole (none
// interleaved with another), and each writer's messages come back in order.
func concurrentBurst(s *session) {
	const writers, each = 4, 150
	s.do("%d goroutines writing %d messages each, echoes read meanwhile", writers, each)
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				typ, m := burstMessage(w, i)
				if err := s.c.WriteMessage(s.ctx, typ, m); err != nil {
					errc <- fmt.Errorf("writer %d, message %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	ok := false
	defer func() {
		if !ok {
			s.c.CloseNow()
		}
		wg.Wait()
	}()
	next := make([]int, writers)
	for range writers * each {
		typ, p := s.read()
		var w, i int
		if _, err := fmt.Sscanf(string(p[:min(len(p), 12)]), "w%d-%d-", &w, &i); err != nil || w < 0 || w >= writers {
			s.fatalf("echo %q... is none of ours", p[:min(len(p), 12)])
		}
		if i != next[w] {
			s.fatalf("writer %d: got its message %d, want %d (out of order)", w, i, next[w])
		}
		wantTyp, want := burstMessage(w, i)
		if typ != wantTyp || string(p) != string(want) {
			s.fatalf("writer %d, message %d: got %v %s", w, i, typ, diff(p, want))
		}
		next[w]++
	}
	ok = true
	wg.Wait()
	close(errc)
	for err := range errc {
		s.fatalf("%v", err)
	}
}

// burstMessage is message i of writer w: a tag, then a payload whose size
// varies across the length encodings.
func burstMessage(w, i int) (ws.MessageType, []byte) {
	tag := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i) + "-"
	n := (i * 37) % 300
	typ := ws.Text
	switch {
	case i%50 == 49:
		n = 70000
		typ = ws.Binary
	case i%2 == 1:
		typ = ws.Binary
	}
	return typ, append([]byte(tag), payload(ws.Text, n)...)
}

// readLimitExceeded: the peer sends a message over our ReadLimit; we fail
// the connection with 1009 (RFC 6455 §7.4.1) and the peer sees that code.
func readLimitExceeded(s *session) {
	s.do("the peer's message of ReadLimit+1 bytes")
	s.cmd(command{Op: "gen", Type: "binary", Size: readLimit + 1})
	_, _, err := s.c.ReadMessage(s.ctx, nil)
	if code, _ := closecode.Of(err); code != ws.CloseMessageTooBig {
		s.fatalf("our ReadMessage returned %v (close code %d), want a failure with 1009%s", err, code, s.peerNews())
	}
	s.do("the peer's close event after our 1009")
	s.checkPeerCloseCode(int(ws.CloseMessageTooBig))
}

// invalidUTF8: the peer sends a text message that is not UTF-8; we fail the
// connection with 1007 (RFC 6455 §8.1) and the peer sees that code.
func invalidUTF8(s *session) {
	s.do("the peer's text message with the byte 0xff")
	s.cmd(command{Op: "badtext"})
	_, _, err := s.c.ReadMessage(s.ctx, nil)
	if code, _ := closecode.Of(err); code != ws.CloseInvalidPayload {
		s.fatalf("our ReadMessage returned %v (close code %d), want a failure with 1007%s", err, code, s.peerNews())
	}
	s.do("the peer's close event after our 1007")
	s.checkPeerCloseCode(int(ws.CloseInvalidPayload))
}
