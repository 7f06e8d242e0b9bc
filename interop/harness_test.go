package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
)

// The agent protocol. Every peer runs an agent (agent.js, agent.py,
// testdata/browser.js) that echoes each data message back unchanged and
// treats a text message that starts with cmdPrefix as a command. What the
// agent sees out of band (its open, close, ping, pong and error events) it
// reports as events: JSON lines on stdout, or POSTs from the browser.
const cmdPrefix = "@interop "

// caseTimeout bounds one case, handshake to close. It is a safety net that
// turns a hang into a failure, not a timing assertion: it leaves room for
// the slowest case on a busy machine (16 MiB each way with deflate under
// -race took 133 s at load 20 on 2 cores).
const caseTimeout = 5 * time.Minute

// ourFragmentSize is the FragmentSize of our connections: NextWriter cuts
// messages into frames this long. It is odd, so that text fragments end
// inside multi-byte characters.
const ourFragmentSize = 999

// sizes are the message lengths exchanged: empty, the edges of the 7-bit,
// 16-bit and 64-bit length encodings (RFC 6455 §5.2).
var sizes = []int{0, 1, 125, 126, 127, 65535, 65536, 65537}

// largeSize is the large message: 16 MiB, under our default ReadLimit.
const largeSize = 16 << 20

// event is what an agent reports, out of band or as the reply to info.
type event struct {
	Ev                string `json:"ev,omitempty"`
	Case              string `json:"case,omitempty"`
	Port              int    `json:"port,omitempty"`
	Protocol          string `json:"protocol,omitempty"`
	Extensions        string `json:"extensions,omitempty"`
	OfferedExtensions string `json:"offeredExtensions,omitempty"`
	OfferedProtocols  string `json:"offeredProtocols,omitempty"`
	Code              int    `json:"code,omitempty"`
	Reason            string `json:"reason,omitempty"`
	WasClean          *bool  `json:"wasClean,omitempty"`
	ReadyState        *int   `json:"readyState,omitempty"`
	BufferedAmount    *int64 `json:"bufferedAmount,omitempty"`
	LastSendBuffered  *int64 `json:"lastSendBuffered,omitempty"`
	BinaryType        string `json:"binaryType,omitempty"`
	Data              string `json:"data,omitempty"`
	Message           string `json:"message,omitempty"`
	UserAgent         string `json:"userAgent,omitempty"`
}

