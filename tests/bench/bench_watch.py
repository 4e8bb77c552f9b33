#!/usr/bin/env python3
"""bench_watch -- throughput and memory of `promptcause watch --once`.

Writes an event log of N lines (default 1,000,000) in which every line comes
from a distinct client and names a distinct URL (the worst case for the
storm tables), runs `watch --once` over it pinned to one core, and prints
events/s and the peak RSS (ru_maxrss of the child). A second run uses a
mix with storms (few URLs, many clients) to show the alert path is not the
bottleneck. Run by hand: python3 tests/bench/bench_watch.py --cli build/cli/promptcause
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def write_log(path, n, distinct=True):
    base = time.time() - 30
    with open(path, "w") as f:
        for i in range(n):
            client = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" if distinct else f"10.0.0.{i % 200}"
            url = f"http://intranet/r/{i}.gif" if distinct else f"http://intranet/r/{i % 50}.gif"
            ts = base + i * (25.0 / n)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)
            f.write(json.dumps({"v": 1, "ts": stamp, "client": client, "user": None, "method": "GET",
                                "url": url, "host": "intranet", "status": 401, "cause": "embedded-denied",
                                "prompt": "basic", "schemes": ["Basic"], "realm": "r", "auth_sent": "none",
                                "parent": "http://intranet/", "evidence": "html", "object": "image",
                                "zone": "intranet", "handler": None, "substatus": None,
                                "hint": "grant the anonymous account read access"}) + "\n")


def run(cli, log, rules):
    """Returns (result, wall s, CPU s of the child, peak RSS KiB). CPU time
    is what one core spent: on a shared machine wall time overstates it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(["taskset", "-c", "0", cli, "watch", "--events", log, "--rules", rules, "--once"],
                       capture_output=True, text=True)
    dt = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, dt, cpu, after.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--max-clients", type=int, default=262144, help="rules max_clients")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        rules = os.path.join(d, "rules")
        with open(rules, "w") as f:
            f.write(f"max_clients {a.max_clients}\nmax_resources {a.max_clients}\noverall_prompts 0\n")
        for name, distinct in (("distinct", True), ("storms", False)):
            log = os.path.join(d, f"{name}.log")
            write_log(log, a.lines, distinct)
            size = os.path.getsize(log)
            r, dt, cpu, rss = run(a.cli, log, rules)
            last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
            print(f"{name}: {a.lines} lines ({size / 1e6:.0f} MB): wall {dt:.2f} s, CPU {cpu:.2f} s = "
                  f"{a.lines / cpu:,.0f} events per CPU-second (one core); peak RSS (max over runs so far) "
                  f"{rss / 1024:.1f} MiB; exit {r.returncode}")
            print(f"  {last}")
            os.unlink(log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
