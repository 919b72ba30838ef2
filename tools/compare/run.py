#!/usr/bin/env python3
"""Runs the tables of BENCHMARKS.md: the same `wscalc bench` load, side by side in one run,
against (a) wscalc, (b) a bare echo server on the same transport (tools/compare/echo) and
(c) the Python asyncio AST-whitelist server (tools/compare/pycalc.py, TCP only), with the
server pinned to one core and the load generator to another (taskset).

    python3 tools/compare/run.py tcp        # throughput and CPU/request, TCP 64 conns x pipeline 16
    python3 tools/compare/run.py ws         # the same over WebSocket
    python3 tools/compare/run.py latency    # p99 at 1000 conns, open loop at half the max
    python3 tools/compare/run.py scale      # 9,900 idle TCP + 9,900 idle WebSocket conns, RSS/conn
    python3 tools/compare/run.py calc       # go test -bench . ./calc
    python3 tools/compare/run.py all

Every load is on loopback and bounded in count and time. Each table is printed as Markdown;
--json FILE also saves the raw summaries. Options: --duration (seconds per measured run),
--server-cpu and --load-cpu (the cores), --wscalc-args (extra server flags; by default
the session budget is lifted, since a load test is the one user it exists to stop),
--wscalc-bin (serve from this wscalc binary instead of the one built from the tree, e.g. an
older build to compare with; the load generator is always the freshly built one) and
--servers (which of wscalc, echo, python the tcp and ws tables run; default all).
--before-bin adds a fourth server to the tcp and ws tables, "before": wscalc served from
that binary (an older build), run just before wscalc, so that a change is measured side
by side with what it changes in the same run (the ratios wscalc / before).
"""

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = tempfile.mkdtemp(prefix="wscalc-bench-")
WSCALC = os.path.join(WORK, "wscalc")
ECHO = os.path.join(WORK, "echo")
TICK = os.sysconf("SC_CLK_TCK")
OPTS = None  # the parsed command line


