package wsproto

import (
	"errors"
	"io"
	"sync"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
	"github.com/rfc6455/ws/internal/grow"
	"github.com/rfc6455/ws/mask"
	"github.com/rfc6455/ws/utf8"
)

type recvState uint8

const (
	recvOpen   recvState = iota
	recvClosed           // the peer's close frame arrived
	recvFailed           // a rule was broken
)

// keepBuf is the largest assembly buffer a Receiver keeps from one message
// to the next; larger ones are dropped once their message was reported.
const keepBuf = 64 << 10

// ctrlPool holds the buffers that collect a control frame's payload when
// it arrives split over several inputs: rare, so no Receiver carries one.
var ctrlPool = sync.Pool{New: func() any { return new([frame.MaxControlPayload]byte) }}

// Receiver is the receiving half of a connection: it turns the bytes that
// arrive into events. The zero value is not ready: use Init (or a Conn).
// A Receiver is not safe for concurrent use.
type Receiver struct {
	// p parses frames. Its MaxMessage is the read limit of the current
	// message, set from limit as each message starts.
	p     frame.Parser
	limit int64 // the read limit for the next message; 0: none
	utf8v utf8.Validator
	state recvState
	typ   MessageType // the current data message's type
	inMsg bool        // a data message is in progress
	start bool        // its Start has not been reported yet
	compr bool        // it is compressed
	zfin  bool        // PullInflate: the compressed message's last chunk was reported

	assemble bool
	pull     bool

	ctrlN    uint8 // bytes of a split control payload collected in ctrl
	ctrlDone bool  // ctrl was reported and goes back to the pool on the next call
	code     closecode.Code
	ctrl     *[frame.MaxControlPayload]byte // a split control payload, collected

	asm *assembly     // the buffers messages are collected in; nil until needed
	inf *inflateState // nil without permessage-deflate

	err error
}

// assembly holds the buffers a Receiver collects messages in: it is
// allocated only for a Receiver that assembles, so that one that streams
// carries nothing for it.
type assembly struct {
	msg []byte // Assemble: the message collected; also the inflated message
	z   []byte // the compressed payload collected
}

// inflateState is the receiving side of permessage-deflate.
type inflateState struct {
	bits     int
	takeover bool
	dr       *deflate.Decompressor // held only with context takeover

	// Inflate's source, during a call.
	r         *Receiver
	first     []byte
	firstDone bool
	src       PieceSource
	srcErr    error
	piece     func() ([]byte, error) // nextPiece, made once
}

// Init makes r ready for a new connection with cfg.
func (r *Receiver) Init(cfg Config) {
	*r = Receiver{assemble: cfg.Assemble, pull: cfg.PullInflate && !cfg.Assemble}
	r.p.Role = frame.Server
	if cfg.Role == Client {
		r.p.Role = frame.Client
	}
	r.SetReadLimit(cfg.ReadLimit)
	if c := cfg.Compression; c != nil {
		// RFC 7692 §6: the extension claims RSV1.
		r.p.AllowedRSV = frame.RSV1
		r.inf = &inflateState{}
		p := c.Params
		if cfg.Role == Client {
			r.inf.bits, r.inf.takeover = p.ServerWindowBits(), !p.ServerNoContextTakeover
		} else {
			r.inf.bits, r.inf.takeover = p.ClientWindowBits(), !p.ClientNoContextTakeover
		}
	}
}

// SetReadLimit changes the read limit (see Config.ReadLimit); it applies
// from the next message on.
func (r *Receiver) SetReadLimit(n int64) {
	r.limit = max(n, 0)
}

// ReadLimit returns the read limit for the next message (0: none).
func (r *Receiver) ReadLimit() int64 { return r.limit }

// Header returns the header of the frame being received.
func (r *Receiver) Header() frame.Header { return r.p.Header() }

// InMessage reports whether a data message has started and not ended.
func (r *Receiver) InMessage() bool { return r.inMsg }

