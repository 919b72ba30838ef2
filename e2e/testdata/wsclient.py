#!/usr/bin/python3
"""A wscalc WebSocket client built on Debian's python3-websockets, for the e2e tests.

usage: wsclient.py URL [--json] [--origin ORIGIN] [--quit] [--] EXPR...

Connects to URL (ws://HOST:PORT/ws), with the wscalc.v1.json subprotocol if --json, sends
every EXPR at once (pipelined), reads one reply per EXPR and prints one JSON object per line:

  {"event": "open", "subprotocol": ...}            after the handshake
  {"event": "rejected", "status": N}               if the handshake was refused
  <the server's message>                           JSON mode: hello, then each reply
  {"text": "<message>"}                            text mode: each reply
  {"event": "closed", "code": N, "reason": "..."}  at the end

In JSON mode request k (from 1) has id k when k is odd and the string "rk" when k is even,
and presence pushes ({"type": "clients"}) are skipped: their timing is not part of the test.
With --quit the client then sends "quit" and reports how the server closed the connection;
otherwise it closes normally itself. Every wait is bounded; a timeout exits with status 3.
"""

import argparse
import asyncio
import json
import sys

import websockets

SUBPROTOCOL = "wscalc.v1.json"
TIMEOUT = 10  # seconds, for the handshake and for every message


def emit(obj):
    print(json.dumps(obj, ensure_ascii=False), flush=True)


async def recv_reply(ws, json_mode):
    """The next message that is not a presence push."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if not json_mode:
            return {"text": msg}
        obj = json.loads(msg)
        if obj.get("type") != "clients":
            return obj


def request_id(k):
    return k if k % 2 else "r%d" % k


async def session(args):
    extra = {"origin": args.origin} if args.origin else {}
    subprotocols = [SUBPROTOCOL] if args.json else None
    try:
        ws = await websockets.connect(args.url, subprotocols=subprotocols,
                                      open_timeout=TIMEOUT, close_timeout=TIMEOUT, **extra)
    except websockets.exceptions.InvalidStatusCode as e:
        emit({"event": "rejected", "status": e.status_code})
        return
    emit({"event": "open", "subprotocol": ws.subprotocol})
    try:
        if args.json:
            emit(await recv_reply(ws, True))  # hello
        for k, expr in enumerate(args.exprs, 1):
            if args.json:
                await ws.send(json.dumps({"id": request_id(k), "expr": expr}))
            else:
                await ws.send(expr)
        for _ in args.exprs:
            emit(await recv_reply(ws, args.json))
        if args.quit:
            await ws.send(json.dumps({"expr": "quit"}) if args.json else "quit")
            try:
                while True:
                    await recv_reply(ws, args.json)  # until the server closes
            except websockets.exceptions.ConnectionClosed:
                pass
        else:
            await ws.close()
    finally:
        await ws.close()  # no-op when already closed
    emit({"event": "closed", "code": ws.close_code, "reason": ws.close_reason})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--json", action="store_true", help="use the wscalc.v1.json subprotocol")
    p.add_argument("--origin", help="Origin header to send (none by default)")
    p.add_argument("--quit", action="store_true", help="send quit after the replies")
    p.add_argument("exprs", nargs="*")
    # Options may follow the URL; "--" protects expressions that start with '-'.
    args = p.parse_intermixed_args()
    try:
        asyncio.run(session(args))
    except asyncio.TimeoutError:
        print("wsclient: timed out", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
