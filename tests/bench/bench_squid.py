#!/usr/bin/env python3
"""bench_squid -- requests per second through Squid: no ICAP, the null service, srv_echo, promptcause.

Run by hand (numbers go to docs/CORRELATION.md), never by `make check`:

    python3 tests/bench/bench_squid.py --module BUILD/module/.libs/srv_promptcause.so \
        --null BUILD/tests/bench/srv_null.so [--seconds 10] [--rounds 2] [--conns 8]

Chain: wrk (Debian package `wrk`, Lua script for a mixed workload, absolute
URLs so Squid sees proxy requests) -> Squid 5.7 with SPEC §7's ACLs (only
401/407 and 2xx text/html go to ICAP, bypass=on ... on-overload=wait so that
nothing is skipped unnoticed) -> c-icap (2 children x 10 threads, one server
loading both srv_echo and promptcause) -> nginx serving static pages and a
Basic 401 folder. Everything on loopback, in a temp dir, stopped at the end.

Workload (per 20 requests): 8 small HTML pages (8 KiB, 20 images each, all
different URLs so nothing is cached anywhere), 1 large HTML page (200 KiB,
larger than the preview: promptcause reads on, i.e. echoes it), 9 images
(200, not sent to ICAP by the ACLs), 2 images in a Basic folder (401: an
event each). Configurations, run in rounds ABCDE / EDCBA:
  squid        no ICAP at all
  null         tests/bench/srv_null.c: 204 at preview, nothing else (the floor)
  echo         srv_echo with the same ACLs
  pc           promptcause with the shipped default (MaxHtmlBytes = the preview:
               every page 204 in preview)
  pc-1m        promptcause, MaxHtmlBytes 1 MiB (big pages read on and echoed)
Besides req/s, each run reports CPU microseconds per request of Squid, c-icap
(all its processes) and nginx, from /proc/PID/stat of the processes this
script started and their children, read just before and after the timed run.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

LUA = r"""
local n = 0
local seq = 0
local kinds = {"p","p","i","p","i","p","i","x","p","i","i","p","i","b","p","i","p","x","i","i"}
request = function()
  n = n % #kinds + 1
  seq = seq + 1
  local k = kinds[n]
  local id = tostring(seq) .. "-" .. tostring(math.random(1, 1000000000))
  if k == "p" then
    return wrk.format("GET", "http://intranet/p/" .. (seq % 64) .. ".html?" .. id,
      {["Host"]="intranet", ["Accept"]="text/html", ["Sec-Fetch-Dest"]="document"})
  elseif k == "b" then
    return wrk.format("GET", "http://intranet/big.html?" .. id,
      {["Host"]="intranet", ["Accept"]="text/html", ["Sec-Fetch-Dest"]="document"})
  elseif k == "i" then
    return wrk.format("GET", "http://intranet/img/" .. (seq % 20) .. ".gif?" .. id,
      {["Host"]="intranet", ["Accept"]="image/*", ["Sec-Fetch-Dest"]="image",
       ["Referer"]="http://intranet/p/1.html"})
  else
    return wrk.format("GET", "http://intranet/secure/" .. (seq % 20) .. ".gif?" .. id,
      {["Host"]="intranet", ["Accept"]="image/*"})
  end
end
"""

GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def make_site(tmp):
    site = tmp.join("site")
    os.makedirs(os.path.join(site, "p"))
    os.makedirs(os.path.join(site, "img"))
    for i in range(64):
        imgs = "\n".join(f'<img src="/img/{j}.gif" alt="{j}">' for j in range(19))
        imgs += f'\n<img src="/secure/{i % 20}.gif" alt="protected">'
        filler = "<p>" + "lorem ipsum dolor sit amet " * 10 + "</p>\n"
        body = f"<!DOCTYPE html><html><head><title>p{i}</title></head><body>\n{imgs}\n" + filler * 24
        with open(os.path.join(site, "p", f"{i}.html"), "w") as f:
            f.write(body + "</body></html>\n")
    row = "<p>" + "lorem ipsum dolor sit amet " * 3 + "</p>\n"
    with open(os.path.join(site, "big.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body>\n" + row * (200000 // len(row)) +
                '<img src="/secure/tail.gif"></body></html>\n')
    for j in range(20):
        with open(os.path.join(site, "img", f"{j}.gif"), "wb") as f:
            f.write(GIF)
    return site


def start_nginx(tmp, procs, H):
    port = H.free_port()
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
    listen 127.0.0.1:{port};
    root {site};
    location /secure/ {{
      add_header WWW-Authenticate 'Basic realm="secure"' always;
      return 401;
    }}
  }}
}}
""")
    proc = procs.start([H.find_binary("nginx"), "-c", conf, "-p", tmp.path], log_path=tmp.join("nginx.out"))
    H.wait_for_port(port, proc=proc, what="nginx")
    return port, proc.pid