// MessageType returns the type of the current (or last) data message.
func (r *Receiver) MessageType() MessageType { return r.typ }

// MessageCompressed reports whether the current (or last) data message is
// compressed.
func (r *Receiver) MessageCompressed() bool { return r.compr }

// MessageLimit returns the read limit that applies to the current message
// (0: none).
func (r *Receiver) MessageLimit() int64 { return r.p.MaxMessage }

// MessageLength returns the payload length of the current (or last) data
// message summed over the headers of its frames received so far.
func (r *Receiver) MessageLength() int64 { return r.p.MessageLength() }

// DataRemaining returns how many payload bytes of the current data frame
// have not arrived yet: what a driver may read straight into its
// destination and pass to Payload. It is 0 outside a data frame's payload.
func (r *Receiver) DataRemaining() int64 {
	if r.p.Header().Opcode.IsControl() {
		return 0
	}
	return r.p.Remaining()
}

// Err returns the broken rule once the Receiver failed, else nil.
func (r *Receiver) Err() error { return r.err }

// Failure returns the Failed event once the Receiver failed; its Kind is
// None otherwise.
func (r *Receiver) Failure() Event {
	if r.state != recvFailed {
		return Event{}
	}
	return Event{Kind: Failed, Code: r.code, Err: r.err}
}

// Closed reports whether the peer's close frame arrived.
func (r *Receiver) Closed() bool { return r.state == recvClosed }

// Done reports whether the Receiver reads nothing more: the peer's close
// frame arrived or a rule was broken.
func (r *Receiver) Done() bool { return r.state != recvOpen }

// Release drops the buffers the Receiver keeps between messages, for a
// driver whose connection goes idle. It must not be called while a
// compressed or assembled message is in progress.
func (r *Receiver) Release() {
	if r.ctrl != nil && (r.ctrlDone || r.ctrlN == 0) {
		ctrlPool.Put(r.ctrl)
		r.ctrl, r.ctrlN, r.ctrlDone = nil, 0, false
	}
	if !r.inMsg {
		r.asm = nil
	}
}

// Feed parses the start of in and returns the first event found and how
// many bytes of in it consumed; the driver calls it again with the rest.
// With a None event all of in was consumed. Feed unmasks payload bytes in
// place: in is modified. After a Close or Failed event, Feed consumes and
// ignores everything.
func (r *Receiver) Feed(in []byte) (Event, int) {
	var ev Event
	n := r.FeedEvent(&ev, in)
	return ev, n
}

// FeedEvent is Feed that stores the event in *ev instead of returning it,
// so that a driver's hot loop does not copy the Event from call to call.
// *ev is overwritten whole (with the zero Event when there is nothing to
// report).
//
// Its frame, and data's, are kept small: a driver's goroutine parses here
// at the bottom of its read path, and its stack should stay within the
// 2 KiB a goroutine starts with. The rarer steps (headers, control
// frames, a closed Receiver) are calls of their own.
func (r *Receiver) FeedEvent(ev *Event, in []byte) int {
	if r.ctrlDone || r.state != recvOpen {
		if r.feedDone(ev) {
			return len(in)
		}
	}
	n := 0
	for {
		if r.p.InPayload() {
			// The current frame's payload, taken as Parser.Feed would
			// report it in a PayloadEvent, without the call and the copy
			// of its result: the hot path of every frame.
			k := len(in) - n
			if k == 0 {
				ev.clear()
				return n
			}
			if rem := r.p.Remaining(); int64(k) > rem {
				k = int(rem)
			}
			keyPos, frameEnd := r.p.Consume(k)
			pl := in[n : n+k]
			n += k
			h := r.p.Header()
			if h.Masked {
				mask.Apply(h.Key, keyPos, pl)
			}
			if h.Opcode.IsControl() {
				if r.controlPayload(ev, pl, frameEnd) {
					return n
				}
				continue
			}
			if r.data(ev, pl, frameEnd && h.Fin) {
				return n
			}
			continue
		}
		k, step := r.feedHeader(ev, in[n:])
		n += k
		switch step {
		case headerDone:
			return n
		case headerEmptyFinal:
			if r.data(ev, in[n:n], true) {
				return n
			}
		}
	}
}

