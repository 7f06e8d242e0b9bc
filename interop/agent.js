// Node.js peer for the interop tests: a WebSocket agent built on the npm
// package ws. It runs as a client (one connection to cfg.url) or as a server
// (one listener on 127.0.0.1, any number of connections), takes its
// configuration as one JSON argument, and speaks the agent protocol that the
// Go tests drive (see interop/README.md):
//
//   - data messages are echoed back unchanged, same type, same bytes;
//   - a text message "@interop {json}" is a command: gen, ping, close, info;
//   - what happens out of band (open, ping, pong, close, error) is reported as
//     one JSON object per line on stdout.
//
// The process exits when its standard input ends (the Go test closes it),
// and a client also exits after its connection closed.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocket, WebSocketServer } = require('ws');

const PREFIX = '@interop ';
const cfg = JSON.parse(process.argv[2] || '{}');

function emit(ev) {
  process.stdout.write(JSON.stringify(ev) + '\n');
}

// payload returns the test payload of n bytes shared by every peer: text is
// the 10-byte unit "aé€𝄞" (1-, 2-, 3- and 4-byte characters) repeated, then
// ASCII "a" to the exact length; binary is byte i = (i*7+3) mod 256.
function payload(type, n) {
  if (type === 'binary') {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 255;
    return b;
  }
  const unit = Buffer.from('aé€𝄞', 'utf8');
  const b = Buffer.alloc(n, 'a');
  for (let off = 0; off + unit.length <= n; off += unit.length) unit.copy(b, off);
  return b;
}

// split cuts p into k pieces of nearly equal length, on byte boundaries: a
// text fragment may end inside a character (RFC 6455 §5.6 validates the
// whole message, not each frame).
function split(p, k) {
  const parts = [];
  for (let i = 0; i < k; i++) {
    parts.push(p.subarray(Math.floor((p.length * i) / k), Math.floor((p.length * (i + 1)) / k)));
  }
  return parts;
}

function attach(ws, extra) {
  const opened = Object.assign(
    {
      ev: 'open',
      protocol: ws.protocol,
      extensions: ws.extensions,
      readyState: ws.readyState,
    },
    extra,
  );
  emit(opened);

  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const s = data.toString('utf8');
      if (s.startsWith(PREFIX)) {
        command(ws, JSON.parse(s.slice(PREFIX.length)), opened);
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('ping', (data) => emit({ ev: 'ping', data: data.toString('utf8') }));
  ws.on('pong', (data) => emit({ ev: 'pong', data: data.toString('utf8') }));
  ws.on('error', (err) => emit({ ev: 'error', message: String(err && err.message) }));
  ws.addEventListener('close', (e) => {
    emit({ ev: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean, readyState: ws.readyState });
    if (cfg.mode === 'client') setImmediate(() => process.exit(0));
  });
}

function command(ws, cmd, opened) {
  switch (cmd.op) {
    case 'gen': {
      const p = payload(cmd.type, cmd.size);
      const binary = cmd.type === 'binary';
      const k = cmd.frags || 1;
      // With report set, say when the message has been written out.
      const sent = cmd.report ? () => emit({ ev: 'sent', size: cmd.size }) : undefined;
      if (k <= 1) {
        ws.send(p, { binary }, sent);
      } else {
        // ws sends the frames in call order, so a ping sent between two
        // send calls lands between two fragments on the wire.
        split(p, k).forEach((part, i) => {
          if (i > 0 && cmd.pingBetween) ws.ping(Buffer.from(cmd.pingBetween));
          ws.send(part, { binary, fin: i === k - 1 }, i === k - 1 ? sent : undefined);
        });
      }
      break;
    }
    case 'badtext':
      // ws sends the bytes it is given as they are: here, not UTF-8.
      ws.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
      break;
    case 'ping':
      ws.ping(Buffer.from(cmd.data || '', 'utf8'));
      break;
    case 'close':
      if (cmd.code === undefined || cmd.code === null) ws.close();
      else ws.close(cmd.code, cmd.reason || '');
      emit({ ev: 'closing', readyState: ws.readyState });
      break;
    case 'info':
      ws.send(
        PREFIX +
          JSON.stringify({
            ev: 'info',
            protocol: ws.protocol,
            extensions: ws.extensions,
            readyState: ws.readyState,
            bufferedAmount: ws.bufferedAmount,
            offeredExtensions: opened.offeredExtensions,
            offeredProtocols: opened.offeredProtocols,
          }),
      );
      break;
    default: {
      // Replied in band too, so that a test waiting for a reply stops.
      const ev = { ev: 'error', message: 'unknown command ' + JSON.stringify(cmd) };
      emit(ev);
      ws.send(PREFIX + JSON.stringify(ev));
    }
  }
}

function client() {
  const ws = new WebSocket(cfg.url, cfg.protocols || [], {
    perMessageDeflate: !!cfg.compression,
    maxPayload: 64 << 20,
    handshakeTimeout: 10000,
  });
  emit({ ev: 'created', readyState: ws.readyState });
  ws.on('open', () => attach(ws, {}));
  ws.on('unexpected-response', (req, res) => {
    emit({ ev: 'error', message: 'unexpected response ' + res.statusCode });
    emit({ ev: 'close', code: 1006, reason: '', wasClean: false, readyState: 3 });
    process.exit(0);
  });
  // Before open, errors (a refused handshake, a bad certificate) end the
  // attempt; after open, attach reports them.
  ws.once('error', (err) => {
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.CLOSED) {
      emit({ ev: 'error', message: String(err && err.message) });
    }
  });
}

function server() {
  const srv = cfg.tls
    ? https.createServer({ cert: fs.readFileSync(cfg.tls.cert), key: fs.readFileSync(cfg.tls.key) })
    : http.createServer();
  const wss = new WebSocketServer({
    server: srv,
    perMessageDeflate: !!cfg.compression,
    maxPayload: 64 << 20,
    handleProtocols: (offered) => {
      for (const p of cfg.protocols || []) if (offered.has(p)) return p;
      return false;
    },
  });
  wss.on('connection', (ws, req) =>
    attach(ws, {
      offeredExtensions: req.headers['sec-websocket-extensions'] || '',
      offeredProtocols: req.headers['sec-websocket-protocol'] || '',
    }),
  );
  wss.on('error', (err) => emit({ ev: 'error', message: String(err && err.message) }));
  srv.listen(0, '127.0.0.1', () => emit({ ev: 'listening', port: srv.address().port }));
}

process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));

if (cfg.mode === 'server') server();
else client();
