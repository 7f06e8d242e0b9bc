// The real socket.io-client (4.8, from interop/node_modules) through the
// load balancer, for lb_test.go. It reports on standard output, one line
// each, and reads the test's answers on standard input:
//
//   node lbclient.js http://127.0.0.1:PORT
//
// 1. Connects 9 clients in turn, three of each kind: polling only,
//    WebSocket only, and polling upgraded to WebSocket (the default); each
//    joins room "r" on every connection (rooms belong to a server).
// 2. Checks that every kind has clients on both servers, that a line said
//    to the room reaches every client exactly once, and that "who" (the
//    cluster's FetchAllSockets) lists every client on its server.
// 3. Prints "kill s1" and waits for "killed" on standard input; then
//    waits until every client of s1 has reconnected (to s2) and rejoined,
//    checks that the room works again (every client, once), and that "who"
//    answers with s2's sockets alone once s2 counts s1 gone.
// It prints "ok" and exits 0, or "FAIL <why>" and exits 1.
"use strict";
const { io } = require("socket.io-client");

const url = process.argv[2];
const kinds = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  upgrade: {},
};

function fail(why) {
  console.log("FAIL " + why);
  process.exit(1);
}
setTimeout(() => fail("timed out"), 60000).unref();

const clients = [];
function connect(kind) {
  return new Promise((resolve, reject) => {
    const c = {
      kind,
      server: null,
      said: [],
      socket: io(url, {
        ...kinds[kind],
        withCredentials: true, // the balancer's cookie (a cookie jar in Node)
        reconnectionDelay: 200,
        reconnectionDelayMax: 1000,
        forceNew: true,
      }),
    };
    c.socket.on("hello", (h) => {
      c.server = h.server;
      c.socket.emit("join", "r", (server) => {
        c.joined = server;
        if (!c.ready) {
          c.ready = true;
          resolve(c);
        }
      });
    });
    c.socket.on("said", (m) => c.said.push(m.text));
    c.socket.on("connect_error", (err) => {
      if (!c.ready) reject(err);
    });
    clients.push(c);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function checkRoom(text) {
  const speaker = clients[clients.length - 1];
  await new Promise((resolve) => speaker.socket.emit("say", { room: "r", text }, resolve));
  await sleep(500);
  for (const c of clients) {
    const n = c.said.filter((t) => t === text).length;
    if (n !== 1) fail(`${c.kind} client on ${c.server} got "${text}" ${n} times`);
  }
  console.log(`room ok: "${text}" reached ${clients.length} clients once each`);
}

function placement() {
  return clients.map((c) => `${c.kind}@${c.server}/${c.socket.io.engine.transport.name}`).join(" ");
}

async function main() {
  for (let i = 0; i < 3; i++) {
    for (const kind of Object.keys(kinds)) await connect(kind);
  }
  await sleep(500); // upgrades complete
  for (const kind of Object.keys(kinds)) {
    const servers = new Set(clients.filter((c) => c.kind === kind).map((c) => c.server));
    if (servers.size !== 2) fail(`${kind} clients are all on ${[...servers]}: ${placement()}`);
  }
  console.log("placed: " + placement());
  await checkRoom("before");
  // A cluster request: every server's sockets, through NATS.
  const who = await new Promise((resolve) => clients[0].socket.emit("who", resolve));
  if (!Array.isArray(who)) fail("who: " + JSON.stringify(who));
  const counts = {};
  for (const s of who) counts[s.server] = (counts[s.server] || 0) + 1;
  for (const c of clients) {
    if (!who.some((s) => s.id === c.socket.id && s.server === c.server)) fail(`who misses ${c.socket.id}@${c.server}`);
  }
  if (who.length !== clients.length) fail(`who: ${who.length} sockets`);
  console.log("who: " + JSON.stringify(counts));

  const onS1 = clients.filter((c) => c.server === "s1");
  const disconnected = onS1.map(
    (c) => new Promise((resolve) => c.socket.once("disconnect", (reason) => resolve(reason)))
  );
  console.log("kill s1");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const reasons = await Promise.all(disconnected);
  console.log(`${onS1.length} clients of s1 disconnected: ${[...new Set(reasons)]}`);
  for (;;) {
    if (clients.every((c) => c.socket.connected && c.server === "s2" && c.joined === "s2")) break;
    await sleep(100);
  }
  console.log("reconnected: " + placement());
  await checkRoom("after");
  // s2 noticed that s1 died (its heartbeats stopped): "who" answers with
  // s2's sockets alone, instead of waiting for s1 or failing.
  for (let i = 0; ; i++) {
    const who = await new Promise((resolve) => clients[0].socket.emit("who", resolve));
    if (Array.isArray(who) && who.length === clients.length && who.every((s) => s.server === "s2")) {
      console.log(`who after the failover: ${who.length} sockets, all on s2 (asked ${i + 1} times)`);
      break;
    }
    if (i === 50) fail("who after the failover: " + JSON.stringify(who));
    await sleep(200);
  }
  for (const c of clients) c.socket.close();
  console.log("ok");
  process.exit(0);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