// What feedHeader tells FeedEvent to do next.
const (
	headerContinue   = iota // go on parsing
	headerDone              // *ev is the event to report
	headerEmptyFinal        // an empty final data frame: report its (empty) data
)

// feedDone handles the start of a FeedEvent call that is not the hot
// path: a split control payload reported by the last call goes back to the
// pool, and a Receiver that reads nothing more reports nothing (true).
//
//go:noinline
func (r *Receiver) feedDone(ev *Event) bool {
	if r.ctrlDone {
		r.ctrlDone = false
		ctrlPool.Put(r.ctrl)
		r.ctrl, r.ctrlN = nil, 0
	}
	if r.state != recvOpen {
		*ev = Event{}
		return true
	}
	return false
}

// controlPayload handles payload bytes of a control frame; it reports
// whether *ev holds an event.
//
//go:noinline
func (r *Receiver) controlPayload(ev *Event, pl []byte, frameEnd bool) bool {
	if frameEnd && r.ctrlN == 0 {
		r.control(ev, pl)
		return true
	}
	if r.ctrl == nil {
		r.ctrl = ctrlPool.Get().(*[frame.MaxControlPayload]byte)
	}
	r.ctrlN += uint8(copy(r.ctrl[r.ctrlN:], pl))
	if frameEnd {
		r.ctrlDone = true
		r.control(ev, r.ctrl[:r.ctrlN])
		return true
	}
	return false
}

// feedHeader parses from the start of in up to the end of a frame header
// (or of in), checks it, and says what FeedEvent does next.
//
//go:noinline
func (r *Receiver) feedHeader(ev *Event, in []byte) (int, int) {
	if !r.inMsg {
		r.p.MaxMessage = r.limit
	}
	fe, n, err := r.p.Feed(in)
	if err != nil {
		r.failTo(ev, err)
		return n, headerDone
	}
	if fe.Kind != frame.HeaderEvent {
		// NeedMore: all of in was consumed.
		*ev = Event{}
		return n, headerDone
	}
	h := r.p.Header()
	if h.Rsv&frame.RSV1 != 0 {
		// RFC 7692 §6.1: RSV1 ("Per-Message Compressed") on the first
		// frame of a data message only. The parser let RSV1 through
		// because the extension is on.
		if h.Opcode.IsControl() {
			r.failTo(ev, ErrRSV1Control)
			return n, headerDone
		}
		if h.Opcode == frame.OpContinuation {
			r.failTo(ev, ErrRSV1Continuation)
			return n, headerDone
		}
	}
	if h.Opcode.IsControl() {
		if fe.FrameEnd {
			r.control(ev, nil)
			return n, headerDone
		}
		return n, headerContinue
	}
	if h.Opcode != frame.OpContinuation {
		r.beginMessage(h)
	}
	if fe.FrameEnd {
		// An empty frame.
		if h.Fin {
			return n, headerEmptyFinal
		}
		if r.start && r.reportsChunks() {
			r.start = false
			*ev = Event{Kind: Data, Type: r.typ, Start: true, Compressed: r.compr}
			return n, headerDone
		}
		return n, headerContinue
	}
	if r.start && n == len(in) && r.reportsChunks() {
		// The message's start is reported with its header, so that a
		// streaming reader need not wait for payload.
		r.start = false
		*ev = Event{Kind: Data, Type: r.typ, Start: true, Compressed: r.compr}
		return n, headerDone
	}
	return n, headerContinue
}

