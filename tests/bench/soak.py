#!/usr/bin/env python3
"""soak -- push a mixed browser workload through Squid + c-icap + promptcause
and check that nothing leaks, crashes, changes a byte or loses an event.

The chain: soakload (tests/bench/soakload.c, compiled here with cc) -> Squid
(tests/integration/squid.py, bypass=on as deployed, plus on-overload=wait so
that no transaction skips the service unnoticed) -> c-icap with the built
module (2 children, 10 threads each, a small StoreBytes so the correlation
store runs at its bound) -> nginx as the origin (the Python test origin tops
out at a few hundred requests a second; nginx serves a generated site and
answers every 401/407 shape from its config).

The workload is visits, as a browser makes them, each with new URLs ("{k}" is
the visit number): an HTML page and its images (one of them a Basic 401, so
an embedded-denied event with the page as parent), the same gzip-encoded, a
300 KB page beyond Squid's 64 KiB preview (echoed by the service) with a 401
image at its end, an NTLM handshake on one connection (anonymous 401, type-2
handshake step -- counted, not logged --, refused type-3), and a Digest page, a
.shtml handler, a challenge-less 401 and a 407. Each connection binds its own
127.0.0.x address, so the service sees one client per connection.

Checks (each a line of the report; any failure makes the exit status 1):
- every answer has the origin's status and byte-identical body (soakload
  compares with the site's files);
- the event log has exactly one line per 401/407 that should be logged (all
  except the NTLM type-2 steps), every line valid JSON;
- the service saw every 401/407 (its "401 responses" + "407 responses"
  counters equal what the client received): nothing was bypassed;
- the correlation store is at its bound (evictions > 0) and its mapping is
  StoreBytes in every child;
- c-icap child RSS, sampled from /proc every few seconds: growth after the
  warm-up stays under --rss-slack-kb;
- no "did not exit normally" / "signaled" in c-icap's server log, the same
  child PIDs at the end as at the start, no event-log write or internal errors.

Usage: soak.py [--requests N] [--connections N] [--json PATH] [--keep]
Needs a built tree (PC_TOP_BUILDDIR, default ../../ from here), squid, c-icap,
nginx and a C compiler. Exit 0 pass, 1 fail, 77 skip (a tool missing).
"""
import argparse
import base64
import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import pcharness as H  # noqa: E402
import squid as S  # noqa: E402
import origin as O  # noqa: E402  (NTLM messages)

STORE_BYTES = 256 * 1024
HOSTS = ["intranet", "www.example.test"]
I = "http://intranet"
W = "http://www.example.test"
DOC = ["Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
       "Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate"]
IMG = ["Accept: image/avif,image/webp,image/*,*/*;q=0.8", "Sec-Fetch-Dest: image",
       "Sec-Fetch-Mode: no-cors"]

# Fixed type-2 challenge: nginx answers every NTLM type-1 with it.
TYPE2 = O.b64(O.ntlm_type2(challenge=b"\x01\x23\x45\x67\x89\xab\xcd\xef"))
TYPE1 = O.b64(O.ntlm_type1())
TYPE3 = O.b64(O.ntlm_type3("CORP", "alice", "WS01"))

BODIES = {
    "denied": b"<html><body><h1>401 Unauthorized</h1></body></html>\n",
    "ntlm": b"<html><body><h1>401.1 Logon failed</h1></body></html>\n",
    "proxy": b"<html><body><h1>407 Proxy Authentication Required</h1></body></html>\n",
}


def page_html(title, n_public=5):
    imgs = "\n".join(f'<img src="{c}.gif" alt="{c}">' for c in "abcde"[:n_public])
    return O.page(title, imgs + '\n<p>text</p>\n<img src="s1.gif" alt="protected">')


