#!/usr/bin/env python3
"""bench_probe.py -- `promptcause probe` wall time on a page with many slow
objects: parallel fetching (--jobs 8, the default) against one by one
(--jobs 1).

The test origin (tests/integration/origin.py) runs in this process on a free
loopback port and serves one page embedding N images from its /slow/ scenario,
each answering after DELAY ms (and one protected image, so the probe has a
401 to classify). Every configuration runs ROUNDS times; the table gives the
median, min and max wall time and the speed-up of each --jobs value over
--jobs 1. Names reach 127.0.0.1 through --connect-to, never DNS.

    python3 tests/bench/bench_probe.py --binary BUILD/cli/promptcause \
        [--objects 100] [--delay-ms 50] [--rounds 3] [--jobs 1,8]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import origin  # noqa: E402


def run_probe(binary, port, jobs, url):
    argv = [binary, "probe", "--jobs", str(jobs), "--timeout", "30", "--max-time", "600",
            "--connect-to", f"bench:80:127.0.0.1:{port}", url]
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    secs = time.monotonic() - t0
    if r.returncode != 1 or "1 would prompt" not in r.stdout or "0 not probed" not in r.stdout:
        raise RuntimeError(f"unexpected probe result (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_bin = os.path.join(os.environ.get("PC_TOP_BUILDDIR", "."), "cli", "promptcause")
    ap.add_argument("--binary", default=default_bin)
    ap.add_argument("--objects", type=int, default=100)
    ap.add_argument("--delay-ms", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", default="1,8", help="comma-separated --jobs values; 1 is the baseline")
    args = ap.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]
    if 1 not in jobs_list:
        jobs_list.insert(0, 1)

    site = tempfile.mkdtemp(prefix="pc-bench-probe-")
    imgs = "\n".join(f'<img src="/slow/{i}.gif?ms={args.delay_ms}">' for i in range(args.objects))
    with open(os.path.join(site, "page.html"), "wb") as f:
        f.write(origin.page("bench", imgs + '\n<img src="/secure/logo.gif">'))
    origin.Origin.request_queue_size = 256  # socketserver's default 5 drops SYNs under load
    srv = origin.start_origin(site=site)
    url = "http://bench/page.html"
    try:
        run_probe(args.binary, srv.server_port, max(jobs_list), url)  # warm-up
        results = {}
        for _ in range(args.rounds):
            for j in jobs_list:  # interleaved so drift hits every configuration alike
                results.setdefault(j, []).append(run_probe(args.binary, srv.server_port, j, url))
    finally:
        srv.shutdown()
        for n in os.listdir(site):
            os.unlink(os.path.join(site, n))
        os.rmdir(site)

    base = statistics.median(results[1])
    print(f"page: {args.objects} images at {args.delay_ms} ms each + 1 protected image; "
          f"{args.rounds} rounds; {os.cpu_count()} CPUs")
    print(f"serial floor: {args.objects} x {args.delay_ms} ms = "
          f"{(args.objects) * args.delay_ms / 1000:.2f} s of server delay")
    print("| --jobs | median s | min s | max s | speed-up vs --jobs 1 |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for j in jobs_list:
        r = results[j]
        print(f"| {j} | {statistics.median(r):.2f} | {min(r):.2f} | {max(r):.2f} | "
              f"{base / statistics.median(r):.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