// Payload takes p, the next len(p) payload bytes of the current data frame,
// which the driver read into its own buffer instead of feeding them (at
// most DataRemaining bytes). It unmasks and checks them in place and
// returns their Data event, or a Failed event. It is meant for streaming
// drivers: with Config.Assemble, or for a compressed message without
// PullInflate, the bytes are collected as fed ones are, and the event may
// be None.
func (r *Receiver) Payload(p []byte) Event {
	if r.state != recvOpen {
		return r.Failure()
	}
	if int64(len(p)) > r.DataRemaining() {
		panic("wsproto: Payload beyond the current data frame")
	}
	if len(p) == 0 {
		return Event{Kind: Data, Type: r.typ, Compressed: r.compr}
	}
	pos, end := r.p.Consume(len(p))
	h := r.p.Header()
	if h.Masked {
		mask.Apply(h.Key, pos, p)
	}
	var ev Event
	r.data(&ev, p, end && h.Fin)
	return ev
}

// reportsChunks reports whether the current message is reported in Data
// events.
func (r *Receiver) reportsChunks() bool {
	return !r.assemble && (!r.compr || r.pull)
}

func (r *Receiver) beginMessage(h frame.Header) {
	r.inMsg = true
	r.start = true
	r.typ = MessageType(h.Opcode)
	r.compr = h.Rsv&frame.RSV1 != 0
	r.zfin = false
	r.utf8v.Reset()
	if a := r.asm; a != nil {
		if cap(a.msg) > keepBuf {
			a.msg = nil
		}
		if cap(a.z) > keepBuf {
			a.z = nil
		}
	}
}

// assembly returns the Receiver's assembly buffers, allocating them.
func (r *Receiver) assembly() *assembly {
	if r.asm == nil {
		r.asm = new(assembly)
	}
	return r.asm
}

// data handles pl, the next unmasked payload bytes of the current data
// message; final says they end it. It stores an event in *ev and reports
// true if there is one. The hot path, an uncompressed message reported in
// Data events, is here; the rest is in dataMore.
func (r *Receiver) data(ev *Event, pl []byte, final bool) bool {
	if r.compr || r.assemble {
		return r.dataMore(ev, pl, final)
	}
	// RFC 6455 §8.1: fail fast on invalid UTF-8, at any split point, and
	// on a code point cut off at the message's end.
	if r.typ == Text && (!r.utf8v.Write(pl) || final && !r.utf8v.Complete()) {
		r.failTo(ev, ErrInvalidUTF8)
		return true
	}
	ev.setData(r.typ, r.start, final, false, pl)
	r.start = false
	if final {
		r.inMsg = false
	}
	return true
}

// dataMore is data for a compressed message or a Receiver that
// assembles.
//
//go:noinline
func (r *Receiver) dataMore(ev *Event, pl []byte, final bool) bool {
	if r.compr {
		if r.pull {
			ev.setData(r.typ, r.start, final, true, pl)
			r.start = false
			if final {
				r.inMsg = false
				r.zfin = true
			}
			return true
		}
		a := r.assembly()
		a.z = r.collect(a.z, pl, final)
		if !final {
			return false
		}
		*ev = r.inflateWhole()
		return true
	}
	// RFC 6455 §8.1, as in data.
	if r.typ == Text && (!r.utf8v.Write(pl) || final && !r.utf8v.Complete()) {
		r.failTo(ev, ErrInvalidUTF8)
		return true
	}
	if final && r.start && int64(len(pl)) == r.p.Header().Length {
		// A message in one frame, whole in the input: reported where
		// it is.
		r.start, r.inMsg = false, false
		*ev = Event{Kind: Message, Type: r.typ, Payload: pl}
		return true
	}
	a := r.assembly()
	if r.start {
		a.msg = a.msg[:0]
		r.start = false
	}
	a.msg = r.collect(a.msg, pl, final)
	if !final {
		return false
	}
	r.inMsg = false
	msg := a.msg
	a.msg = a.msg[:0]
	*ev = Event{Kind: Message, Type: r.typ, Payload: msg}
	return true
}

