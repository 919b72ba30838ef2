#!/usr/bin/env python3
"""The Python baseline of the benchmarks: an asyncio line server that evaluates each line
with an AST whitelist, as the tutorial servers wscalc grew from did. One line in, one reply
line out; blank and comment lines get no reply; quit/exit close the connection.

    python3 tools/compare/pycalc.py [--host 127.0.0.1] [--port 0]
        serve; prints "pycalc: tcp HOST:PORT"
    python3 tools/compare/pycalc.py --expected < mix.txt
        print each expression of a load file (expr [TAB anything]) with this server's
        reply, the file `wscalc bench -exprs ... -check` needs to verify this server

It is benchmark tooling, not part of wscalc.
"""

import argparse
import ast
import asyncio
import math
import operator
import sys

BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
NAMES = {"pi": math.pi, "e": math.e, "tau": math.tau}
FUNCS = {
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp,
    "ln": math.log, "log10": math.log10, "log2": math.log2, "abs": abs, "round": round,
    "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
    "factorial": math.factorial,
}
MAX_EXPONENT = 10_000  # the tutorial's guard against 9**9**9
MAX_LINE = 4096


def evaluate(node):
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        left, right = evaluate(node.left), evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError("exponent too large")
        return BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return UNARY[type(node.op)](evaluate(node.operand))
    if isinstance(node, ast.Name) and node.id in NAMES:
        return NAMES[node.id]
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in FUNCS and not node.keywords):
        return FUNCS[node.func.id](*[evaluate(a) for a in node.args])
    raise ValueError("unsupported expression")


def reply(line):
    """The reply to one line, or None for a line that gets none."""
    if len(line) > MAX_LINE:
        return "Error: expression too long"
    text = line.split("#", 1)[0].strip()
    if not text:
        return None
    try:
        return str(evaluate(ast.parse(text, mode="eval")))
    except Exception as exc:  # every failure is a reply, never a crash
        return "Error: " + (str(exc) or type(exc).__name__)


async def handle(reader, writer):
    try:
        while True:
            raw = await reader.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.strip().lower() in ("quit", "exit"):
                break
            answer = reply(line)
            if answer is not None:
                writer.write(answer.encode() + b"\n")
                await writer.drain()
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(host, port):
    server = await asyncio.start_server(handle, host, port, limit=MAX_LINE + 2)
    h, p = server.sockets[0].getsockname()[:2]
    print(f"pycalc: tcp {h}:{p}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--expected", action="store_true",
                    help="print expr TAB reply for each expression of stdin, then exit")
    args = ap.parse_args()
    if args.expected:
        for raw in sys.stdin:
            expr = raw.rstrip("\r\n").split("\t", 1)[0]
            answer = reply(expr)
            if answer is not None:
                print(f"{expr}\t{answer}")
        return
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