def big_html():
    row = b"<p>" + b"lorem ipsum dolor sit amet " * 3 + b"</p>\n"
    filler = (row * (300000 // len(row) + 1)).decode()
    return O.page("big", filler + '<img src="a.gif"><img src="s1.gif" alt="protected, past the preview">')


def write_site(d):
    os.makedirs(d, exist_ok=True)
    files = {
        "page.html": page_html("soak page"),
        "big.html": big_html(),
        "img.gif": O.GIF,
        **{f"{k}.txt": v for k, v in BODIES.items()},
    }
    files["page.html.gz"] = gzip.compress(files["page.html"], mtime=0)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(d, name), 0o644)
    os.chmod(d, 0o755)
    return {name: os.path.join(d, name) for name in files}


def nginx_conf(tmp, port, site):
    def ret(status, body, headers):
        hs = "".join(f"        add_header {n} {v} always;\n" for n, v in headers)
        text = BODIES[body].decode().replace("\n", "\\n")
        return f"{hs}        default_type text/html;\n        return {status} \"{text}\";\n"
    r0 = ret(401, "denied", [("WWW-Authenticate", "'Basic realm=\"secure\"'")])
    r1 = ret(401, "ntlm", [("WWW-Authenticate", "$ntlm1"), ("WWW-Authenticate", "$ntlm2")])
    r2 = ret(401, "denied", [("WWW-Authenticate", "'Digest realm=\"digest\", qop=\"auth\", nonce=\"MTIzNDU2Nzg5MA==\", algorithm=MD5'")])
    r3 = ret(401, "denied", [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])
    r4 = ret(401, "denied", [])
    r5 = ret(407, "proxy", [("Proxy-Authenticate", "'Basic realm=\"parent\"'")])
    return f"""# generated by tests/bench/soak.py
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/nginx-error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server_tokens off;
    map $http_authorization $ntlm1 {{ "~^NTLM TlRMTVNTUAAB" "NTLM {TYPE2}"; default "Negotiate"; }}
    map $http_authorization $ntlm2 {{ "~^NTLM TlRMTVNTUAAB" ""; default "NTLM"; }}
    server {{
        listen 127.0.0.1:{port};
        root {site};
        location ~ ^/p/\\d+/index\\.html$ {{
            types {{ }} default_type text/html;
            try_files /page.html =404;
        }}
        location ~ ^/big/\\d+/index\\.html$ {{
            types {{ }} default_type text/html;
            try_files /big.html =404;
        }}
        location ~ ^/gz/\\d+/index\\.html$ {{
            types {{ }} default_type text/html;
            add_header Content-Encoding gzip;
            try_files /page.html.gz =404;
        }}
        location ~ ^/(p|gz|big)/\\d+/[a-e]\\.gif$ {{
            types {{ }} default_type image/gif;
            try_files /img.gif =404;
        }}
        location ~ ^/(p|gz|big)/\\d+/s\\d\\.gif$ {{
{r0}        }}
        location /ntlm/ {{
{r1}        }}
        location /digest/ {{
{r2}        }}
        location ~ \\.shtml$ {{
{r3}        }}
        location /nochallenge/ {{
{r4}        }}
        location /proxy/ {{
{r5}        }}
    }}
}}
"""


def script(files):
    """The visit script for soakload: (name, weight, [(url, status, body file, logged, headers)])."""
    def ref(url):
        return [f"Referer: {url}"]
    p, gz, big = f"{I}/p/{{k}}/", f"{I}/gz/{{k}}/", f"{I}/big/{{k}}/"
    visits = [
        ("page", 10, [(p + "index.html", 200, "page.html", 0, DOC)]
         + [(p + f"{c}.gif", 200, "img.gif", 0, IMG + ref(p + "index.html")) for c in "abcde"]
         + [(p + "s1.gif", 401, "denied.txt", 1, IMG + ref(p + "index.html"))]),
        ("gzip", 3, [(gz + "index.html", 200, "page.html.gz", 0, DOC + ["Accept-Encoding: gzip"])]
         + [(gz + f"{c}.gif", 200, "img.gif", 0, IMG + ref(gz + "index.html")) for c in "ab"]
         + [(gz + "s1.gif", 401, "denied.txt", 1, IMG + ref(gz + "index.html"))]),
        ("big", 1, [(big + "index.html", 200, "big.html", 0, DOC),
                    (big + "a.gif", 200, "img.gif", 0, IMG + ref(big + "index.html")),
                    (big + "s1.gif", 401, "denied.txt", 1, IMG + ref(big + "index.html"))]),
        ("ntlm", 1, [(f"{W}/ntlm/{{k}}.html", 401, "ntlm.txt", 1, DOC),
                     (f"{W}/ntlm/{{k}}.html", 401, "ntlm.txt", 0, DOC + [f"Authorization: NTLM {TYPE1}"]),
                     (f"{W}/ntlm/{{k}}.html", 401, "ntlm.txt", 1, DOC + [f"Authorization: NTLM {TYPE3}"])]),
        ("misc", 1, [(f"{I}/digest/{{k}}.html", 401, "denied.txt", 1, DOC),
                     (f"{I}/h/{{k}}/app.shtml", 401, "denied.txt", 1, DOC),
                     (f"{I}/nochallenge/{{k}}.html", 401, "denied.txt", 1, DOC),
                     (f"{I}/proxy/{{k}}.html", 407, "proxy.txt", 1, DOC)]),
    ]
    lines = []
    for name, weight, reqs in visits:
        # NTLM pins Squid's connection to the origin: close it after the visit.
        lines.append(f"visit\t{name}\t{weight}" + ("\tclose" if name == "ntlm" else ""))
        for url, status, body, logged, hdrs in reqs:
            lines.append("\t".join(["req", url, str(status), files[body], str(logged)] + hdrs))
    return "\n".join(lines) + "\n"


def build_client(tmp):
    out = os.path.join(tmp.path, "soakload")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-std=gnu11", "-pthread", "-o", out, os.path.join(HERE, "soakload.c")],
                   check=True)
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else None
    except OSError:
        return None


