#!/usr/bin/env python3
"""bench_bump -- requests per second through bumped HTTPS: Squid alone, the null service, promptcause.

Run by hand (numbers go to docs/BENCHMARKS.md, "Through bumped HTTPS"), never
by `make check`:

    make -C BUILD tests/bench/srv_null.so
    python3 tests/bench/bench_bump.py --module BUILD/module/.libs/srv_promptcause.so \\
        --null BUILD/tests/bench/srv_null.so [--requests 4000] [--rounds 4] [--conns 8]

Chain: curl (one process, --parallel over --conns kept-alive CONNECT tunnels,
trusting a throw-away CA) -> Squid 5.7 (squid-openssl) bumping with the lines
of etc/squid-promptcause-sslbump.conf (tests/integration/bump.py) and SPEC
§7's ACLs (bypass=on with on-overload=wait: nothing skipped unnoticed) ->
c-icap (2 children x 10 threads, one server loading both the null service
and promptcause at its defaults) -> nginx serving bench_squid.py's site over
TLS (and plain HTTP for the reference run). Everything on loopback, in a temp
dir, stopped at the end.

Workload (per 20 requests, every URL distinct so nothing is cached): 8 HTML
pages (8 KiB, 20 images each), 1 page of 200 KiB (past the preview), 9 images
(200, not sent to ICAP), 2 images in a Basic folder (401, an event each).
Modes, interleaved per round (ABCD, then DCBA):
  http        the same mix over plain http:, Squid without ICAP (what bumping costs)
  bump        bumped https:, Squid without ICAP (the base)
  bump-null   bumped https:, the null service (204 at preview, nothing else)
  bump-pc     bumped https:, promptcause
Reports per mode the median req/s and CPU microseconds per request of Squid
(with its certgen helpers), c-icap (all children) and nginx, and per round the
paired ratios to `bump`: the target is promptcause's ratio >= the null
service's ratio - 0.03.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

MODES = ["http", "bump", "bump-null", "bump-pc"]
# bench_squid.py's mix, 20 slots: p page, b big page, i image, x 401 image.
KINDS = "ppipipixpiipibpipxii"
TICK = os.sysconf("SC_CLK_TCK")


def start_nginx(tmp, procs, H, pki):
    """nginx serving bench_squid's site on a plain and a TLS port; returns (plain, tls)."""
    from bench_squid import make_site
    plain, tls = H.free_port(), H.free_port()
    site = make_site(tmp)
    conf = tmp.write("nginx.conf", f"""
daemon off;
master_process off;
worker_processes 1;
pid {tmp.join('nginx.pid')};
error_log {tmp.join('nginx-error.log')} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 100000;
  types {{ text/html html; image/gif gif; }}
  server {{
    listen 127.0.0.1:{plain};
    listen 127.0.0.1:{tls} ssl;
    ssl_certificate {pki.srv_crt};
    ssl_certificate_key {pki.srv_key};
    root {site};
    location /secure/ {{
      add_header WWW-Authenticate 'Basic realm="secure"' always;
      return 401;
    }}
  }}
}}
""")
    proc = procs.start([H.find_binary("nginx"), "-c", conf, "-p", tmp.path], log_path=tmp.join("nginx.out"))
    H.wait_for_port(plain, proc=proc, what="nginx")
    H.wait_for_port(tls, proc=proc, what="nginx")
    return plain, tls, proc


def urls(base, n, tag):
    """n URLs of the mix under base (scheme://host:port), all distinct."""
    out = []
    for seq in range(n):
        k = KINDS[seq % len(KINDS)]
        q = f"?{tag}-{seq}"
        if k == "p":
            out.append(f"{base}/p/{seq % 64}.html{q}")
        elif k == "b":
            out.append(f"{base}/big.html{q}")
        elif k == "i":
            out.append(f"{base}/img/{seq % 20}.gif{q}")
        else:
            out.append(f"{base}/secure/{seq % 20}.gif{q}")
    return out


def run_curl(tmp, squid_port, ca, url_list, conns):
    """Fetch url_list through Squid with one parallel curl; returns (seconds, {status: count})."""
    cfg = tmp.write("urls.cfg", "".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in url_list))
    argv = ["curl", "-s", "--parallel", "--parallel-immediate", "--parallel-max", str(conns),
            "--proxy", f"http://127.0.0.1:{squid_port}", "--cacert", ca, "--noproxy", "",
            "-H", "Accept: text/html,image/*;q=0.8,*/*;q=0.5", "-w", "%{http_code}\n", "-K", cfg]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    codes = {}
    for line in r.stdout.split():
        codes[line] = codes.get(line, 0) + 1
    return dt, codes


