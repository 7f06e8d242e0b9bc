// The Node reference Socket.IO server (socket.io 4.8.x from
// interop/node_modules) for the Socket.IO benchmark: the same events as the
// Go servers beside it.
//
//   node server.js -addr 127.0.0.1:3001
//
// Events: "join" puts the socket in room "bench" and acknowledges; "echo"
// acknowledges with its arguments; "blast" [count, payload] emits "msg"
// with payload count times to room "bench", then acknowledges if asked. It prints
// "listening <addr>" and exits when its standard input closes.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

let addr = "127.0.0.1:3001";
const i = process.argv.indexOf("-addr");
if (i >= 0) addr = process.argv[i + 1];
const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];

const httpServer = http.createServer();
const io = new Server(httpServer, { maxHttpBufferSize: 1e6 });
io.on("connection", (socket) => {
  socket.on("join", (cb) => {
    socket.join("bench");
    cb();
  });
  socket.on("echo", (...args) => {
    const cb = args.pop();
    cb(...args);
  });
  socket.on("blast", (count, payload, cb) => {
    for (let n = 0; n < count; n++) io.to("bench").emit("msg", payload);
    if (cb) cb();
  });
});
httpServer.listen(port, host, () => console.log("listening " + addr));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