def log(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


def build():
    log("building wscalc and the echo server")
    subprocess.run(["go", "build", "-o", WSCALC, "."], cwd=ROOT, check=True)
    subprocess.run(["go", "build", "-o", ECHO, "./tools/compare/echo"], cwd=ROOT, check=True)


def pinned(cpu, argv):
    return ["taskset", "-c", str(cpu)] + argv


class Server:
    """A server process pinned to the server core, with the addresses it printed."""

    def __init__(self, name, argv, want, env=None):
        self.name = name
        self.proc = subprocess.Popen(pinned(OPTS.server_cpu, argv), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                                     env=env)
        self.addrs = {}
        deadline = time.time() + 30
        while len(self.addrs) < len(want) and time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            for key, pattern in want.items():
                m = re.search(pattern, line)
                if m:
                    self.addrs[key] = m.group(1)
        if len(self.addrs) < len(want):
            self.stop()
            raise RuntimeError(f"{name} did not print its addresses")

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_wscalc(name="wscalc", binary=None):
    return Server(name, [binary or OPTS.wscalc_bin or WSCALC, "-http", "127.0.0.1:0", "-tcp", "127.0.0.1:0",
                             "-log-level", "error"] + shlex.split(OPTS.wscalc_args),
                  {"tcp": r"line protocol on (\S+)", "ws": r"playground http://([^/\s]+)"})


def start_echo():
    return Server("echo", [ECHO], {"tcp": r"echo: tcp (\S+)", "ws": r"echo: ws (\S+)"})


def start_python():
    return Server("python", ["python3", "tools/compare/pycalc.py"], {"tcp": r"pycalc: tcp (\S+)"})


def exprs_files():
    """The load for each server: the built-in mix with the reply each server must give."""
    mix = os.path.join(ROOT, "loadgen", "mix.txt")
    echo = os.path.join(WORK, "mix-echo.txt")
    with open(mix) as src, open(echo, "w") as dst:
        for line in src:
            expr = line.rstrip("\n").split("\t", 1)[0]
            if expr and not expr.lstrip().startswith("#"):
                dst.write(f"{expr}\t{expr}\n")
    py = os.path.join(WORK, "mix-python.txt")
    with open(mix) as src, open(py, "w") as dst:
        subprocess.run(["python3", "tools/compare/pycalc.py", "--expected"], stdin=src,
                       stdout=dst, cwd=ROOT, check=True)
    return {"wscalc": mix, "before": mix, "echo": echo, "python": py}


def bench(proto, addr, exprs, *args, hold_log=None):
    """Runs `wscalc bench -json` on the load core and returns its summary."""
    argv = pinned(OPTS.load_cpu, [WSCALC, "bench", "-proto", proto, "-addr", addr, "-check",
                                  "-json", "-exprs", exprs] + [str(a) for a in args])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if not p.stdout.strip():
        raise RuntimeError(f"bench failed: {p.stderr}")
    s = json.loads(p.stdout)
    s["exit"] = p.returncode
    return s


def us(x):
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"


def clean(s):
    return "yes" if s["exit"] == 0 else f"NO (lost {s['unanswered']}, errors {s['errors']}, wrong {s['mismatches']})"


def throughput(proto):
    """wscalc vs echo (vs python on TCP) at 64 connections x pipeline 16."""
    files = exprs_files()
    starters = [("wscalc", start_wscalc), ("echo", start_echo)]
    if proto == "tcp":
        starters.append(("python", start_python))
    starters = [(n, f) for n, f in starters if n in OPTS.servers.split(",")]
    if OPTS.before_bin:
        starters.insert(0, ("before", lambda: start_wscalc("before", OPTS.before_bin)))
    rows = {}
    for name, start in starters:
        srv = start()
        try:
            addr = srv.addrs[proto]
            log(f"{proto} {name}: warm-up")
            bench(proto, addr, files[name], "-conns", 64, "-pipeline", 16, "-duration", "2s")
            cpu0 = srv.cpu_seconds()
            log(f"{proto} {name}: {OPTS.duration}s at 64 x 16")
            s = bench(proto, addr, files[name], "-conns", 64, "-pipeline", 16,
                      "-duration", f"{OPTS.duration}s")
            s["cpu_us_per_req"] = (srv.cpu_seconds() - cpu0) / max(s["answered"], 1) * 1e6
            rows[name] = s
        finally:
            srv.stop()
    out = [f"### {proto.upper()}, 64 connections × pipeline 16, {OPTS.duration} s, -check", "",
           "| server | req/s | p50 | p99 | p99.9 | server CPU per request | clean (nothing lost, all right) |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for name, s in rows.items():
        l = s["latency_us"]
        out.append(f"| {name} | {s['rps']:,.0f} | {us(l['p50'])} | {us(l['p99'])} | "
                   f"{us(l['p99_9'])} | {s['cpu_us_per_req']:.2f} µs | {clean(s)} |")
    out.append("")
    for other in ("echo", "before"):
        if "wscalc" in rows and other in rows:
            w, o = rows["wscalc"], rows[other]
            out += [f"- throughput wscalc / {other}: **{w['rps'] / o['rps']:.2f}×**",
                    f"- CPU per request wscalc / {other}: **{w['cpu_us_per_req'] / o['cpu_us_per_req']:.2f}×**"]
    if "wscalc" not in rows or "echo" not in rows:
        return "\n".join(out), rows
    w = rows["wscalc"]
    if "python" in rows:
        out.append(f"- throughput wscalc / python: **{w['rps'] / rows['python']['rps']:.1f}×**")
    return "\n".join(out), rows


def latency():
    """p99 at 1000 connections, open loop at half of each server's measured maximum."""
    files = exprs_files()
    out = [f"### Latency at 1 000 connections, open loop at half the measured maximum, {OPTS.duration} s", "",
           "| transport | server | max req/s (closed loop, 1000 × 1) | open-loop rate | p50 | p99 | p99.9 | max | clean |",
           "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    raw = {}
    for proto in ("tcp", "ws"):
        starters = [("wscalc", start_wscalc), ("echo", start_echo)]
        if proto == "tcp":
            starters.append(("python", start_python))
        for name, start in starters:
            srv = start()
            try:
                addr = srv.addrs[proto]
                log(f"latency {proto} {name}: maximum")
                top = bench(proto, addr, files[name], "-conns", 1000, "-pipeline", 1,
                            "-duration", f"{OPTS.duration}s")
                rate = round(top["rps"] / 2)
                log(f"latency {proto} {name}: open loop at {rate}/s")
                s = bench(proto, addr, files[name], "-conns", 1000, "-pipeline", 16,
                          "-rate", rate, "-duration", f"{OPTS.duration}s")
                raw[f"{proto}-{name}"] = {"max": top, "open": s}
                l = s["latency_us"]
                out.append(f"| {proto} | {name} | {top['rps']:,.0f} | {rate:,} | {us(l['p50'])} | "
                           f"{us(l['p99'])} | {us(l['p99_9'])} | {us(l['max'])} | {clean(s)} |")
            finally:
                srv.stop()
    return "\n".join(out), raw


def wait_for(path, text, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path) as f:
            if text in f.read():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{path} never said {text!r}")


def scale():
    """Idle connections held at once (TCP and WebSocket, from two bench processes since one
    process may hold at most 20 000 files), then one request on each; server RSS per
    connection from /proc/PID/status, wscalc next to the echo."""
    n = OPTS.scale_conns
    files = exprs_files()
    out = [f"### Scale: {n:,} idle TCP + {n:,} idle WebSocket connections held at once, then one request each", "",
           "| server | RSS before | RSS with TCP conns | RSS with TCP + WS conns | per TCP conn | per WS conn | all answered |",
           "|---|---:|---:|---:|---:|---:|---|"]
    raw = {}
    for name, start in (("wscalc", start_wscalc), ("echo", start_echo)):
        srv = start()
        procs = []
        try:
            time.sleep(1)
            base = srv.rss_kb()
            logs = {}
            samples = {}
            for proto, hold in (("tcp", 60), ("ws", 20)):
                logs[proto] = os.path.join(WORK, f"scale-{name}-{proto}.log")
                argv = pinned(OPTS.load_cpu, [WSCALC, "bench", "-proto", proto, "-addr", srv.addrs[proto],
                                              "-conns", str(n), "-pipeline", "1", "-requests", str(n),
                                              "-hold", f"{hold}s", "-timeout", "30s", "-check", "-json",
                                              "-exprs", files[name]])
                log(f"scale {name}: opening {n} {proto} connections")
                with open(logs[proto], "w") as errf:
                    procs.append((proto, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errf, text=True)))
                wait_for(logs[proto], "holding", 120)
                time.sleep(3)  # let the server settle (goroutine stacks, buffers)
                samples[proto] = srv.rss_kb()
                log(f"scale {name}: RSS {samples[proto]} kB with {proto}")
            results = {}
            for proto, p in procs:
                stdout, _ = p.communicate(timeout=300)
                results[proto] = json.loads(stdout)
                results[proto]["exit"] = p.returncode
            procs = []
            per_tcp = (samples["tcp"] - base) / n
            per_ws = (samples["ws"] - samples["tcp"]) / n
            raw[name] = {"base_kb": base, "samples_kb": samples, "results": results}
            ok = all(r["exit"] == 0 and r["conns_held"] == n and r["answered"] == n for r in results.values())
            out.append(f"| {name} | {base / 1024:.1f} MB | {samples['tcp'] / 1024:.1f} MB | "
                       f"{samples['ws'] / 1024:.1f} MB | {per_tcp:.1f} kB | {per_ws:.1f} kB | "
                       f"{'yes' if ok else 'NO: ' + json.dumps({k: [v['conns_held'], v['answered'], v['errors']] for k, v in results.items()})} |")
        finally:
            for _, p in procs:
                p.kill()
                p.wait()
            srv.stop()
    w, e = raw["wscalc"], raw["echo"]
    for proto, label in (("tcp", "TCP"), ("ws", "WebSocket")):
        prev = "tcp" if proto == "ws" else None
        def per(r):
            return (r["samples_kb"][proto] - (r["samples_kb"][prev] if prev else r["base_kb"])) / n
        out.append(f"- RSS per {label} connection, wscalc / echo: **{per(w) / per(e):.2f}×**")
    return "\n".join(out), raw


def calc():
    log("go test -bench . ./calc")
    p = subprocess.run(pinned(OPTS.server_cpu, ["go", "test", "-run", "^$", "-bench", ".", "-benchmem",
                                                "-count", "1", "./calc"]),
                       capture_output=True, text=True, cwd=ROOT, check=True)
    out = ["### The calculator core (`go test -run '^$' -bench . -benchmem ./calc`)", "",
           "| benchmark | ns/op | B/op | allocs/op |", "|---|---:|---:|---:|"]
    for line in p.stdout.splitlines():
        m = re.match(r"Benchmark(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op", line)
        if m:
            out.append(f"| {m.group(1)} | {float(m.group(3)):,.0f} | {m.group(4)} | {m.group(5)} |")
    return "\n".join(out), p.stdout


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    py = sys.version.split()[0]
    served = f" wscalc served from {OPTS.wscalc_bin}." if OPTS.wscalc_bin else ""
    return (f"Machine: {os.cpu_count()} × {model}, Linux {os.uname().release}; {go}; Python {py}.{served} "
            f"Server pinned to CPU {OPTS.server_cpu}, load generator to CPU {OPTS.load_cpu} (taskset); "
            f"load average before: {os.getloadavg()[0]:.2f}.")


TABLES = {"tcp": lambda: throughput("tcp"), "ws": lambda: throughput("ws"), "latency": latency,
          "scale": scale, "calc": calc}


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", choices=list(TABLES) + ["all"])
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (default 10)")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--scale-conns", type=int, default=9900)
    # The session budget (200 000 cost units per minute) is there so that one user cannot
    # hog a shared server; a load test is exactly such a user, so it is lifted here.
    ap.add_argument("--wscalc-args",
                    default=os.environ.get("WSCALC_BENCH_ARGS", "-session-budget 1000000000000"),
                    help="extra flags for the wscalc server (default: lift the session budget)")
    ap.add_argument("--wscalc-bin", help="serve from this wscalc binary (default: the one built from this tree)")
    ap.add_argument("--before-bin", help="also serve from this wscalc binary, as \"before\", in the tcp and ws tables")
    ap.add_argument("--servers", default="wscalc,echo,python",
                    help="comma-separated servers of the tcp and ws tables (default wscalc,echo,python)")
    ap.add_argument("--json", help="save the raw summaries to this file")
    OPTS = ap.parse_args()
    build()
    names = list(TABLES) if OPTS.table == "all" else [OPTS.table]
    print(machine() + "\n")
    raw = {}
    for name in names:
        text, raw[name] = TABLES[name]()
        print(text + "\n", flush=True)
    if OPTS.json:
        with open(OPTS.json, "w") as f:
            json.dump(raw, f, indent=2)


if __name__ == "__main__":
    main()
