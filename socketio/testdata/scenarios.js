// Scenarios run by the real socket.io-client against the Go server of
// realclient_test.go, in Node (node.js runs them) and in headless Chromium
// (page.html loads the client's browser bundle and this file). Each one
// throws on the first thing that is not as it should be.
(function (root) {
  "use strict";

  const TIMEOUT = 10000;

  function transportsOf(mode) {
    return { websocket: ["websocket"], polling: ["polling"], upgrade: ["polling", "websocket"] }[mode];
  }

  function withTimeout(p, ms, what) {
    let timer;
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out waiting for " + what)), ms);
      }),
    ]);
  }

  // once resolves with the arguments of the next ev on emitter.
  function once(emitter, ev, ms) {
    return withTimeout(new Promise((resolve) => emitter.once(ev, (...args) => resolve(args))), ms || TIMEOUT, ev);
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // bytes returns the bytes of a Buffer, an ArrayBuffer or a typed array.
  function bytes(b) {
    if (b instanceof ArrayBuffer) return Array.from(new Uint8Array(b));
    if (ArrayBuffer.isView(b)) return Array.from(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    throw new Error("not binary: " + JSON.stringify(b));
  }

  function eq(got, want, what) {
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) throw new Error(what + ": got " + g + ", want " + w);
  }

  function check(cond, what) {
    if (!cond) throw new Error(what);
  }

  function make(io, base, mode) {
    const opened = [];
    const opts = (extra) => Object.assign({ transports: transportsOf(mode), forceNew: true, reconnection: false }, extra || {});
    const connect = (nsp, extra) => {
      const s = io(base + (nsp || ""), opts(extra));
      opened.push(s);
      return s;
    };
    async function connected(s) {
      if (!s.connected) await once(s, "connect");
      return s;
    }
    // onTransport waits for the transport the mode ends on.
    async function onTransport(s) {
      if (mode === "upgrade" && s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
      eq(s.io.engine.transport.name, mode === "polling" ? "polling" : "websocket", "transport");
    }

    const scenarios = {
      // The handshake's auth reaches the server, which greets the socket.
      async connect() {
        const s = connect("", { auth: { token: "t-" + mode } });
        const welcome = once(s, "welcome");
        await connected(s);
        const [w] = await welcome;
        eq(w.id, s.id, "welcome's socket id");
        eq(w.auth, { token: "t-" + mode }, "welcome's auth");
        await onTransport(s);
      },

      // JSON arguments, every kind, both ways (an ack echoes them).
      async json() {
        const s = await connected(connect());
        const args = [{ a: 1, b: [true, null, "x"], c: { d: "é✓" } }, 42, "s", [], 1.5];
        const got = await withTimeout(new Promise((resolve) => s.emit("echo", ...args, (...a) => resolve(a))), TIMEOUT, "echo");
        eq(got, args, "echoed arguments");
      },

      // Binary arguments both ways: Buffer in Node, ArrayBuffer and typed
      // arrays in the browser, at the top level and nested.
      async binary() {
        const s = await connected(connect());
        const mk = (arr) => (typeof Buffer !== "undefined" ? Buffer.from(arr) : Uint8Array.from(arr).buffer);
        const got = await withTimeout(
          new Promise((resolve) => s.emit("echo", mk([1, 2, 3]), { name: "f", data: Uint8Array.from([4, 5]) }, "end", (...a) => resolve(a))),
          TIMEOUT,
          "binary echo",
        );
        eq(bytes(got[0]), [1, 2, 3], "top-level attachment");
        eq(got[1].name, "f", "nested name");
        eq(bytes(got[1].data), [4, 5], "nested attachment");
        eq(got[2], "end", "text after attachments");
        const from = once(s, "binary");
        s.emit("send-binary");
        const [b, obj] = await from;
        eq(bytes(b), [0, 1, 2, 255], "server's top-level attachment");
        eq(obj.name, "blob", "server's object");
        eq(bytes(obj.data), [9, 8], "server's nested attachment");
        // A typed handler that wants bytes gets them.
        eq(await s.emitWithAck("length", mk(new Array(300).fill(7))), 300, "length of bytes");
      },

      // Acknowledgements both ways, with timeouts on both sides.
      async acks() {
        const s = await connected(connect());
        eq(await s.emitWithAck("sum", [1, 2, 3]), 6, "sum");
        eq(await s.emitWithAck("sum", "not numbers"), { error: { code: "invalid_payload", message: "argument 1: cannot use a JSON string as []int" } }, "mismatch");
        let timedOut = false;
        try {
          await s.timeout(200).emitWithAck("slow");
        } catch (e) {
          timedOut = true;
        }
        check(timedOut, "client-side ack timeout did not fire");
        s.on("question", (q, cb) => cb(q.toUpperCase()));
        eq(await s.emitWithAck("ask", "hi"), "HI", "server's question answered");
        s.on("question-ignored", (q, cb) => {});
        eq(await s.emitWithAck("ask-ignored", "hello?"), { timedOut: true }, "server-side ack timeout");
      },

      // A namespace whose middleware refuses: connect_error with its data.
      async refused() {
        const a = connect("/admin", { auth: {} });
        const [err] = await once(a, "connect_error");
        eq(err.message, "not authorized", "connect_error message");
        eq(err.data, { reason: "no token" }, "connect_error data");
        const b = await connected(connect("/admin", { auth: { token: "ok" } }));
        eq(await b.emitWithAck("whoami"), "ok", "admin socket");
      },

      // Rooms and every broadcast form.
      async rooms() {
        const names = ["a", "b", "c", "d"];
        const socks = {};
        const got = {};
        for (const n of names) {
          const s = await connected(connect());
          socks[n] = s;
          got[n] = [];
          s.on("msg", (m) => got[n].push(m));
        }
        const chat = await connected(connect("/chat"));
        got.chat = [];
        chat.on("msg", (m) => got.chat.push(m));
        for (const [n, room] of [["a", "red"], ["b", "red"], ["b", "blue"], ["c", "blue"], ["c", "muted"], ["d", "muted"]]) {
          eq(await socks[n].emitWithAck("join", room), true, "join");
        }
        let fence = 0;
        const expect = async (form, arg, want, from) => {
          for (const n of Object.keys(got)) got[n] = [];
          eq(await socks[from || "a"].emitWithAck("broadcast", { form, arg, text: form }), true, form);
          const f = "fence" + ++fence;
          eq(await socks.a.emitWithAck("broadcast", { form: "all+chat", text: f }), true, "fence");
          await withTimeout((async () => { while (!Object.keys(got).every((n) => got[n].includes(f))) await sleep(5); })(), TIMEOUT, "fence " + f);
          for (const n of Object.keys(got)) {
            eq(got[n], want.includes(n) ? [form, f] : [f], form + " to " + n);
          }
        };
        await expect("all", null, ["a", "b", "c", "d"]);
        await expect("others", null, ["b", "c", "d"]); // socket.broadcast.emit from a
        await expect("room", "red", ["a", "b"]);
        await expect("rooms", ["red", "blue"], ["a", "b", "c"]); // b once
        await expect("except", ["muted"], ["a", "b"]); // to red and blue, except muted
        await expect("socket-to", "red", ["b"]); // socket.to(red) from a
        await expect("id", socks.d.id, ["d"]); // a socket's own room
        await expect("except-only", ["red"], ["c", "d"]);
        await expect("namespace", null, ["chat"]);
        await expect("others", null, ["a", "c", "d"], "b");
      },

      // Volatile events: a transport that cannot take one at once drops
      // it; what comes is in order, and a normal event after them comes.
      // An ack first, so that nothing the server queued before (the
      // welcome, which can wait in the queue while polling is paused for
      // the upgrade) is still being written when the burst starts: a busy
      // writer would rightly drop every tick of it. The server sends the
      // ticks in bursts of ten, 5 ms apart.
      async volatile() {
        const s = await connected(connect());
        await onTransport(s);
        eq(await s.emitWithAck("sum", [1, 2]), 3, "sum before the burst");
        const ticks = [];
        s.on("tick", (n) => ticks.push(n));
        const done = once(s, "ticked");
        s.emit("volatile-burst", 50);
        await done;
        check(ticks.length <= 50, "more ticks than sent: " + ticks.length);
        for (let i = 1; i < ticks.length; i++) check(ticks[i] > ticks[i - 1], "ticks out of order: " + ticks);
        if (mode !== "polling") check(ticks.length >= 1, "no volatile tick over a WebSocket");
      },

      // Connection state recovery: cut off for 2 s, the client gets back
      // its id and the room broadcasts it missed, in order.
      async recovery() {
        const s = io(base, Object.assign(opts(), { path: "/recovery/socket.io/", reconnection: true, reconnectionDelay: 2000, randomizationFactor: 0 }));
        opened.push(s);
        const news = [];
        s.on("news", (n) => news.push(n));
        await connected(s);
        check(!s.recovered, "recovered on the first connection");
        await onTransport(s);
        const id = s.id;
        eq(await s.emitWithAck("news-now", 0), true, "news-now"); // sets the client's offset
        await withTimeout((async () => { while (!news.includes(0)) await sleep(5); })(), TIMEOUT, "news 0");
        eq(await s.emitWithAck("cut"), true, "cut");
        s.io.engine.close(); // cut off; the manager reconnects 2 s later
        const t0 = Date.now();
        await once(s, "connect", 15000);
        check(Date.now() - t0 >= 1900, "reconnected after " + (Date.now() - t0) + " ms");
        check(s.recovered, "socket.recovered is false");
        eq(s.id, id, "recovered id");
        await withTimeout((async () => { while (news.length < 4) await sleep(5); })(), TIMEOUT, "missed news");
        eq(news, [0, 1, 2, 3], "news in order, none from the other room");
        eq(await s.emitWithAck("news-now", 4), true, "news-now after recovery");
        await withTimeout((async () => { while (!news.includes(4)) await sleep(5); })(), TIMEOUT, "news 4");
        eq(news, [0, 1, 2, 3, 4], "news after recovery");
      },

      // Reconnection after a server restart on the same port. The restart
      // waits for the transport the mode ends on: socket.io-client's
      // engine pauses polling once the probe answers, and a probe closed
      // by the restart before the client sent "5" leaves it paused, with
      // no transport, until its heartbeat times out: a failed probe does
      // not resume polling (engine.io-client 6, Socket._probe).
      async restart() {
        const s = io(base, Object.assign(opts(), { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 }));
        opened.push(s);
        await connected(s);
        await onTransport(s);
        const id = s.id;
        const gone = once(s, "disconnect");
        s.emit("restart-server");
        await gone;
        await once(s, "connect", 20000);
        check(s.id !== id, "same id after a restart");
        eq(await s.emitWithAck("sum", [2, 2]), 4, "sum after the restart");
      },
    };

    async function run(names) {
      const results = [];
      for (const name of names) {
        const start = Date.now();
        try {
          await withTimeout(scenarios[name](), 40000, name);
          results.push({ name, ok: true, ms: Date.now() - start });
        } catch (e) {
          results.push({ name, ok: false, error: String((e && e.stack) || e) });
        } finally {
          for (const s of opened.splice(0)) s.disconnect();
        }
      }
      return results;
    }
    return { run, names: Object.keys(scenarios) };
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = make;
  } else {
    root.sioScenarios = make;
  }
})(this);
