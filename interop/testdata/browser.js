// The browser's agent for the interop tests. The Go test serves this page,
// hands it one case at a time from GET /next, and reads what happened from
// the events the page POSTs to /event. For each case the page opens a
// WebSocket with the browser's own API and speaks the agent protocol (see
// interop/README.md): data messages are echoed back unchanged, a text
// message "@interop {json}" is a command, and the open, message, error and
// close events are reported with the readyState at each.
'use strict';

const PREFIX = '@interop ';

// Events are POSTed one after another, so that they arrive in order.
let chain = Promise.resolve();
function report(ev) {
  const body = JSON.stringify(ev);
  chain = chain.then(() => fetch('/event', { method: 'POST', body }).catch(() => {}));
  return chain;
}

window.addEventListener('error', (e) => report({ ev: 'error', message: 'page error: ' + e.message }));
window.addEventListener('unhandledrejection', (e) =>
  report({ ev: 'error', message: 'page error: ' + String(e.reason) }),
);

// payload is the test payload of n bytes shared by every peer (see
// agent.js): text as a string whose UTF-8 encoding is n bytes, binary as an
// ArrayBuffer.
function payload(type, n) {
  if (type === 'binary') {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 255;
    return b.buffer;
  }
  return 'aé€𝄞'.repeat(Math.floor(n / 10)) + 'a'.repeat(n % 10);
}

function runCase(c) {
  return new Promise((resolve) => {
    const tag = (ev) => Object.assign({ case: c.case }, ev);
    let ws;
    try {
      ws = c.protocols && c.protocols.length ? new WebSocket(c.url, c.protocols) : new WebSocket(c.url);
    } catch (e) {
      report(tag({ ev: 'error', message: 'new WebSocket: ' + e }));
      resolve();
      return;
    }
    report(tag({ ev: 'created', readyState: ws.readyState, bufferedAmount: ws.bufferedAmount }));
    ws.binaryType = 'arraybuffer';
    let lastSendBuffered = null;

    const info = () =>
      ws.send(
        PREFIX +
          JSON.stringify({
            ev: 'info',
            protocol: ws.protocol,
            extensions: ws.extensions,
            readyState: ws.readyState,
            bufferedAmount: ws.bufferedAmount,
            lastSendBuffered,
            binaryType: ws.binaryType,
          }),
      );

    const whenDrained = (fn) => {
      const started = Date.now();
      const poll = () => {
        if (ws.bufferedAmount === 0 || Date.now() - started > 20000) fn();
        else setTimeout(poll, 5);
      };
      poll();
    };

    const command = (cmd) => {
      switch (cmd.op) {
        case 'gen':
          ws.send(payload(cmd.type, cmd.size));
          // bufferedAmount counts the message until the browser has
          // written it out: report it sent once the count is back to 0.
          if (cmd.report) whenDrained(() => report(tag({ ev: 'sent', size: cmd.size })));
          break;
        case 'close':
          if (cmd.code === undefined || cmd.code === null) ws.close();
          else ws.close(cmd.code, cmd.reason || '');
          report(tag({ ev: 'closing', readyState: ws.readyState }));
          break;
        case 'info':
          info();
          break;
        case 'drain':
          // Wait until everything sent has left the buffer, then report.
          whenDrained(info);
          break;
        default: {
          const ev = { ev: 'error', message: 'unknown command ' + JSON.stringify(cmd) };
          report(tag(ev));
          ws.send(PREFIX + JSON.stringify(ev));
        }
      }
    };

    ws.onopen = () =>
      report(tag({ ev: 'open', protocol: ws.protocol, extensions: ws.extensions, readyState: ws.readyState }));
    ws.onerror = () => report(tag({ ev: 'error', message: 'error event', readyState: ws.readyState }));
    ws.onclose = (e) => {
      report(tag({ ev: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean, readyState: ws.readyState }));
      resolve();
    };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        if (e.data.startsWith(PREFIX)) {
          command(JSON.parse(e.data.slice(PREFIX.length)));
          return;
        }
      } else if (!(e.data instanceof ArrayBuffer)) {
        report(tag({ ev: 'error', message: 'binary message arrived as ' + Object.prototype.toString.call(e.data) }));
        return;
      }
      ws.send(e.data);
      lastSendBuffered = ws.bufferedAmount;
    };
  });
}

async function main() {
  await report({ ev: 'hello', userAgent: navigator.userAgent });
  for (;;) {
    let c;
    try {
      const r = await fetch('/next');
      c = await r.json();
    } catch (e) {
      // The test server is gone: the test is over.
      return;
    }
    if (c.done) break;
    if (c.case) await runCase(c);
  }
  await report({ ev: 'bye' });
}

main();
