"""test_failure -- what happens to users and to the service when things go wrong.

An ICAP service sits in every user's path, so each failure below is run for
real and judged by what the user gets and what the administrator sees:

- c-icap killed (SIGKILL, whole process group) in the middle of a load through
  Squid: with `bypass=on` every request still gets the origin's status and
  byte-identical body; Squid's access log shows the bypassed 401s without
  X-Prompt-* fields and its cache.log says the service is down.
- EventLog on a full device (/dev/full via a symlink, and a full tmpfs when
  mounting is allowed): every write error is counted in c-icap's statistics,
  said once in the server log, and every 401 is still answered with its
  X-Prompt-* headers.
- `reconfigure` on c-icap's command socket under load: no request fails, and
  the new configuration applies (a changed EventLog path is used).
- very large headers (a 60 KB WWW-Authenticate, 1,000 header lines) and bodies
  (a 10 MB page, a 10 MB 401 body) pass through Squid and the service unchanged.
- slowloris-style ICAP bodies: senders that pause longer than c-icap's Timeout
  are cut off and their threads come back; while slow senders hold some
  threads, other requests are answered at once.
- log injection: CR, LF, quotes, backslashes and escape bytes in a URL, a
  Referer, a realm and an NTLM identity end up as one valid JSON line with the
  text escaped, and the X-Prompt-* headers carry no control character.

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402

http.client._MAXHEADERS = 2000  # the 1,000-header case; the stdlib stops at 100
import origin as O  # noqa: E402
import squid as S  # noqa: E402

HOSTS = ["intranet", "www.example.test"]
I = "http://intranet"
DOC = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
       "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}
IMG = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8",
       "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors", "Referer": f"{I}/index.html"}


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]


# What the origin answers, by path: (status, body). Bodies are known on the
# origin side, so "byte-identical" is checked against them, not against a
# second fetch.
def expected(path_query):
    path = urlsplit(path_query).path
    q = urlsplit(path_query).query
    if path in ("/", "/index.html"):
        return 200, O.INDEX
    if path == "/plain.html":
        return 200, O.PLAIN
    if path == "/big.html":
        size = int(re.search(r"size=(\d+)", q).group(1)) if "size=" in q else 200000
        return 200, O.big_page(size)
    if path.startswith("/public/"):
        return 200, O.GIF
    if path.startswith("/secure/"):
        return 401, O.DENIED
    if path.startswith("/malformed/"):
        size = int(re.search(r"size=(\d+)", q).group(1)) if "size=" in q else 2000
        return 401, O.malformed_body(size)
    if path.startswith("/ntlm/"):
        return 401, O.DENIED
    if path.startswith("/parent-proxy/"):
        return 407, O.page("407 Proxy Authentication Required", "<p>parent proxy</p>")
    if path.startswith("/huge-challenge/") or path.startswith("/many-headers/"):
        return (200, O.PLAIN) if "status=200" in q else (401, O.DENIED)
    raise KeyError(path_query)


# The mixed workload of the load-based checks: pages through the service,
# 401s and a 407 through the service, images straight through, one page
# beyond the 64 KiB preview (echoed by the service).
MIX = [
    ("/index.html", DOC), ("/public/ok.gif", IMG), ("/secure/logo.gif", IMG),
    ("/plain.html", DOC), ("/public/a.gif", IMG), ("/ntlm/index.html", DOC),
    ("/big.html?size=200000", DOC), ("/secure/report.html", DOC),
    ("/parent-proxy/x.html", DOC), ("/malformed/m.html?size=3000", DOC),
]


class Chain:
    """origin + c-icap (promptcause) + Squid, in one temp dir."""

    def __init__(self, cicap, directives=(), children=2, threads=10, squid_extra="",
                 service_options="", cicap_extra=""):
        self.tmp = H.TempDir(prefix="pc-fail-")
        self.procs = H.Processes()
        self.origin = None
        try:
            O.Origin.request_queue_size = 128
            self.origin = O.start_origin()
            self.icap = cicap.start_cicap(self.tmp, self.procs, directives, extra_conf=cicap_extra,
                                          children=children, threads=threads)
            self.squid = S.start_squid(self.tmp, self.procs, self.icap.port, self.origin.server_port,
                                       HOSTS, extra=squid_extra.replace("{tmp}", self.tmp.path), max_conn=children * threads,
                                       service_options=service_options)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.procs.stop_all()
        if self.origin is not None:
            self.origin.shutdown()
        self.tmp.cleanup()

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.squid.port, timeout=timeout)


def get(conn, url, headers):
    conn.request("GET", url, headers={"Host": urlsplit(url).netloc,
                                      "User-Agent": "Mozilla/5.0 (promptcause failure)", **headers})
    r = conn.getresponse()
    return r.status, r.getheaders(), r.read()


def check_answer(url, status, body):
    """[] when (status, body) is what the origin sent for url, else one problem."""
    want_status, want_body = expected(url[len(I):])
    if status != want_status or body != want_body:
        return [f"{url}: got {status} {len(body)} B sha {sha(body)}, origin sent {want_status} "
                f"{len(want_body)} B sha {sha(want_body)}"]
    return []


RETRIES = [0]  # requests resent after a keep-alive close (see load)


def load(chain, workers, per_worker, on_progress=None, pause=0.0, record=None):
    """workers keep-alive clients each sending per_worker requests of MIX.
    Returns (answers, problems); on_progress(n_done) is called after each
    answer; record (a list) gets (start, end, url, problems, worker) per request."""
    done = [0]
    lock = threading.Lock()

    def worker(w):
        problems = []
        answers = 0
        c = chain.conn()
        for i in range(per_worker):
            path, hdrs = MIX[(w * 7 + i) % len(MIX)]
            url = I + path
            t0 = time.monotonic()
            try:
                try:
                    st, _, body = get(c, url, hdrs)
                except (http.client.RemoteDisconnected, ConnectionResetError):
                    # Squid closed the keep-alive connection as the request
                    # went out (after a page an ICAP service echoed, ~1 %: a
                    # Squid 5.7 race, docs/CORRELATION.md; the close arrives as
                    # EOF or, if our request was already in, as a reset);
                    # browsers resend an idempotent request once on a new
                    # connection (RFC 9112 9.3.1), so do we, and count it.
                    with lock:
                        RETRIES[0] += 1
                    c.close()
                    c = chain.conn()
                    st, _, body = get(c, url, hdrs)
            except (OSError, http.client.HTTPException) as e:
                p = [f"{url}: no answer ({e!r})"]
                problems += p
                if record is not None:
                    record.append((t0, time.monotonic(), url, p, w))
                c.close()
                c = chain.conn()
                continue
            answers += 1
            p = check_answer(url, st, body)
            problems += p
            if record is not None:
                record.append((t0, time.monotonic(), url, p, w))
            with lock:
                done[0] += 1
                n = done[0]
            if on_progress:
                on_progress(n)
            if pause:
                time.sleep(pause)
        c.close()
        return answers, problems

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(worker, range(workers)))
    return sum(a for a, _ in results), [p for _, ps in results for p in ps]


def info_stats(port):
    import cicap
    return cicap.info_stats(port)


class Results:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, fn):
        t0 = time.monotonic()
        try:
            problems = fn() or []
        except Exception:
            problems = [traceback.format_exc()]
        dt = time.monotonic() - t0
        if problems:
            self.failed.append(name)
            print(f"FAIL: {name} ({dt:.1f}s)")
            for p in problems[:20]:
                print(f"    {p}")
            if len(problems) > 20:
                print(f"    ... and {len(problems) - 20} more")
        else:
            self.passed += 1
            print(f"ok: {name} ({dt:.1f}s)")
        sys.stdout.flush()


def count_in(path, pattern):
    try:
        with open(path, errors="replace") as f:
            return len(re.findall(pattern, f.read()))
    except OSError:
        return 0


# ---- c-icap killed mid-load ---------------------------------------------------

def server_sockets(port):
    """(connections, listening) on 127.0.0.1:port, server side, from
    /proc/net/tcp: ESTABLISHED sockets with that local port (accepted by
    c-icap or waiting in its accept queue) and LISTEN ones."""
    conns = listening = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) != port:
                continue
            if fields[3] == "01":
                conns += 1
            elif fields[3] == "0A":
                listening += 1
    return conns, listening


def killed_mid_load(cicap, res):
    def run():
        RETRIES[0] = 0
        chain = Chain(cicap)
        try:
            problems = []
            kill_at = 150
            killed = threading.Event()
            kill_lock = threading.Lock()
            at = {}  # "kill", "kill_wall", "conns", "gone", "gone_wall"

            def watch_gone():
                # SIGKILL is not the end of c-icap: its sockets close only when
                # the last process has torn down its memory (tens of ms under
                # ASan), and until then its port still completes connections
                # that then fail. The end is when no socket is left on the port.
                while server_sockets(chain.icap.port) != (0, 0):
                    time.sleep(0.002)
                at["gone"], at["gone_wall"] = time.monotonic(), time.time()

            watcher = threading.Thread(target=watch_gone, daemon=True)

            def progress(n):
                with kill_lock:
                    if n < kill_at or killed.is_set():
                        return
                    # Stopped first, so the connections counted are the ones
                    # that die with it.
                    os.killpg(chain.icap.proc.pid, signal.SIGSTOP)
                    at["conns"] = server_sockets(chain.icap.port)[0]
                    at["kill"], at["kill_wall"] = time.monotonic(), time.time()
                    os.killpg(chain.icap.proc.pid, signal.SIGKILL)
                    killed.set()
                    watcher.start()

            record = []
            workers = 6
            answers, _ = load(chain, workers, 80, progress, pause=0.005, record=record)
            if not killed.is_set():
                return ["c-icap was never killed"]
            chain.icap.proc.wait(timeout=30)
            watcher.join(timeout=30)
            if "gone" not in at:
                return [f"c-icap's port {chain.icap.port} still has sockets 30 s after the kill"]
            kt, gone = at["kill"], at["gone"]
            # The transition: from the kill until Squid could have read the
            # closes of all c-icap's connections (0.5 s after the last one).
            # Requests that were inside c-icap when it died cannot be bypassed
            # once the service had begun echoing their body (Squid no longer
            # has the whole virgin body: cut short), or when Squid was writing
            # to a connection that had just died (500); nor can requests
            # Squid handed to a dying c-icap or to a pooled connection whose
            # close it had not read yet. Every other request must be the
            # origin's, and every request begun after the transition is.
            settle = gone + 0.5
            in_flight = [r for r in record if r[0] <= settle and r[1] >= kt]
            failed = [r for r in record if r[3]]
            for r in failed:
                if r not in in_flight:
                    problems += r[3]
            wrong = [r for r in failed if not re.search(r"got 500 |IncompleteRead", r[3][0])]
            if wrong:
                problems.append(f"failures other than Squid's 500 or a cut-short echo: {wrong[:3]}")
            # No bound on their number beyond that: each of c-icap's processes
            # closes its connections when its own teardown ends, so a client
            # whose request failed at one child's end can have its next one
            # handed to another child still dying (seen under ASan: six
            # failures with four connections open at the kill).
            at_kill = [r for r in failed if r[0] <= kt]
            # After the transition: a fresh round on new client connections,
            # every answer the origin's.
            time.sleep(max(0.0, settle - time.monotonic()))
            a2, p2 = load(chain, 3, 20)
            problems += p2
            # Squid's access log is the proof: a 401/407 answered through the
            # service carries X-Prompt-Cause; one Squid bypassed carries '-'.
            # Squid writes a line when a transaction ends, through a buffer:
            # wait for one line per answer.
            def gets():
                return [r for r in S.read_access_log(chain.squid.access_log) if r["method"] == "GET"]
            H.wait_for(lambda: len(gets()) >= answers + a2, timeout=30)
            rows = [r for r in gets() if r["code_status"][-3:] in ("401", "407")]
            before = [r for r in rows if float(r["time"]) < at["kill_wall"] - 0.05]
            after = [r for r in rows if float(r["time"]) > at["gone_wall"] + 0.5]
            unmarked_before = [r for r in before if r["x_prompt_cause"] == "-"]
            marked_after = [r for r in after if r["x_prompt_cause"] != "-"]
            if not before or unmarked_before:
                problems.append(f"{len(unmarked_before)} of {len(before)} 401/407s before the kill not adapted")
            if not after or marked_after:
                problems.append(f"{len(marked_after)} of {len(after)} 401/407s after the kill adapted?")
            print(f"    {RETRIES[0]} requests resent after Squid closed a keep-alive connection")
            print(f"    c-icap killed after {kill_at} answers holding {at['conns']} ICAP connections; its "
                  f"sockets were gone {gone - kt:.3f} s later")
            print(f"    {answers + a2} answers; {len(in_flight)} requests running at the kill or begun before "
                  f"0.5 s after c-icap was gone, {len(failed)} of them failed ({len(at_kill)} running at the "
                  f"kill): " + (", ".join(f"client {r[4]} {r[2][len(I):]} {r[0] - kt:+.3f}..{r[1] - kt:+.3f} s "
                                          f"({r[3][0].split(': ', 1)[1][:30]})" for r in failed) or "none"))
            print(f"    Squid access log: {len(before)} 401/407s before the kill, all with X-Prompt-Cause "
                  f"(e.g. {before[0]['code_status'] if before else '-'} {before[0]['x_prompt_cause'] if before else '-'}); "
                  f"{len(after)} after it, all bypassed: X-Prompt-Cause '-'")
            with open(chain.squid.cache_log, errors="replace") as f:
                icap_lines = [l.strip() for l in f if re.search(r"(?i)icap", l)]
            for l in icap_lines[:3]:
                print(f"    cache.log: {l[:150]}")
            return problems
        finally:
            chain.stop()
    res.check("c-icap killed mid-load: bypass=on serves every request not in flight at the kill", run)


# ---- EventLog on a full device ------------------------------------------------

BASIC_401 = ("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm=\"secure\"\n"
             "Content-Type: text/html\nContent-Length: {n}\n")


def icap_401(port, url, icap_headers=None, req_extra="", res_head=None, body=b"denied", dest="document"):
    import icapclient as C
    host = urlsplit(url).netloc
    req = f"GET {url} HTTP/1.1\nHost: {host}\nAccept: text/html\nSec-Fetch-Dest: {dest}\n{req_extra}"
    res_head = res_head if res_head is not None else BASIC_401.format(n=len(body))
    return C.respmod(port, req, res_head, body=body, preview=1024,
                     icap_headers=icap_headers or {"X-Client-IP": "10.9.8.7"})


def disk_full(cicap, res):
    def with_log(label, event_log_path, prepare=None):
        tmp = H.TempDir(prefix="pc-full-")
        procs = H.Processes()
        try:
            path = event_log_path(tmp)
            if prepare:
                prepare(tmp, path)
            icap = cicap.start_cicap(tmp, procs, [("EventLog", path)], children=1, threads=4)
            problems = []
            n = 25
            for i in range(n):
                r = icap_401(icap.port, f"{I}/secure/full-{i}.html")
                if r.status not in (200, 204) or r.header("X-Prompt-Cause") != "page-denied":
                    problems.append(f"401 #{i}: ICAP {r.status}, X-Prompt-Cause {r.header('X-Prompt-Cause')!r}")
            stats = info_stats(icap.port)
            errors = stats.get("event log write errors")
            said = H.wait_for(lambda: count_in(icap.server_log, r"cannot write event log"), timeout=3) or 0
            print(f"    {label}: {n} 401s answered; write errors counted {errors}; "
                  f"said {said}x in the server log")
            if errors != n:
                problems.append(f"{label}: event log write errors {errors}, want {n}")
            if said != 1:
                problems.append(f"{label}: server log says 'cannot write event log' {said} times, want 1:\n"
                                f"{H.tail(icap.server_log, 10)}")
            return problems
        finally:
            procs.stop_all()
            tmp.cleanup()

    def dev_full():
        def path(tmp):
            os.symlink("/dev/full", tmp.join("events.jsonl"))
            return tmp.join("events.jsonl")
        return with_log("/dev/full", path)
    res.check("EventLog on /dev/full: errors counted, said once, 401s still answered", dev_full)

    def tmpfs_full():
        mnt = None

        def path(tmp):
            nonlocal mnt
            mnt = tmp.join("small")
            os.mkdir(mnt)
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", mnt],
                               capture_output=True, text=True)
            if r.returncode != 0:
                mnt = None
                raise OSError(f"mount tmpfs: {r.stderr.strip()}")
            # Fill it: a regular file on a full filesystem fails with ENOSPC.
            fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while os.write(fd, b"x" * 4096) > 0:
                    pass
            except OSError:
                pass
            finally:
                os.close(fd)
            return os.path.join(mnt, "events.jsonl")
        try:
            return with_log("full tmpfs", path)
        except OSError as e:
            if "mount" in str(e):
                print(f"    note: {e}; full-tmpfs case skipped (/dev/full case stands)")
                return []
            raise
        finally:
            if mnt:
                subprocess.run(["umount", "-l", mnt], capture_output=True)
    res.check("EventLog on a full tmpfs: errors counted, said once, 401s still answered", tmpfs_full)


# ---- reconfigure under load ----------------------------------------------------

def reconfigure(cicap, res):
    def run():
        RETRIES[0] = 0
        chain = Chain(cicap, children=2, threads=5)
        try:
            problems = []
            ctl = chain.tmp.join("c-icap.ctl")
            new_log = chain.tmp.join("events-after-reload.jsonl")
            stop = threading.Event()
            reloads = []

            def reloader():
                time.sleep(1.0)
                # The reload reads the file again: point EventLog elsewhere.
                with open(chain.icap.conf) as f:
                    text = f.read()
                text = re.sub(r"(?m)^promptcause\.EventLog .*$", f"promptcause.EventLog {new_log}", text)
                with open(chain.icap.conf, "w") as f:
                    f.write(text)
                for _ in range(2):
                    # c-icap's CommandsSocket is a FIFO on Linux: `echo -n reconfigure > ctl`.
                    with open(ctl, "w") as f:
                        f.write("reconfigure")
                    reloads.append(time.monotonic())
                    time.sleep(1.5)
                stop.set()

            t = threading.Thread(target=reloader)
            t.start()
            answers, problems = load(chain, 4, 150, pause=0.01)
            t.join()
            if answers != 600:
                problems.append(f"{answers} answers, want 600")
            # After the reloads the new children write the new EventLog.
            time.sleep(1.0)
            _, p2 = load(chain, 2, 10)
            problems += p2
            evs_new = H.wait_for(lambda: cicap.read_events(new_log), timeout=5) or []
            evs_old = cicap.read_events(chain.icap.event_log)
            said = count_in(chain.icap.server_log, r"(?i)reconfigur")
            print(f"    {RETRIES[0]} requests resent after Squid closed a keep-alive connection")
            print(f"    {answers} answers during 2 reloads, all from the origin; events: {len(evs_old)} in "
                  f"the old EventLog, {len(evs_new)} in the new one; server log mentions reconfigure {said}x")
            if not evs_new:
                problems.append("no event in the EventLog named by the reloaded configuration")
            crashed = count_in(chain.icap.server_log, r"did not exit normally|signaled")
            if crashed:
                problems.append(f"child crash in the server log:\n{H.tail(chain.icap.server_log, 10)}")
            if chain.icap.proc.poll() is not None:
                problems.append(f"c-icap exited ({chain.icap.proc.returncode}) after reconfigure")
            return problems
        finally:
            chain.stop()
    res.check("reconfigure twice under load: no request fails, the new EventLog is used", run)


# ---- very large headers and bodies ------------------------------------------

def large(cicap, res):
    def run():
        # Squid's default reply_header_max_size is 64 KB; a 60 KB challenge fits
        # under it, the raised limit leaves room for Squid's own headers.
        chain = Chain(cicap, squid_extra="reply_header_max_size 128 KB")
        try:
            problems = []
            c = chain.conn(timeout=60)
            cases = [
                ("60 KB WWW-Authenticate", f"{I}/huge-challenge/x.html?size=61440", 401, O.DENIED),
                ("1000 header lines on a 401", f"{I}/many-headers/x.html?n=1000", 401, O.DENIED),
                ("1000 header lines on a page", f"{I}/many-headers/p.html?n=1000&status=200", 200, O.PLAIN),
                ("10 MB page", f"{I}/big.html?size=10000000", 200, O.big_page(10000000)),
                ("10 MB 401 body", f"{I}/malformed/big.html?size=10000000", 401, O.malformed_body(10000000)),
            ]
            resent = 0
            for label, url, want_status, want_body in cases:
                t0 = time.monotonic()
                try:
                    try:
                        st, headers, body = get(c, url, DOC)
                    except (http.client.RemoteDisconnected, ConnectionResetError):
                        # Squid may close the keep-alive connection after a
                        # 10 MB adapted reply (seen 1 in ~5 runs; the Squid 5.7
                        # race of docs/CORRELATION.md); a browser resends an
                        # idempotent request once on a new connection
                        # (RFC 9112 9.3.1), and so do we.
                        resent += 1
                        c.close()
                        c = chain.conn(timeout=60)
                        st, headers, body = get(c, url, DOC)
                except (OSError, http.client.HTTPException) as e:
                    problems.append(f"{label}: no answer ({e!r})")
                    c = chain.conn(timeout=60)
                    continue
                dt = time.monotonic() - t0
                hdr = {k.lower(): v for k, v in headers}
                note = ""
                if "many-headers" in url:
                    n = sum(1 for k, _ in headers if k.lower().startswith("x-filler-"))
                    note = f", {n} filler headers"
                    if n != 1000:
                        problems.append(f"{label}: {n} X-Filler headers reached the client, want 1000")
                if "huge-challenge" in url:
                    wa = hdr.get("www-authenticate", "")
                    note = f", WWW-Authenticate {len(wa)} B"
                    if wa != 'Basic realm="' + "a" * 61440 + '"':
                        problems.append(f"{label}: WWW-Authenticate changed ({len(wa)} B)")
                print(f"    {label}: {st}, {len(body)} B in {dt:.2f}s{note}")
                if st != want_status or body != want_body:
                    problems.append(f"{label}: got {st} {len(body)} B sha {sha(body)}, want {want_status} "
                                    f"{len(want_body)} B sha {sha(want_body)}")
            c.close()
            print(f"    {resent} requests resent after Squid closed the keep-alive connection")
            # Squid writes its access log through a buffer: wait for every line.
            def gets():
                return [r for r in S.read_access_log(chain.squid.access_log) if r["method"] == "GET"]
            rows = H.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(gets()), timeout=10) or gets()
            evs = H.wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(
                cicap.read_events(chain.icap.event_log)), timeout=5) or cicap.read_events(chain.icap.event_log)
            by_path = {urlsplit(e["url"]).path: e for e in evs}
            for path, realm_len in (("/huge-challenge/x.html", 61440), ("/many-headers/x.html", 4),
                                    ("/malformed/big.html", None)):
                ev = by_path.get(path)
                if ev is None:
                    problems.append(f"no event for {path} (events: {[e.get('url') for e in evs]})")
                elif ev.get("cause") != "page-denied" or ev.get("prompt") != "basic":
                    problems.append(f"{path}: event cause {ev.get('cause')} prompt {ev.get('prompt')}")
                elif realm_len is not None:
                    print(f"    event for {path}: realm {len(ev.get('realm') or '')} chars")
            marked = [r["x_prompt_cause"] for r in rows]
            print(f"    Squid X-Prompt-Cause per request: {marked}")
            if len(marked) < 5 or marked[:2] != ["page-denied", "page-denied"] or marked[4] != "page-denied":
                problems.append(f"Squid access log X-Prompt-Cause {marked}, want page-denied on the 401s")
            crashed = count_in(chain.icap.server_log, r"did not exit normally|signaled")
            if crashed:
                problems.append(f"child crash in the server log:\n{H.tail(chain.icap.server_log, 10)}")
            return problems
        finally:
            chain.stop()
    res.check("60 KB challenge, 1000 header lines, 10 MB bodies: delivered unchanged, classified", run)


# ---- slowloris-style ICAP bodies --------------------------------------------

def slow_sender(port, pause, stop, result):
    """Send a RESPMOD head and then its body one byte per pause seconds (reading
    whatever c-icap answers meanwhile: it may start its answer early) until
    c-icap closes the connection or stop is set; result gets (seconds, how)."""
    body = b"<html>" + b"x" * 4000
    head = (f"RESPMOD icap://127.0.0.1:{port}/promptcause ICAP/1.0\r\nHost: 127.0.0.1\r\n"
            "Allow: 204\r\nEncapsulated: req-hdr=0, res-hdr={o1}, res-body={o2}\r\n\r\n")
    req = b"GET http://intranet/slow.html HTTP/1.1\r\nHost: intranet\r\n\r\n"
    resh = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body))
    head = head.format(o1=len(req), o2=len(req) + len(resh)).encode()
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(head + req + resh + b"%x\r\n" % len(body))
        for b in body:
            if stop.is_set():
                result.append((time.monotonic() - t0, "still open when the test ended"))
                return
            s.sendall(bytes([b]))
            deadline = time.monotonic() + pause
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    result.append((time.monotonic() - t0, "closed by c-icap"))
                    return
        result.append((time.monotonic() - t0, "whole body sent"))
    except OSError:
        result.append((time.monotonic() - t0, "reset by c-icap"))
    finally:
        s.close()


def slowloris(cicap, res):
    timeout_s = 2

    def run():
        tmp = H.TempDir(prefix="pc-slow-")
        procs = H.Processes()
        stop = threading.Event()
        threads = []
        try:
            # Timeout overrides the 30 s of cicap.py (c-icap keeps the last value).
            # MaxHtmlBytes above the body makes the service read the body itself,
            # the path where c-icap's Timeout applies per read. With the default
            # (the preview) and no Preview header, the service answers 204 at once
            # and c-icap discards the rest of the body on its own; we measured it
            # holding the thread for 8 s (Timeout 2 s, one byte per 6 s). Squid
            # always sends a preview, so that path is c-icap's, not ours.
            icap = cicap.start_cicap(tmp, procs, [("MaxHtmlBytes", "1M")], extra_conf=f"Timeout {timeout_s}",
                                     children=1, threads=4)
            problems = []

            def normal_latency():
                t0 = time.monotonic()
                r = icap_401(icap.port, f"{I}/secure/normal.html")
                if r.header("X-Prompt-Cause") != "page-denied":
                    problems.append(f"normal request: {r.status} {r.headers}")
                return time.monotonic() - t0

            # (a) Slow senders pausing longer than Timeout take every thread;
            # c-icap cuts them off after Timeout, and a normal request waits at
            # most about that long.
            results = []
            for _ in range(4):
                t = threading.Thread(target=slow_sender, args=(icap.port, timeout_s * 3, stop, results))
                t.start()
                threads.append(t)
            time.sleep(0.5)
            lat = normal_latency()
            for t in threads:
                t.join(timeout=timeout_s * 6)
            print(f"    4 senders pausing {timeout_s * 3}s (Timeout {timeout_s}s) on 4 threads: "
                  f"normal request answered in {lat:.2f}s; senders: "
                  + ", ".join(f"{how} after {dt:.1f}s" for dt, how in sorted(results)))
            if lat > timeout_s + 2.0:
                problems.append(f"normal request took {lat:.2f}s with slow senders on every thread "
                                f"(Timeout {timeout_s}s)")
            if len(results) != 4 or any(dt > timeout_s * 3 + 1.0 or "still open" in how
                                        for dt, how in results):
                problems.append(f"slow senders not cut off by Timeout: {results}")

            # (b) Senders that drip faster than Timeout keep their threads (c-icap
            # has no total-time limit); the other threads keep answering at once.
            results2 = []
            threads.clear()
            for _ in range(2):
                t = threading.Thread(target=slow_sender, args=(icap.port, timeout_s / 2, stop, results2))
                t.start()
                threads.append(t)
            time.sleep(0.5)
            lats = [normal_latency() for _ in range(20)]
            print(f"    2 senders dripping every {timeout_s / 2}s hold 2 of 4 threads; 20 normal requests "
                  f"meanwhile: max {max(lats):.3f}s")
            if max(lats) > 1.0:
                problems.append(f"normal requests slowed to {max(lats):.2f}s while 2 of 4 threads dripped")
            stop.set()
            for t in threads:
                t.join(timeout=timeout_s * 2)
            if procs.procs[0].poll() is not None:
                problems.append("c-icap exited")
            if count_in(tmp.join("server.log"), r"did not exit normally|signaled"):
                problems.append(f"child crash:\n{H.tail(tmp.join('server.log'), 10)}")
            return problems
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
            procs.stop_all()
            tmp.cleanup()
    res.check("slowloris ICAP bodies: cut off after Timeout, other requests answered", run)


# ---- log injection ------------------------------------------------------------

def injection(cicap, res):
    def run():
        tmp = H.TempDir(prefix="pc-inj-")
        procs = H.Processes()
        try:
            icap = cicap.start_cicap(tmp, procs, [], children=1, threads=4)
            problems = []
            evil = '"},{"injected":true}\\\x1b[31m\x07'
            cases = []
            # 1. URL and Referer with quotes, backslashes, escape bytes and a bare CR.
            url = f'{I}/secure/a"b\\c\x1b[2J\x7f\rd.gif'
            cases.append(("URL and Referer", url, dict(
                req_extra=f"Referer: {I}/page\"{evil}\r.html\n", dest="image")))
            # 2. A realm with the same bytes.
            realm_head = ("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm=\"x" + evil +
                          "\rX-Injected: yes\"\nContent-Length: 6\n")
            cases.append(("realm", f"{I}/secure/realm.html", dict(res_head=realm_head)))
            # 3. An NTLM type-3 whose domain and user carry CR LF and quotes (UTF-16 on
            # the wire: no HTTP parser in between stops them).
            t3 = O.ntlm_type3("CORP\r\nX-Evil: 1", 'al"ice\n{"v":2}', "WS\x00\x1b")
            ntlm_head = ("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: NTLM\nContent-Length: 6\n")
            cases.append(("NTLM identity", f"{I}/ntlm/inj.html", dict(
                req_extra=f"Authorization: NTLM {O.b64(t3)}\n", res_head=ntlm_head)))
            # 4. X-Authenticated-User from Squid (plain text, Squid's default):
            # an ICAP header cannot hold CR LF, but quotes and escape bytes.
            xau = 'bob"}\x1b[0m\x7f'
            cases.append(("X-Authenticated-User", f"{I}/secure/xau.html", dict(
                icap_headers={"X-Client-IP": "10.9.8.7", "X-Authenticated-User": xau})))

            for label, u, kw in cases:
                r = icap_401(icap.port, u, **kw)
                xh = [(n, v) for n, v in r.headers if n.lower().startswith("x-prompt")]
                bad = [n for n, _ in r.headers if n.lower() in ("x-injected", "x-evil")]
                names = [n for n, _ in xh]
                if bad or "X-Prompt-Cause" not in names:
                    problems.append(f"{label}: ICAP headers {r.headers}")
                for n, v in xh:
                    if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in v):
                        problems.append(f"{label}: {n} carries a control character: {v!r}")
                print(f"    {label}: ICAP {r.status}, X-Prompt headers {xh}")

            with open(icap.event_log, "rb") as f:
                raw = f.read()
            lines = raw.split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            if len(lines) != len(cases):
                problems.append(f"{len(lines)} event lines for {len(cases)} 401s:\n{raw[:2000]!r}")
            evs = []
            for ln in lines:
                if b"\r" in ln or any(b < 0x20 for b in ln):
                    problems.append(f"raw control byte in an event line: {ln[:300]!r}")
                try:
                    evs.append(json.loads(ln))
                except ValueError as e:
                    problems.append(f"not one JSON object per line ({e}): {ln[:300]!r}")
            for ev in evs:
                if set(ev) & {"injected"} or ev.get("v") != 1:
                    problems.append(f"injected key or changed version: {ev}")
            by_url = {e.get("url"): e for e in evs}
            ev = by_url.get(url)
            if ev is None:
                problems.append(f"event URL not kept as text: {[e.get('url') for e in evs]}")
            else:
                print(f"    URL case: event url {ev['url']!r} parent {ev.get('parent')!r}")
                if not ev.get("parent"):
                    problems.append(f"URL case: the Referer did not become the parent: {ev}")
            ntlm = next((e for e in evs if "/ntlm/" in (e.get("url") or "")), None)
            if ntlm is None:
                problems.append("no NTLM event")
            else:
                print(f"    NTLM case: event user {ntlm.get('user')!r}")
                if "CORP" not in (ntlm.get("user") or ""):
                    problems.append(f"NTLM identity not kept as escaped text: {ntlm.get('user')!r}")
            realm = next((e for e in evs if (e.get("url") or "").endswith("/realm.html")), None)
            if realm is not None:
                print(f"    realm case: event realm {realm.get('realm')!r}")
            xu = next((e for e in evs if (e.get("url") or "").endswith("/xau.html")), None)
            if xu is not None:
                print(f"    X-Authenticated-User case: event user {xu.get('user')!r}")
            if b"\\u001b" not in raw and b"\\u001B" not in raw:
                problems.append("ESC bytes not escaped as \\u001b in the event log (stripped or raw?)")
            return problems
        finally:
            procs.stop_all()
            tmp.cleanup()
    res.check("CR/LF, quotes and escapes in URL, Referer, realm, NTLM identity: one JSON line, "
              "clean X-Prompt headers", run)


def main():
    if H.find_binary("squid") is None or H.find_binary("c-icap") is None:
        print("SKIP: squid or c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    try:
        import cicap
    except ImportError as e:
        print(f"SKIP: tests/integration/cicap.py not available ({e})")
        return H.SKIP
    res = Results()
    only = os.environ.get("PC_FAILURE_ONLY", "")
    parts = [("inject", injection), ("full", disk_full), ("slow", slowloris), ("large", large),
             ("reconf", reconfigure), ("kill", killed_mid_load)]
    for name, fn in parts:
        if only and name not in only.split(","):
            continue
        fn(cicap, res)
    print(f"{res.passed} passed, {len(res.failed)} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(H.HARD_ERROR)