func (e event) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// command is a command of the agent protocol.
type command struct {
	Op          string `json:"op"`
	Type        string `json:"type,omitempty"`
	Size        int    `json:"size"`
	Frags       int    `json:"frags,omitempty"`
	PingBetween string `json:"pingBetween,omitempty"`
	Report      bool   `json:"report,omitempty"` // gen: report a "sent" event
	Data        string `json:"data,omitempty"`
	Code        *int   `json:"code,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// caps says what a peer can do and report; cases that need more are
// skipped for it, with the reason.
type caps struct {
	peerPing      bool // sends pings on command, reports their pongs
	peerFragments bool // sends a message in fragments on command
	pingBetween   bool // puts pings between the fragments of its message
	closeNoStatus bool // sends a close frame without a status code
	seesPings     bool // reports the pings it receives
	invalidUTF8   bool // sends text that is not UTF-8 on request
	created       bool // reports readyState before the handshake (client)
	buffered      bool // reports the browser's bufferedAmount after send()
	// failsWithoutSubprotocol: as a client, it fails the connection when it
	// offered subprotocols and the server chose none (browsers must, by the
	// WHATWG WebSocket standard; Node ws does too; RFC 6455 §4.1 does not
	// require it).
	failsWithoutSubprotocol bool
	// offersDeflate: as a client, it offers permessage-deflate by default.
	offersDeflate bool
}

// protoSet is a subprotocol negotiation: what the client offers, what the
// server speaks (ours, peers' servers) and what must be chosen.
type protoSet struct {
	offer      []string
	ourServer  []string
	peerServer []string
	want       string
}

var (
	// One common subprotocol, so every server's choice is the same; our
	// server also speaks one the client did not offer, listed first.
	protoMatch = &protoSet{
		offer:      []string{"chat.v1", "chat.v2"},
		ourServer:  []string{"chat.v3", "chat.v2"},
		peerServer: []string{"chat.v2", "chat.v3"},
		want:       "chat.v2",
	}
	// Nothing in common: the server accepts without a subprotocol.
	protoNone = &protoSet{
		offer:      []string{"other"},
		ourServer:  []string{"chat.v2"},
		peerServer: []string{"chat.v2"},
		want:       "",
	}
)

// compression is the permessage-deflate column of the matrix: the peers
// offer permessage-deflate as they do by default; in one mode our side
// declines it and speaks uncompressed frames, in the other it accepts (our
// server) or offers (our client) it, and every case runs compressed.
type compression struct {
	name string
	// peerOffers: the peer's client offers permessage-deflate, and the
	// peer's server accepts it when offered.
	peerOffers bool
	// ourOffer is the extension our client must offer, "" for none.
	ourOffer string
	// wantExtensions is what both sides must have agreed on: exactly ""
	// for none, otherwise the extension the agreement starts with (the
	// parameters are each side's own choice).
	wantExtensions string
	// on: our side negotiates permessage-deflate.
	on bool
}

// agreed reports whether a negotiated extensions header is what mode wants.
func (m compression) agreed(got string) bool {
	if m.wantExtensions == "" {
		return got == ""
	}
	return strings.HasPrefix(got, m.wantExtensions)
}

// serverCompression and clientCompression are our side's settings in mode
// m; Threshold -1 compresses even the smallest messages.
func (m compression) serverCompression() *deflate.ServerConfig {
	if !m.on {
		return nil
	}
	return &deflate.ServerConfig{Threshold: -1}
}

func (m compression) clientCompression() *deflate.ClientConfig {
	if !m.on {
		return nil
	}
	return &deflate.ClientConfig{Threshold: -1}
}

var compressionModes = []compression{
	{name: "deflate-declined", peerOffers: true, ourOffer: "", wantExtensions: ""},
	{name: "deflate", peerOffers: true, ourOffer: "permessage-deflate", wantExtensions: "permessage-deflate", on: true},
}

// recorder keeps the control frames our Conn received, from OnPing and
// OnPong, which run on the reading goroutine.
type recorder struct {
	mu    sync.Mutex
	pings []string
	pongs []string
}

func (r *recorder) onPing(p []byte) {
	r.mu.Lock()
	r.pings = append(r.pings, string(p))
	r.mu.Unlock()
}

func (r *recorder) onPong(p []byte) {
	r.mu.Lock()
	r.pongs = append(r.pongs, string(p))
	r.mu.Unlock()
}

func (r *recorder) pingsSeen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pings)
}

// connOptions are the options of our Conn in case c.
func connOptions(rec *recorder, c tcase) ws.Options {
	o := ws.Options{
		FragmentSize: ourFragmentSize,
		CloseTimeout: 10 * time.Second,
		OnPing:       rec.onPing,
		OnPong:       rec.onPong,
	}
	if c.conn != nil {
		c.conn(&o)
	}
	return o
}

// session is one connection between our side and a peer's agent, with
// what a case needs to drive it and to say where it failed.
type session struct {
	t      *testing.T
	ctx    context.Context
	where  string // peer, direction, scheme, compression
	step   string
	c      *ws.Conn
	caps   caps
	mode   compression
	protos *protoSet
	rec    *recorder
	events <-chan event
	seen   []event
	open   event // the peer's open event
	// peerClosed: the peer's close event was seen.
	peerClosed bool
	// offeredExtensions is the client's Sec-WebSocket-Extensions: the
	// peer's, as our server got it, or ours, as the peer's server got it.
	offeredExtensions string
	// responseExtension is the Sec-WebSocket-Extensions of the peer's
	// server's response (our client only).
	responseExtension string
	ourServer         bool
	buf               []byte
}

// do names the step that the following checks belong to.
func (s *session) do(format string, args ...any) {
	s.step = fmt.Sprintf(format, args...)
}

func (s *session) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%s: step %q: %s", s.where, s.step, fmt.Sprintf(format, args...))
}

func (s *session) errorf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("%s: step %q: %s", s.where, s.step, fmt.Sprintf(format, args...))
}

// send writes one message with WriteMessage.
func (s *session) send(typ ws.MessageType, p []byte) {
	s.t.Helper()
	if err := s.c.WriteMessage(s.ctx, typ, p); err != nil {
		s.fatalf("our WriteMessage(%v, %d bytes): %v", typ, len(p), err)
	}
}

// cmd sends a command to the agent.
func (s *session) cmd(c command) {
	s.t.Helper()
	b, _ := json.Marshal(c)
	if err := s.c.WriteMessage(s.ctx, ws.Text, append([]byte(cmdPrefix), b...)); err != nil {
		s.fatalf("sending command %s: %v", b, err)
	}
}

// read reads the next message with ReadMessage.
func (s *session) read() (ws.MessageType, []byte) {
	s.t.Helper()
	typ, p, err := s.c.ReadMessage(s.ctx, s.buf)
	if err != nil {
		s.fatalf("our ReadMessage: %v%s", err, s.peerNews())
	}
	s.buf = p
	return typ, p
}

// expect reads the next message and compares it with want.
func (s *session) expect(typ ws.MessageType, want []byte) {
	s.t.Helper()
	gotTyp, got := s.read()
	if gotTyp != typ {
		s.fatalf("got a %v message of %d bytes, want %v of %d bytes", gotTyp, len(got), typ, len(want))
	}
	if !bytes.Equal(got, want) {
		s.fatalf("got %s", diff(got, want))
	}
}

// diff describes how got differs from want, briefly.
func diff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%d bytes, want %d; first difference at offset %d (got %s, want %s)",
		len(got), len(want), i, around(got, i), around(want, i))
}

func around(p []byte, i int) string {
	end := min(i+16, len(p))
	if i >= len(p) {
		return "end"
	}
	return fmt.Sprintf("%q", p[i:end])
}

// info asks the agent for its view of the connection and returns the reply.
func (s *session) info(op string) event {
	s.t.Helper()
	s.cmd(command{Op: op})
	typ, p := s.read()
	if typ != ws.Text || !bytes.HasPrefix(p, []byte(cmdPrefix)) {
		s.fatalf("waiting for the reply to %s: got a %v message of %d bytes", op, typ, len(p))
	}
	var e event
	if err := json.Unmarshal(p[len(cmdPrefix):], &e); err != nil {
		s.fatalf("reply to %s: %v", op, err)
	}
	if e.Ev != "info" {
		s.fatalf("the peer's reply to %s: %v", op, e)
	}
	return e
}

// event waits for the peer's next event of kind ev. Events of other kinds
// are kept for later calls.
func (s *session) event(ev string) event {
	s.t.Helper()
	if e, ok := s.seenEvent(ev); ok {
		return e
	}
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				s.fatalf("the peer's agent ended before reporting %q%s", ev, s.peerNews())
			}
			if e.Ev == ev {
				return e
			}
			s.seen = append(s.seen, e)
			if e.Ev == "close" {
				// A peer reports nothing after its connection closed.
				s.fatalf("the peer's connection closed before it reported %q%s", ev, s.peerNews())
			}
		case <-s.ctx.Done():
			s.fatalf("no %q event from the peer: %v%s", ev, s.ctx.Err(), s.peerNews())
		}
	}
}

func (s *session) seenEvent(ev string) (event, bool) {
	for i, e := range s.seen {
		if e.Ev == ev {
			s.seen = slices.Delete(s.seen, i, i+1)
			return e, true
		}
	}
	return event{}, false
}

// peerNews lists the events the peer reported that nobody asked for yet,
// for failure messages: often they say what went wrong on the other side.
func (s *session) peerNews() string {
	for {
		select {
		case e, ok := <-s.events:
			if ok {
				s.seen = append(s.seen, e)
				continue
			}
		default:
		}
		break
	}
	if len(s.seen) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; the peer reported:")
	for _, e := range s.seen {
		b.WriteString(" ")
		b.WriteString(e.String())
	}
	return b.String()
}

// checkNoPeerErrors fails if the peer reported an error event.
func (s *session) checkNoPeerErrors() {
	s.t.Helper()
	s.peerNews()
	for _, e := range s.seen {
		if e.Ev == "error" {
			s.errorf("the peer reported an error: %s", e.Message)
		}
	}
}

// checkState checks a readyState the peer reported.
func (s *session) checkState(e event, want int) {
	s.t.Helper()
	if e.ReadyState == nil {
		s.errorf("the peer's %q event has no readyState", e.Ev)
	} else if *e.ReadyState != want {
		s.errorf("the peer's readyState at %q is %d, want %d", e.Ev, *e.ReadyState, want)
	}
}

// checkPeerClose waits for the peer's close event and checks the code and
// reason it received and that the close handshake completed on its side.
func (s *session) checkPeerClose(code int, reason string) {
	s.t.Helper()
	e := s.checkPeerCloseCode(code)
	if e.Reason != reason {
		s.errorf("the peer's close event has reason %q, want %q", e.Reason, reason)
	}
}

// checkPeerCloseCode is checkPeerClose for any reason.
func (s *session) checkPeerCloseCode(code int) event {
	s.t.Helper()
	e := s.event("close")
	s.peerClosed = true
	if e.Code != code {
		s.errorf("the peer's close event has code %d (reason %q), want %d", e.Code, e.Reason, code)
	}
	if e.WasClean != nil && !*e.WasClean {
		s.errorf("the peer's close event says wasClean false: the close handshake did not complete")
	}
	s.checkState(e, 3)
	return e
}

// checkOurCloseError checks that err is the peer's close with code, and
// reason unless it is nil.
func (s *session) checkOurCloseError(err error, code ws.CloseCode, reason *string) {
	s.t.Helper()
	var ce *ws.CloseError
	if !errors.As(err, &ce) {
		s.fatalf("our read returned %v, want a *ws.CloseError with code %d%s", err, code, s.peerNews())
	}
	if ce.Code != code || (reason != nil && ce.Reason != *reason) {
		want := "any reason"
		if reason != nil {
			want = fmt.Sprintf("%q", *reason)
		}
		s.errorf("our read returned close %d %q, want %d %s", ce.Code, ce.Reason, code, want)
	}
}

// checkOpen checks what both sides agreed on in the opening handshake.
func (s *session) checkOpen() {
	s.t.Helper()
	s.do("opening handshake")
	want := ""
	if s.protos != nil {
		want = s.protos.want
	}
	if got := s.c.Subprotocol(); got != want {
		s.errorf("our Conn.Subprotocol() = %q, want %q", got, want)
	}
	if s.open.Protocol != want {
		s.errorf("the peer's subprotocol is %q, want %q", s.open.Protocol, want)
	}
	s.checkState(s.open, 1)
	if !s.mode.agreed(s.open.Extensions) {
		s.errorf("the peer negotiated extensions %q, want %q", s.open.Extensions, s.mode.wantExtensions)
	}
	if s.ourServer {
		if s.mode.peerOffers && s.caps.offersDeflate && !strings.Contains(s.offeredExtensions, "permessage-deflate") {
			s.errorf("the peer offered extensions %q, want a permessage-deflate offer (the decline is not exercised)", s.offeredExtensions)
		}
	} else {
		if s.mode.ourOffer == "" && s.offeredExtensions != "" {
			s.errorf("our client offered extensions %q, want none", s.offeredExtensions)
		}
		if s.mode.ourOffer != "" && !strings.Contains(s.offeredExtensions, s.mode.ourOffer) {
			s.errorf("our client offered extensions %q, want %s", s.offeredExtensions, s.mode.ourOffer)
		}
		if !s.mode.agreed(s.responseExtension) {
			s.errorf("the peer's server answered Sec-WebSocket-Extensions %q, want %q", s.responseExtension, s.mode.wantExtensions)
		}
	}
}

// closeOurs closes from our side and checks both ends saw it.
func (s *session) closeOurs(code ws.CloseCode, reason string) {
	s.t.Helper()
	s.do("our Close(%d, %q)", code, reason)
	if err := s.c.Close(code, reason); err != nil {
		s.fatalf("our Close returned %v, want nil (the peer answered)%s", err, s.peerNews())
	}
	if st := s.c.State(); st != ws.StateClosed {
		s.errorf("our State() after Close is %v, want closed", st)
	}
	s.do("the peer's close event after our Close(%d, %q)", code, reason)
	s.checkPeerClose(int(code), reason)
}

// payload returns the test payload of n bytes that every agent also makes:
// text is the 10-byte unit "aé€𝄞" (1-, 2-, 3- and 4-byte characters)
// repeated, then "a" to the exact length; binary is byte i = (i*7+3) mod 256.
func payload(typ ws.MessageType, n int) []byte {
	p := make([]byte, 0, n)
	if typ == ws.Binary {
		for i := range n {
			p = append(p, byte(i*7+3))
		}
		return p
	}
	for len(p)+10 <= n {
		p = append(p, "aé€𝄞"...)
	}
	for len(p) < n {
		p = append(p, 'a')
	}
	return p
}

// typeName is the agent protocol's name for typ.
func typeName(typ ws.MessageType) string {
	if typ == ws.Binary {
		return "binary"
	}
	return "text"
}

var types = []ws.MessageType{ws.Text, ws.Binary}

// inCI reports whether the tests run in CI, where a missing peer fails.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// missingPeer skips the test outside CI and fails it inside, saying how to
// install the peer.
func missingPeer(t *testing.T, peer string, err error, install string) {
	t.Helper()
	if inCI() {
		t.Fatalf("peer %s is not available in CI (%v); .ci/run must install it: %s", peer, err, install)
	}
	t.Skipf("peer %s is not available (%v); install it with: %s", peer, err, install)
}
