"""Python peer for the interop tests: a WebSocket agent built on websockets.

It runs as a client (one connection to cfg["url"]) or as a server (one
listener on 127.0.0.1), takes its configuration as one JSON argument, and
speaks the agent protocol that the Go tests drive (see interop/README.md):

- data messages are echoed back unchanged, same type, same bytes;
- a text message "@interop {json}" is a command: gen, ping, close, info;
- what happens out of band (open, ping, pong, close, error) is reported as
  one JSON object per line on stdout.

It uses the asyncio implementation that Debian's python3-websockets (10.x)
ships, imported from websockets.legacy, where later versions keep it too.
The process exits when its standard input ends, and a client also exits
after its connection closed.
"""

import asyncio
import json
import os
import ssl
import sys

import websockets
from websockets.legacy.client import WebSocketClientProtocol, connect
from websockets.legacy.server import WebSocketServerProtocol, serve

PREFIX = "@interop "
cfg = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")


def emit(ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def payload(typ, n):
    """The test payload of n bytes shared by every peer (see agent.js)."""
    if typ == "binary":
        period = bytes((i * 7 + 3) & 255 for i in range(256))
        return (period * (n // 256 + 1))[:n]
    unit = "aé€𝄞"  # 1 + 2 + 3 + 4 bytes
    return unit * (n // 10) + "a" * (n % 10)


def split(p, k):
    """Cuts p into k nearly equal pieces. websockets wants str fragments for
    text, so text is cut between characters; binary anywhere."""
    return [p[len(p) * i // k : len(p) * (i + 1) // k] for i in range(k)]


def ready_state(ws):
    # websockets' State enum numbers CONNECTING, OPEN, CLOSING, CLOSED as the
    # browser's readyState does.
    return int(ws.state.value)


class Reporting:
    """Mixin that reports the pings websockets answers by itself."""

    async def pong(self, data=b""):
        emit({"ev": "ping", "data": bytes(data).decode("utf-8", "replace")})
        await super().pong(data)


class ServerProtocol(Reporting, WebSocketServerProtocol):
    pass


class ClientProtocol(Reporting, WebSocketClientProtocol):
    pass


def describe(ws):
    return {
        "protocol": ws.subprotocol or "",
        "extensions": ",".join(e.name for e in ws.extensions),
        "readyState": ready_state(ws),
    }


async def await_pong(waiter, data):
    try:
        await waiter
        emit({"ev": "pong", "data": data})
    except Exception as e:  # the connection closed first
        emit({"ev": "error", "message": "no pong: %r" % e})


async def command(ws, cmd, opened, tasks):
    op = cmd.get("op")
    if op == "gen":
        p = payload(cmd["type"], cmd["size"])
        k = cmd.get("frags") or 1
        if k <= 1:
            await ws.send(p)
        else:
            between = cmd.get("pingBetween")

            async def fragments():
                for i, part in enumerate(split(p, k)):
                    if i > 0 and between:
                        # ping() does not wait for a fragmented message to
                        # end, so the ping goes out between two fragments.
                        w = await ws.ping(between.encode() + b"#%d" % i)
                        tasks.append(asyncio.ensure_future(await_pong(w, between + "#%d" % i)))
                    yield part

            await ws.send(fragments() if between else split(p, k))
        if cmd.get("report"):
            emit({"ev": "sent", "size": cmd["size"]})
    elif op == "ping":
        data = cmd.get("data") or ""
        w = await ws.ping(data.encode())
        tasks.append(asyncio.ensure_future(await_pong(w, data)))
    elif op == "close":
        code = cmd.get("code")
        closing = asyncio.ensure_future(ws.close(code if code is not None else 1000, cmd.get("reason") or ""))
        # A few turns of the loop let close() leave OPEN and send its frame.
        for _ in range(100):
            if ws.state.value != 1:
                break
            await asyncio.sleep(0)
        emit({"ev": "closing", "readyState": ready_state(ws)})
        await closing
    elif op == "info":
        info = dict(describe(ws), ev="info")
        info["offeredExtensions"] = opened.get("offeredExtensions", "")
        info["offeredProtocols"] = opened.get("offeredProtocols", "")
        await ws.send(PREFIX + json.dumps(info))
    else:
        # Replied in band too, so that a test waiting for a reply stops.
        ev = {"ev": "error", "message": "unknown command %r" % (cmd,)}
        emit(ev)
        await ws.send(PREFIX + json.dumps(ev))


async def run(ws, extra):
    opened = dict(describe(ws), ev="open", **extra)
    emit(opened)
    tasks = []
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith(PREFIX):
                await command(ws, json.loads(msg[len(PREFIX) :]), opened, tasks)
            else:
                await ws.send(msg)
    except websockets.exceptions.ConnectionClosed:
        pass
    except Exception as e:
        emit({"ev": "error", "message": repr(e)})
    await ws.wait_closed()
    for t in tasks:
        t.cancel()
    emit(
        {
            "ev": "close",
            "code": ws.close_code,
            "reason": ws.close_reason,
            "wasClean": ws.close_rcvd is not None and ws.close_sent is not None,
            "readyState": ready_state(ws),
        }
    )


async def stdin_closed():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


async def client():
    ctx = None
    if cfg["url"].startswith("wss:"):
        ctx = ssl.create_default_context(cafile=cfg["ca"])
    try:
        ws = await connect(
            cfg["url"],
            subprotocols=cfg.get("protocols") or None,
            compression="deflate" if cfg.get("compression") else None,
            max_size=None,
            ping_interval=None,  # no keepalive: see server()
            ssl=ctx,
            open_timeout=10,
            create_protocol=ClientProtocol,
        )
    except Exception as e:
        emit({"ev": "error", "message": repr(e)})
        return
    await run(ws, {})


async def server():
    ctx = None
    if cfg.get("tls"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cfg["tls"]["cert"], cfg["tls"]["key"])

    async def handler(ws, *_path):
        h = ws.request_headers
        await run(
            ws,
            {
                "offeredExtensions": ", ".join(h.get_all("Sec-WebSocket-Extensions")),
                "offeredProtocols": ", ".join(h.get_all("Sec-WebSocket-Protocol")),
            },
        )

    srv = await serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=cfg.get("protocols") or None,
        compression="deflate" if cfg.get("compression") else None,
        max_size=None,
        # No keepalive pings (websockets pings every 20 s and closes with
        # 1011 when a pong is 20 s late): a case is a sequence of steps,
        # and our side answers pings only while it reads, which a step
        # that writes 16 MiB with deflate (slow under -race on a busy
        # machine) does not do for longer than that. Pings from the peer
        # are checked by the cases that command them.
        ping_interval=None,
        ssl=ctx,
        create_protocol=ServerProtocol,
    )
    emit({"ev": "listening", "port": srv.sockets[0].getsockname()[1]})
    await stdin_closed()


async def main():
    if cfg.get("mode") == "server":
        await server()
    else:
        done = asyncio.ensure_future(client())
        stop = asyncio.ensure_future(stdin_closed())
        await asyncio.wait([done, stop], return_when=asyncio.FIRST_COMPLETED)
    sys.stdout.flush()
    # The executor thread blocked on stdin would keep a normal exit waiting.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
