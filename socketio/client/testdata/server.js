// The Node reference Socket.IO server (socket.io 4.8 from interop/node_modules)
// that the Go client's tests talk to. It prints "listening <port>" once it
// listens on 127.0.0.1, and exits when its standard input closes (so that a
// test that dies does not leave it behind).
//
//   node server.js '{"recovery":true,"transports":["polling"]}'
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const cfg = JSON.parse(process.argv[2] || "{}");
const httpServer = http.createServer();
const opts = {
  pingInterval: cfg.pingInterval || 1000,
  pingTimeout: cfg.pingTimeout || 10000,
  maxHttpBufferSize: 1e6,
};
if (cfg.transports) opts.transports = cfg.transports;
if (cfg.recovery) {
  opts.connectionStateRecovery = { maxDisconnectionDuration: 30000, skipMiddlewares: true };
}
const io = new Server(httpServer, opts);

function common(nsp, socket) {
  socket.emit("welcome", {
    id: socket.id,
    nsp: nsp.name,
    auth: socket.handshake.auth,
    recovered: socket.recovered,
    transport: socket.conn.transport.name,
  });
  // Every argument back, binary ones included.
  socket.on("echo", (...args) => socket.emit("echo-back", ...args));
  // The arguments back through the acknowledgement.
  socket.on("ack", (...args) => {
    const cb = args.pop();
    cb(...args);
  });
  // Asks the client a question (a server-to-client ack) and acknowledges
  // with the client's answer.
  socket.on("ask", async (arg, cb) => {
    try {
      const answer = await socket.timeout(5000).emitWithAck("question", arg);
      cb(answer);
    } catch (e) {
      cb({ failed: String(e) });
    }
  });
  socket.on("join", (room, cb) => {
    socket.join(room);
    cb();
  });
  socket.on("to-room", (room, msg, cb) => {
    nsp.to(room).emit("room-msg", msg);
    if (cb) cb();
  });
  // Ends the Engine.IO session from the server; the client reconnects.
  // With "then", broadcasts those messages to the room once it is gone.
  socket.on("kill-transport", (room, then) => {
    socket.conn.close();
    if (then) {
      setTimeout(() => {
        for (const msg of then) nsp.to(room).emit("room-msg", msg);
      }, 100);
    }
  });
  socket.on("server-disconnect", () => socket.disconnect());
}

io.on("connection", (socket) => common(io.of("/"), socket));
const chat = io.of("/chat");
chat.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "open sesame") return next();
  const err = new Error("not authorized");
  err.data = { reason: "bad token", got: socket.handshake.auth };
  next(err);
});
chat.on("connection", (socket) => common(chat, socket));

httpServer.listen(0, "127.0.0.1", () => {
  console.log("listening " + httpServer.address().port);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