def squid_variant(text, mode):
    """Squid config for one mode from squid.py's promptcause config."""
    text = text.replace("bypass=on max-conn", "bypass=on on-overload=wait max-conn")
    if mode == "squid":
        text = text.replace("icap_enable on", "icap_enable off")
        text = "\n".join(l for l in text.splitlines()
                         if not l.startswith(("icap_service", "adaptation_access")))
    elif mode in ("echo", "null"):
        text = re.sub(r"(icap://127\.0\.0\.1:\d+)/promptcause", r"\1/" + mode, text)
    return text + "\n"


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _tree_pids(roots):
    """roots and every live descendant, from /proc/*/stat ppid fields."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    out, pending = set(), [r for r in roots if r in parent]
    while pending:
        p = pending.pop()
        if p not in out:
            out.add(p)
            pending.extend(c for c, pp in parent.items() if pp == p)
    return out


def cpu_seconds(roots):
    """utime + stime (seconds) of roots and their live descendants."""
    total = 0
    for p in _tree_pids(roots):
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError):
            pass
    return total / CLK_TCK


def run_wrk(port, seconds, conns, lua):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", f"{seconds}s", "--latency",
                          "-s", lua, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=seconds + 60)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1])
    errs = re.search(r"Socket errors: (.*)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    p99ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)] if p99 else None
    return {"rps": rps, "requests": total, "non2xx": non2xx, "socket_errors": errs.group(1) if errs else "",
            "p99_ms": p99ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", required=True)
    ap.add_argument("--echo", default="/usr/lib/x86_64-linux-gnu/c_icap/srv_echo.so")
    ap.add_argument("--null", required=True, help="tests/bench/srv_null.so (make tests/bench/srv_null.so)")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    os.environ["PC_MODULE"] = os.path.abspath(args.module)
    os.environ["PC_SRV_ECHO"] = args.echo
    import pcharness as H
    import cicap
    import squid as S

    null_so = os.path.abspath(args.null)
    modes = ["squid", "null", "echo", "pc", "pc-1m"]
    results = {m: [] for m in modes}
    tmp = H.TempDir(prefix="pc-bench-squid-")
    procs = H.Processes()
    try:
        lua = tmp.write("mix.lua", LUA)
        origin_port, nginx_pid = start_nginx(tmp, procs, H)
        for rnd in range(args.rounds):
            order = modes if rnd % 2 == 0 else list(reversed(modes))
            for mode in order:
                sub = H.TempDir(prefix=f"pc-bench-{mode}-")
                p2 = H.Processes()
                try:
                    directives = [("MaxHtmlBytes", "1M")] if mode == "pc-1m" else []
                    extra = f"Service null {null_so}\n"
                    ic = cicap.start_cicap(sub, p2, directives, extra_conf=extra, children=2, threads=10, echo=True)
                    sq = S.start_squid(sub, p2, ic.port, origin_port, ["intranet"])
                    text = squid_variant(open(sq.conf).read(), mode)
                    p2.stop_all()  # restart c-icap and Squid with the variant config
                    ic = cicap.start_cicap(sub, p2, directives, extra_conf=extra, children=2, threads=10, echo=True)
                    conf_text = re.sub(r"icap://127\.0\.0\.1:\d+/", f"icap://127.0.0.1:{ic.port}/", text)
                    sub.write("squid.conf", conf_text)
                    sqp = p2.start([H.find_binary("squid"), "-N", "-f", sub.join("squid.conf")],
                                   log_path=sub.join("squid.out"))
                    H.wait_for_port(sq.port, proc=sqp, what="squid")
                    time.sleep(1.0)
                    run_wrk(sq.port, 2, args.conns, lua)  # warm-up
                    roots = {"squid": [sqp.pid], "c-icap": [ic.proc.pid], "nginx": [nginx_pid]}
                    before = {k: cpu_seconds(v) for k, v in roots.items()}
                    r = run_wrk(sq.port, args.seconds, args.conns, lua)
                    r["cpu_us"] = {k: (cpu_seconds(v) - before[k]) * 1e6 / max(r["requests"], 1)
                                   for k, v in roots.items()}
                    ev = len(cicap.read_events(ic.event_log)) if mode.startswith("pc") else 0
                    r["events"] = ev
                    results[mode].append(r)
                    cpu = "  ".join(f"{k} {v:.1f}" for k, v in r["cpu_us"].items())
                    print(f"round {rnd + 1} {mode:6s} {r['rps']:8.0f} req/s  p99 {r['p99_ms']} ms  "
                          f"non-2xx {r['non2xx']}/{r['requests']}  events {ev}  errors '{r['socket_errors']}'  "
                          f"CPU us/req: {cpu}", flush=True)
                finally:
                    p2.stop_all()
                    sub.cleanup()
    finally:
        procs.stop_all()
        tmp.cleanup()
    med = {m: statistics.median(x["rps"] for x in results[m]) for m in modes}
    print("median req/s: " + ", ".join(f"{m} {med[m]:.0f}" for m in modes))
    # Paired per round: each service's ratio to Squid alone in the same round.
    for m in ("null", "echo", "pc", "pc-1m"):
        ratios = [results[m][i]["rps"] / results["squid"][i]["rps"] for i in range(len(results[m]))]
        cpu = {k: statistics.median(x["cpu_us"][k] for x in results[m]) for k in ("squid", "c-icap", "nginx")}
        print(f"{m:6s} / no ICAP, per round: " + " ".join(f"{x:.3f}" for x in ratios) +
              f"  median {statistics.median(ratios):.3f};  CPU us/req squid {cpu['squid']:.1f} "
              f"c-icap {cpu['c-icap']:.1f} nginx {cpu['nginx']:.1f}")
    pc_minus_null = [results["pc"][i]["rps"] / results["squid"][i]["rps"] -
                     results["null"][i]["rps"] / results["squid"][i]["rps"] for i in range(len(results["pc"]))]
    print("promptcause ratio - null ratio, per round: " + " ".join(f"{x:+.3f}" for x in pc_minus_null) +
          f" (target >= -0.03); promptcause / srv_echo {med['pc'] / med['echo']:.2f}x, "
          f"1 MiB read-on / srv_echo {med['pc-1m'] / med['echo']:.2f}x")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"results": results, "median_rps": med}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
