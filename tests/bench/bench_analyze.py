#!/usr/bin/env python3
"""bench_analyze -- `promptcause analyze` against goaccess on one generated log.

Generates a combined-format access log as Squid writes it (`combined`
logformat: absolute URLs, Referer, User-Agent, the Squid code/hierarchy tail)
for a day of a 2,000-client intranet: pages, their images/scripts, about 6 %
401s (Basic folders, NTLM handshakes that succeed within the second, prompts
that end with a typed password, handler extensions), a few 407s and a
prompt storm. Then, in one run, times `promptcause analyze --format json`
and `goaccess --log-format=COMBINED -o report.json` on the same file
(page cache warm for both: each tool reads it once untimed first), ROUNDS
times each, alternating, and reports the median wall time, lines/s, the
ratio, and peak RSS (GNU time's "Maximum resident set size"; getrusage of
the child when /usr/bin/time is absent).

Usage: bench_analyze.py --promptcause PATH [--lines N] [--rounds R] [--keep]
Exit 0 when the run completed (the ratio is reported, not asserted), 77 when
goaccess is missing, 1 on a failed run.
"""
import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def clf(ts):
    t = time.gmtime(ts)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def generate(path, n, seed=1):
    """Write n lines; returns the number written."""
    rnd = random.Random(seed)
    hosts = ["intranet", "portal", "www.example.test", "wiki.corp.example.test", "cdn.example.org"]
    pages = [f"http://{h}/app{i}/index.html" for h in hosts for i in range(200)]
    objs = [f"http://{h}/static/img{i}.png" for h in hosts for i in range(1500)] + \
           [f"http://{h}/static/app{i}.js" for h in hosts for i in range(300)]
    secure = [f"http://{h}/secure/logo{i}.gif" for h in hosts[:2] for i in range(50)]
    handlers = [f"http://{h}/news/item{i}.shtml" for h in hosts[2:4] for i in range(40)]
    ntlm = [f"http://intranet/ntlm/app{i}.aspx" for i in range(100)]
    clients = [f"10.{k // 250}.{k % 250}.{(k * 7) % 250 + 1}" for k in range(2000)]
    ts = 1764028800.0  # 2025-11-25T00:00:00Z; a day for n lines
    step = 86400.0 / n
    out = []
    written = 0

    def line(client, status, url, referer, size):
        return (f'{client} - - [{clf(ts)}] "GET {url} HTTP/1.1" {status} {size} '
                f'"{referer or "-"}" "{UA}" TCP_MISS:FIRSTUP_PARENT\n')

    with open(path, "w") as f:
        while written < n:
            client = rnd.choice(clients)
            page = rnd.choice(pages)
            ts += step
            out.append(line(client, 200, page, None, rnd.randint(2000, 40000)))
            r = rnd.random()
            if r < 0.03:      # protected image on the page
                out.append(line(client, 401, rnd.choice(secure), page, 538))
            elif r < 0.05:    # NTLM logon: 401, 401, 200 within a second
                u = rnd.choice(ntlm)
                out += [line(client, 401, u, page, 623), line(client, 401, u, page, 855),
                        line(client, 200, u, page, 4000)]
            elif r < 0.055:   # handler refuses anonymous
                out.append(line(client, 401, rnd.choice(handlers), page, 623))
            elif r < 0.057:   # parent proxy wants credentials
                out.append(line(client, 407, page, None, 543))
            for _ in range(rnd.randint(3, 8)):
                out.append(line(client, 200 if rnd.random() < 0.9 else 304, rnd.choice(objs), page,
                                rnd.randint(200, 90000)))
            if rnd.random() < 0.0005:  # a storm: one client, many prompts
                for _ in range(12):
                    out.append(line(client, 401, rnd.choice(secure), page, 538))
            if len(out) > 10000:
                take = min(len(out), n - written)
                f.writelines(out[:take])
                written += take
                out = []
        if out and written < n:
            take = min(len(out), n - written)
            f.writelines(out[:take])
            written += take
    return written


def timed(argv, stdout_path):
    """Run argv; returns (wall seconds, peak RSS in KiB, exit status)."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None)
    with open(stdout_path, "wb") as out:
        if gnu_time:
            tfile = stdout_path + ".time"
            t0 = time.monotonic()
            p = subprocess.run([gnu_time, "-v", "-o", tfile, *argv], stdout=out, stderr=subprocess.PIPE)
            wall = time.monotonic() - t0
            with open(tfile) as tf:
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
            return wall, int(m.group(1)) if m else -1, p.returncode, p.stderr
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.monotonic()
        p = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return wall, after if after > before else -1, p.returncode, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--promptcause", required=True)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated log and reports")
    a = ap.parse_args()
    goaccess = shutil.which("goaccess")
    if goaccess is None:
        print("SKIP: goaccess not installed (apt-get install goaccess)")
        return 77
    tmp = tempfile.mkdtemp(prefix="pc-bench-analyze-")
    try:
        log = os.path.join(tmp, "access.log")
        t0 = time.monotonic()
        n = generate(log, a.lines)
        size = os.path.getsize(log)
        print(f"generated {n} lines, {size / 1e6:.0f} MB in {time.monotonic() - t0:.1f} s: {log}")
        runs = {
            "promptcause": [a.promptcause, "analyze", "--format", "json", log],
            "goaccess": [goaccess, log, "--log-format=COMBINED", "--no-global-config",
                         "-o", os.path.join(tmp, "goaccess.json")],
        }
        results = {k: [] for k in runs}
        for name, argv in runs.items():  # warm the page cache, check both work
            wall, rss, rc, err = timed(argv, os.path.join(tmp, name + ".out"))
            if rc != 0:
                print(f"FAIL: {name} exited {rc}: {err.decode(errors='replace')[-500:]}")
                return 1
        for _ in range(a.rounds):
            for name, argv in runs.items():
                wall, rss, rc, err = timed(argv, os.path.join(tmp, name + ".out"))
                if rc != 0:
                    print(f"FAIL: {name} exited {rc}")
                    return 1
                results[name].append((wall, rss))
        import json
        with open(os.path.join(tmp, "promptcause.out")) as f:
            rep = json.load(f)
        print(f"promptcause saw {rep['lines']} lines, {rep['unparsed']} unparsed, {rep['events']} "
              f"401/407s, handshake share {rep['handshake_share']:.3f}, {len(rep['storms'])} storms")
        print(f"{'tool':<12} {'median s':>9} {'lines/s':>12} {'peak RSS MiB':>13}  (rounds: wall s)")
        rate = {}
        for name, rs in results.items():
            walls = [w for w, _ in rs]
            med = statistics.median(walls)
            rate[name] = n / med
            rss = max(r for _, r in rs)
            print(f"{name:<12} {med:9.2f} {rate[name]:12.0f} {rss / 1024:13.1f}  "
                  f"({', '.join(f'{w:.2f}' for w in walls)})")
        ratio = rate["promptcause"] / rate["goaccess"]
        print(f"ratio: promptcause is {ratio:.1f}x goaccess's lines/s (goal >= 5x)")
        return 0
    finally:
        if a.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
