// Drives the real engine.io-client (the transport of socket.io-client)
// against the agent's Engine.IO echo server: node eioclient.js <url> <mode>,
// mode being "polling", "websocket" or "upgrade". It sends a text, a binary
// and a large text message, checks the echoes, stays connected across
// several heartbeats, closes, and prints one JSON line with what it saw.
const { Socket } = require("engine.io-client");

const [url, mode] = process.argv.slice(2);
const opts = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
}[mode];

const result = { mode, transports: [], echoes: [], errors: [] };
const done = (ok) => {
  result.ok = ok;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
};
setTimeout(() => { result.errors.push("timeout"); done(false); }, 8000);

const socket = new Socket(url, opts);
const large = "x".repeat(200000);
const expected = ["hello €", "bin:1,2,3,250", "large:" + large.length];
let pings = 0;

socket.on("open", () => result.transports.push(socket.transport.name));
socket.on("upgrade", (t) => result.transports.push(t.name));
socket.on("ping", () => { pings++; });
socket.on("error", (e) => result.errors.push(String(e && e.message || e)));
socket.on("close", (reason) => {
  result.closeReason = reason;
});
socket.on("message", (data) => {
  if (typeof data === "string") {
    result.echoes.push(data.length > 1000 ? "large:" + data.length : data);
  } else {
    result.echoes.push("bin:" + Array.from(new Uint8Array(data)).join(","));
  }
  if (result.echoes.length === expected.length) finish();
});

const start = () => {
  socket.send("hello €");
  socket.send(Uint8Array.from([1, 2, 3, 250]));
  socket.send(large);
};
if (mode === "upgrade") {
  socket.on("upgrade", start);
} else {
  socket.on("open", start);
}

function finish() {
  // Stay for several heartbeats (pingInterval 300 ms), then close.
  setTimeout(() => {
    result.pings = pings;
    result.transport = socket.transport.name;
    const ok = JSON.stringify(result.echoes) === JSON.stringify(expected) && pings >= 3 &&
      socket.readyState === "open" && result.errors.length === 0;
    socket.close();
    setTimeout(() => done(ok && result.closeReason === "forced close"), 100);
  }, 1300);
}