// collect appends pl to buf, which holds the current message so far,
// growing it by the rule of package grow: memory follows what arrives, not
// what a header announces.
func (r *Receiver) collect(buf, pl []byte, final bool) []byte {
	if r.start {
		buf = buf[:0]
		r.start = false
	}
	if len(pl) > cap(buf)-len(buf) {
		n := int64(len(buf))
		rem := r.p.Remaining() + int64(len(pl))
		most := int64(-1)
		if r.p.Header().Fin {
			most = rem
		} else if lim := r.p.MaxMessage; lim > 0 {
			most = max(lim-n, rem)
		}
		nb := make([]byte, len(buf), grow.Cap(n, int64(len(pl)), most))
		copy(nb, buf)
		buf = nb
	}
	return append(buf, pl...)
}

// inflateWhole inflates the collected compressed message.
func (r *Receiver) inflateWhole() Event {
	r.inMsg = false
	a := r.asm
	out, err := r.decompress(a.msg[:0], func(d *deflate.Decompressor, dst []byte, limit int64, takeover bool) ([]byte, error) {
		return d.Decompress(dst, a.z, limit, takeover)
	})
	a.z = a.z[:0]
	if err != nil {
		return r.fail(err)
	}
	a.msg = out[:0]
	return Event{Kind: Message, Type: r.typ, Payload: out}
}

// decompress runs inflate with the connection's decompressor, the current
// message's limit and the takeover rule, then checks the inflated text.
func (r *Receiver) decompress(dst []byte, inflate func(*deflate.Decompressor, []byte, int64, bool) ([]byte, error)) ([]byte, error) {
	inf := r.inf
	limit := r.p.MaxMessage
	if limit <= 0 {
		limit = -1
	}
	start := len(dst)
	var out []byte
	var err error
	if inf.takeover {
		if inf.dr == nil {
			inf.dr = deflate.NewDecompressor(inf.bits)
		}
		out, err = inflate(inf.dr, dst, limit, true)
	} else {
		d := deflate.GetDecompressor(inf.bits)
		out, err = inflate(d, dst, limit, false)
		deflate.PutDecompressor(d)
	}
	if err != nil {
		return dst, err
	}
	// RFC 6455 §8.1 on the inflated text.
	if r.typ == Text && !utf8.Valid(out[start:]) {
		return dst, ErrInvalidUTF8
	}
	return out, nil
}

// A PieceSource gives Inflate the payload of each Compressed Data event
// after the first of a message: NextPiece feeds input to the Receiver,
// handling the control frames between the fragments, until it gets one. A
// driver passes a pointer type of its own (no allocation per message), or
// a PieceFunc.
type PieceSource interface {
	NextPiece() ([]byte, error)
}

// PieceFunc is a function as a PieceSource.
type PieceFunc func() ([]byte, error)

// NextPiece calls f.
func (f PieceFunc) NextPiece() ([]byte, error) { return f() }