def store_size_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"promptcause-corrstore.*\n(?:.*\n)*?Size:\s+(\d+) kB", text)
    return int(m.group(1)) if m else None


def info_stats(port):
    import icapclient as C
    r = C.reqmod(port, "GET http://stats/ HTTP/1.1\nHost: stats\n")
    text = (r.body or b"").decode("latin-1")
    part = text.split("promptcause Statistics", 1)
    stats = {}
    if len(part) == 2:
        for line in part[1].splitlines():
            name, sep, value = line.partition(" : ")
            if sep and value.strip().isdigit():
                stats[name.strip()] = int(value)
    return stats


def count_lines(path):
    """(lines, bad lines) of the event log: every line must be one JSON object."""
    n = bad = 0
    with open(path, "rb") as f:
        for line in f:
            n += 1
            try:
                json.loads(line)
            except ValueError:
                bad += 1
    return n, bad


def run_soak(requests, connections=16, rss_slack_kb=8192, sample_every=5.0, keep=False, log=print):
    """Run the soak; returns (result dict, problems list). Raises FileNotFoundError
    when a tool is missing."""
    import cicap
    for tool in ("squid", "c-icap", "nginx"):
        if H.find_binary(tool) is None:
            raise FileNotFoundError(f"{tool} not installed")
    if not os.path.exists(H.MODULE):
        raise FileNotFoundError(f"module not built ({H.MODULE})")
    tmp = H.TempDir(prefix="pc-soak-")
    procs = H.Processes()
    problems = []
    res = {"requests_asked": requests, "connections": connections, "store_bytes": STORE_BYTES}
    try:
        client = build_client(tmp)
        files = write_site(tmp.join("site"))
        oport = H.free_port()
        nconf = tmp.write("nginx.conf", nginx_conf(tmp.path, oport, tmp.join("site")))
        nginx = procs.start([H.find_binary("nginx"), "-c", nconf, "-p", tmp.path], log_path=tmp.join("nginx.out"))
        H.wait_for_port(oport, proc=nginx, what="nginx")
        icap = cicap.start_cicap(tmp, procs, [("StoreBytes", str(STORE_BYTES))], children=2, threads=10)
        sq = S.start_squid(tmp, procs, icap.port, oport, HOSTS, max_conn=20,
                           service_options="on-overload=wait")
        script_path = tmp.write("soak.script", script(files))
        kids0 = H.children_of(icap.proc.pid)
        res["children"] = kids0

        samples = []  # (seconds, {pid: rss kB}, squid rss)
        stop = threading.Event()
        t0 = time.monotonic()

        def sampler():
            while True:
                samples.append((round(time.monotonic() - t0, 1), {p: rss_kb(p) for p in kids0},
                                rss_kb(sq.proc.pid)))
                if stop.wait(sample_every):
                    samples.append((round(time.monotonic() - t0, 1), {p: rss_kb(p) for p in kids0},
                                    rss_kb(sq.proc.pid)))
                    return
        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        log(f"soak: {requests} requests over {connections} connections; c-icap children {kids0}")
        run = subprocess.run([client, str(sq.port), script_path, str(connections), str(requests),
                              str(connections)], capture_output=True, text=True)
        stop.set()
        th.join()
        if run.stderr:
            log(run.stderr.rstrip())
        summary = dict(kv.split("=", 1) for kv in run.stdout.split())
        res["client"] = summary
        n_ok = int(summary.get("ok", 0))
        n_total = int(summary.get("requests", 0))
        mism = int(summary.get("mismatches", 0))
        io = int(summary.get("io_errors", 0))
        logged_expected = int(summary.get("logged_expected", 0))
        res.update(requests=n_total, seconds=float(summary.get("seconds", 0)), rps=float(summary.get("rps", 0)),
                   mismatches=mism, io_errors=io)
        if n_total != requests or mism or io:
            problems.append(f"{n_total} answered of {requests}; {mism} differ from the origin, {io} got no answer")

        # Events: one line per logged 401/407, all JSON.
        want_events = logged_expected
        got = H.wait_for(lambda: (lambda n: n if n[0] >= want_events else None)(count_lines(icap.event_log)),
                         timeout=10) or count_lines(icap.event_log)
        res["events"], res["events_expected"], res["event_lines_bad"] = got[0], want_events, got[1]
        if got[0] != want_events or got[1]:
            problems.append(f"event log has {got[0]} lines ({got[1]} not JSON), want {want_events}")

        # The service saw every 401/407 (on-overload=wait: nothing bypassed).
        st = info_stats(icap.port)
        res["stats"] = st
        seen = st.get("401 responses", 0) + st.get("407 responses", 0)
        sent = int(summary.get("status_401", 0)) + int(summary.get("status_407", 0))
        res["auth_responses"], res["auth_responses_seen_by_service"] = sent, seen
        if seen != sent:
            problems.append(f"the service saw {seen} 401/407s, the client got {sent}: some were bypassed")
        for k in ("event log write errors", "internal errors", "html decode errors", "store errors"):
            if st.get(k, 0):
                problems.append(f"statistics: {k} = {st.get(k)}")
        if st.get("store evictions", 0) <= 0:
            problems.append("correlation store never reached its bound (no evictions)")
        sizes = {p: store_size_kb(p) for p in kids0}
        res["store_mapping_kb"] = sizes
        if any(v != STORE_BYTES // 1024 for v in sizes.values()):
            problems.append(f"store mapping sizes {sizes}, want {STORE_BYTES // 1024} kB")

        # Crashes and RSS.
        with open(icap.server_log, errors="replace") as f:
            crashes = [l.strip() for l in f if re.search(r"did not exit normally|signaled", l)]
        kids1 = H.children_of(icap.proc.pid)
        res["children_end"] = kids1
        if crashes or kids1 != kids0:
            problems.append(f"c-icap children changed {kids0} -> {kids1}; server log: {crashes[:3]}")
        warm = samples[min(len(samples) - 1, max(1, len(samples) // 10))]
        last = samples[-1]
        res["rss_kb"] = {str(p): {"start": samples[0][1].get(p), "warm": warm[1].get(p), "end": last[1].get(p),
                                  "max": max((s[1].get(p) or 0) for s in samples)} for p in kids0}
        res["squid_rss_kb"] = {"start": samples[0][2], "end": last[2]}
        res["rss_samples"] = [(s[0], [s[1].get(p) for p in kids0]) for s in samples]
        for p in kids0:
            w, e = warm[1].get(p), last[1].get(p)
            if w is None or e is None:
                problems.append(f"child {p}: RSS not readable (gone?)")
            elif e - w > rss_slack_kb:
                problems.append(f"child {p}: RSS grew {e - w} kB after warm-up ({w} -> {e} kB), "
                                f"allowed {rss_slack_kb}")
        return res, problems
    finally:
        procs.stop_all()
        if keep:
            sys.stderr.write(f"kept {tmp.path}\n")
        else:
            tmp.cleanup()


def report(res, problems, out=print):
    out(f"requests {res.get('requests')} in {res.get('seconds')} s ({res.get('rps')} req/s) over "
        f"{res.get('connections')} connections; mismatches {res.get('mismatches')}, no answer {res.get('io_errors')}")
    c = res.get("client", {})
    out("statuses: " + ", ".join(f"{k[7:]}={v}" for k, v in c.items() if k.startswith("status_")))
    out(f"events {res.get('events')} (expected {res.get('events_expected')}; bad lines "
        f"{res.get('event_lines_bad')}); 401/407 answered {res.get('auth_responses')}, seen by the service "
        f"{res.get('auth_responses_seen_by_service')}")
    st = res.get("stats", {})
    out("service: " + ", ".join(f"{k} {v}" for k, v in st.items()))
    out(f"store mapping kB per child: {res.get('store_mapping_kb')}")
    for p, r in (res.get("rss_kb") or {}).items():
        out(f"child {p} RSS kB: start {r['start']}, after warm-up {r['warm']}, end {r['end']}, max {r['max']}")
    out(f"squid RSS kB: {res.get('squid_rss_kb')}")
    out(f"children {res.get('children')} -> {res.get('children_end')}")
    for p in problems:
        out(f"FAIL: {p}")
    out("PASS" if not problems else f"{len(problems)} problem(s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rss-slack-kb", type=int, default=8192)
    ap.add_argument("--sample-every", type=float, default=5.0)
    ap.add_argument("--json", help="write the full result here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    try:
        res, problems = run_soak(a.requests, a.connections, a.rss_slack_kb, a.sample_every, a.keep)
    except FileNotFoundError as e:
        print(f"SKIP: {e}")
        return H.SKIP
    report(res, problems)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({**res, "problems": problems}, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