def group_cpu(pgid):
    """CPU seconds (user+system) of the live processes of process group pgid."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def count_connects(access_log):
    """CONNECT lines in Squid's access log: client connections (tunnels, each
    a TLS handshake on both sides) so far. Squid logs a CONNECT when its
    tunnel ends, so a run's count includes the warm-up's tunnels only when
    curl closed them late; curl closes all of them at exit."""
    time.sleep(0.5)
    with open(access_log, errors="replace") as f:
        return sum(1 for line in f if " CONNECT " in line)


def variant(text, mode):
    """Squid config for one mode from the bumping config bump.py generated."""
    text = text.replace("bypass=on max-conn", "bypass=on on-overload=wait max-conn")
    if mode in ("http", "bump"):
        text = text.replace("icap_enable on", "icap_enable off")
        text = "\n".join(l for l in text.splitlines()
                         if not l.startswith(("icap_service", "adaptation_access")))
    elif mode == "bump-null":
        text = re.sub(r"(icap://127\.0\.0\.1:\d+)/promptcause", r"\1/null", text)
    return text + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", required=True)
    ap.add_argument("--null", required=True, help="the built tests/bench/srv_null.so")
    ap.add_argument("--requests", type=int, default=4000, help="requests per run")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    os.environ["PC_MODULE"] = os.path.abspath(args.module)
    import pcharness as H
    import cicap
    import bump as B
    why = B.have_sslbump()
    if why:
        raise SystemExit(f"bench_bump: {why}")

    results = {m: [] for m in MODES}
    tmp = H.TempDir(prefix="pc-bench-bump-")
    procs = H.Processes()
    try:
        pki = B.make_pki(tmp, ["intranet"])
        plain, tls, nginx = start_nginx(tmp, procs, H, pki)
        extra = f"Service null {os.path.abspath(args.null)}"
        for rnd in range(args.rounds):
            order = MODES if rnd % 2 == 0 else list(reversed(MODES))
            for mode in order:
                sub = H.TempDir(prefix=f"pc-bench-{mode}-")
                p2 = H.Processes()
                try:
                    ic = cicap.start_cicap(sub, p2, [], extra_conf=extra, children=2, threads=10)
                    sq = B.start_bump_squid(sub, p2, ic.port, plain, tls, pki, ["intranet"], max_conn=20)
                    text = variant(open(sq.conf).read(), mode)
                    os.killpg(sq.proc.pid, signal.SIGTERM)  # restart Squid on the variant
                    sq.proc.wait(timeout=15)
                    sub.write("squid.conf", text)
                    sqp = p2.start([H.find_binary("squid"), "-N", "-f", sub.join("squid.conf")],
                                   log_path=sub.join("squid.out"))
                    H.wait_for_port(sq.port, proc=sqp, what="squid")
                    time.sleep(1.0)
                    base = "http://intranet" if mode == "http" else f"https://intranet:{tls}"
                    run_curl(sub, sq.port, pki.ca_crt, urls(base, 400, f"w{rnd}{mode}"), args.conns)
                    tunnels0 = count_connects(sq.access_log)
                    cpu0 = (group_cpu(sqp.pid), group_cpu(ic.proc.pid), group_cpu(nginx.pid))
                    dt, codes = run_curl(sub, sq.port, pki.ca_crt,
                                         urls(base, args.requests, f"r{rnd}{mode}"), args.conns)
                    cpu1 = (group_cpu(sqp.pid), group_cpu(ic.proc.pid), group_cpu(nginx.pid))
                    n = args.requests
                    us = [round((b - a) * 1e6 / n, 1) for a, b in zip(cpu0, cpu1)]
                    ev = len(cicap.read_events(ic.event_log))
                    tunnels = count_connects(sq.access_log) - tunnels0
                    r = {"rps": n / dt, "seconds": dt, "codes": codes, "events": ev, "tunnels": tunnels,
                         "cpu_us": {"squid": us[0], "c-icap": us[1], "nginx": us[2]}}
                    results[mode].append(r)
                    print(f"round {rnd + 1} {mode:9s} {r['rps']:7.0f} req/s  codes {codes}  events {ev}  tunnels {tunnels}  "
                          f"CPU us/req squid {us[0]} c-icap {us[1]} nginx {us[2]}", flush=True)
                finally:
                    p2.stop_all()
                    sub.cleanup()
    finally:
        procs.stop_all()
        tmp.cleanup()

    med = {m: statistics.median(x["rps"] for x in results[m]) for m in MODES}
    cpu = {m: {k: statistics.median(x["cpu_us"][k] for x in results[m]) for k in ("squid", "c-icap", "nginx")}
           for m in MODES}
    pair_null = [n["rps"] / b["rps"] for n, b in zip(results["bump-null"], results["bump"])]
    pair_pc = [p["rps"] / b["rps"] for p, b in zip(results["bump-pc"], results["bump"])]
    print("median req/s: " + ", ".join(f"{m} {med[m]:.0f}" for m in MODES))
    for m in MODES:
        print(f"median CPU us/req {m:9s}: " + ", ".join(f"{k} {v}" for k, v in cpu[m].items()))
    print(f"bump / http (no ICAP): {med['bump'] / med['http']:.2f}x")
    print("paired ratio to bump, per round: null " + " ".join(f"{x:.3f}" for x in pair_null)
          + "; promptcause " + " ".join(f"{x:.3f}" for x in pair_pc))
    mn, mp = statistics.median(pair_null), statistics.median(pair_pc)
    print(f"median paired ratio: null {mn:.3f}, promptcause {mp:.3f}; target promptcause >= null - 0.03: "
          f"{'met' if mp >= mn - 0.03 else 'NOT met'} ({mp - mn:+.3f})")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"results": results, "median_rps": med, "median_cpu_us": cpu,
                       "paired_null": pair_null, "paired_pc": pair_pc}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