// Inflate inflates a compressed message reported in Data events marked
// Compressed (Config.PullInflate) and appends it to dst. first is the
// payload of the message's Start event; next gives the payload of each
// following Compressed Data event, and is not called after the Final one.
// The message is never held compressed: it is inflated as its chunks
// arrive, within the read limit (1009 beyond it).
//
// An error from next is returned as it is, and the Receiver stays as it
// was; a broken rule (corrupt data, 1007; over the limit, 1009; invalid
// UTF-8 in text, 1007) fails the Receiver: Failure reports the event, whose
// Err Inflate returns. Inflate given the message's Start event that does
// not want the message's content must still be called (with a nil dst),
// since with context takeover every message feeds the history.
func (r *Receiver) Inflate(dst, first []byte, next PieceSource) ([]byte, error) {
	inf := r.inf
	if inf == nil {
		panic("wsproto: Inflate without permessage-deflate")
	}
	if inf.piece == nil {
		inf.piece = inf.nextPiece // once per connection, not per message
	}
	inf.r, inf.first, inf.firstDone, inf.src, inf.srcErr = r, first, false, next, nil
	defer func() { inf.r, inf.first, inf.src, inf.srcErr = nil, nil, nil, nil }()
	// The first frame's payload sizes the first output buffer.
	hint := len(first) + int(min(r.DataRemaining(), 1<<30))
	out, err := r.decompress(dst, func(d *deflate.Decompressor, dst []byte, limit int64, takeover bool) ([]byte, error) {
		return d.DecompressFrom(dst, inf.piece, hint, limit, takeover)
	})
	if err == nil {
		// RFC 7692 §7.2.3.4: a block with BFINAL set may end the data
		// before the payload does; the rest is skipped.
		for err == nil {
			_, err = inf.nextPiece()
		}
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		if r.state == recvFailed {
			return dst, r.err
		}
		if inf.srcErr != nil && errors.Is(err, inf.srcErr) {
			return dst, err
		}
		r.fail(err)
		return dst, r.err
	}
	return out, nil
}

// nextPiece is Inflate's source for the decompressor: the first chunk,
// then the driver's, until the message's last chunk was reported.
func (inf *inflateState) nextPiece() ([]byte, error) {
	r := inf.r
	if !inf.firstDone {
		inf.firstDone = true
		if len(inf.first) > 0 {
			return inf.first, nil
		}
	}
	if r.zfin || r.state != recvOpen {
		return nil, io.EOF
	}
	p, err := inf.src.NextPiece()
	if err != nil {
		inf.srcErr = err
	}
	return p, err
}

// control handles a control frame's payload (RFC 6455 §5.5), storing its
// event in *ev.
func (r *Receiver) control(ev *Event, pl []byte) {
	switch r.p.Header().Opcode {
	case frame.OpPing:
		*ev = Event{Kind: Ping, Payload: pl}
		return
	case frame.OpPong:
		*ev = Event{Kind: Pong, Payload: pl}
		return
	}
	// RFC 6455 §5.5.1, §7.4: the close payload is a valid code and a
	// UTF-8 reason, or nothing.
	code, reason, err := closecode.Parse(pl)
	if err != nil {
		r.failTo(ev, err)
		return
	}
	r.state = recvClosed
	r.inMsg = false
	*ev = Event{Kind: Close, Code: code, Reason: reason, Payload: pl}
}

// clear makes *ev the zero Event (nothing to report), in place.
func (ev *Event) clear() {
	ev.Kind, ev.Type, ev.Start, ev.Final, ev.Compressed = None, 0, false, false, false
	ev.Payload = nil
	ev.Code, ev.Reason, ev.Err = 0, "", nil
}

// setData stores a Data event in *ev field by field: the same as
// assigning an Event literal, without building it on the stack first (the
// copy showed in the read benchmarks' profile).
func (ev *Event) setData(typ MessageType, start, final, compr bool, pl []byte) {
	ev.Kind, ev.Type, ev.Start, ev.Final, ev.Compressed = Data, typ, start, final, compr
	ev.Payload = pl
	ev.Code, ev.Reason, ev.Err = 0, "", nil
}

// failTo fails the Receiver with the broken rule err and stores the
// Failed event in *ev. It is not inlined: its frame stays off the hot
// path's.
//
//go:noinline
func (r *Receiver) failTo(ev *Event, err error) { *ev = r.fail(err) }

// fail fails the Receiver with the broken rule err.
func (r *Receiver) fail(err error) Event {
	code, ok := closecode.Of(err)
	if !ok {
		code = closecode.ProtocolError
	}
	if errors.Is(err, deflate.ErrTooLarge) {
		code = closecode.MessageTooBig
	}
	r.state = recvFailed
	r.err, r.code = err, code
	r.inMsg = false
	r.asm = nil
	return Event{Kind: Failed, Code: code, Err: err}
}
