#!/usr/bin/env python3
"""test_eventlog_batching.py -- event lines under load, through a real c-icap
with two children: batched writes (module/linering.c) must lose nothing.

1. A burst: 8 connections at once, 1,200 401s with distinct URLs. Every
   answered 401 has exactly one whole event line, within a second.
2. A crash: with EventLogDelay 8000 (lines held back 8 s), a burst, then
   every child is killed with SIGKILL. The held lines sit in shared memory;
   the main process writes them when it reaps the children -- all of them,
   within seconds, not after the 8 s.
3. A stop: the same burst, then c-icap is stopped with SIGTERM. The children
   write what waits as they stop: every answered 401 is there.
Exit 0 pass, 1 fail, 77 skip.
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import icapclient as C  # noqa: E402

CONNS = 8


def request(port, url):
    """One 401 RESPMOD; returns True when answered with an X-Prompt-Cause."""
    req = f"GET {url} HTTP/1.1\nHost: intranet\nUser-Agent: Mozilla/5.0\nSec-Fetch-Dest: document\n"
    res = "HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm=\"r\"\nContent-Length: 0\n"
    try:
        r = C.respmod(port, req, res, b"", preview=0, timeout=10.0)
    except (OSError, C.IcapError):
        return False
    return r.status in (200, 204) and r.header("X-Prompt-Cause") is not None


def load(port, tag, per_conn=None, stop=None):
    """CONNS threads sending 401s with distinct URLs; returns the answered URLs."""
    answered = [[] for _ in range(CONNS)]

    def run(i):
        n = 0
        while (per_conn is None or n < per_conn) and (stop is None or not stop.is_set()):
            url = f"http://intranet/{tag}/c{i}/r{n}"
            if request(port, url):
                answered[i].append(url)
            n += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CONNS)]
    for t in threads:
        t.start()
    return threads, answered


def urls_in_log(path):
    import cicap
    return [e.get("url") for e in cicap.read_events(path)]


def check_all_logged(path, answered, what, failures, exact):
    """Wait up to 5 s for every answered URL to be in the log (read_events
    raises on a torn line). exact: no URL may appear twice."""
    want = {u for per in answered for u in per}
    H.wait_for(lambda: want <= set(urls_in_log(path)), timeout=5.0, interval=0.1)
    logged = urls_in_log(path)
    missing = want - set(logged)
    counts = {}
    for u in logged:
        counts[u] = counts.get(u, 0) + 1
    twice = sum(1 for u in want if counts.get(u, 0) > 1)
    print(f"{what}: {len(want)} answered, {len(missing)} missing from the log, {twice} logged twice")
    if missing:
        failures.append(f"{what}: {len(missing)} answered 401s have no event, e.g. {sorted(missing)[:3]}")
    if exact and twice:
        failures.append(f"{what}: {twice} URLs logged more than once without any crash")
    return len(want)


def main():
    if H.find_binary("c-icap") is None:
        print("SKIP: c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    import cicap

    failures = []

    # 1: a burst with the default EventLogDelay.
    tmp = H.TempDir(prefix="pc-evbatch-")
    procs = H.Processes()
    try:
        icap = cicap.start_cicap(tmp, procs, [], children=2, threads=10)
        threads, answered = load(icap.port, "burst", per_conn=150)
        for t in threads:
            t.join()
        n = check_all_logged(icap.event_log, answered, "burst", failures, exact=True)
        if n != CONNS * 150:
            failures.append(f"burst: only {n} of {CONNS * 150} 401s answered")
        if len(urls_in_log(icap.event_log)) != n:
            failures.append(f"burst: {len(urls_in_log(icap.event_log))} lines for {n} answered 401s")
    finally:
        procs.stop_all()
        tmp.cleanup()

    # 2 and 3 hold lines back for 8 s, so that only the crash or stop
    # handling can have written them within the test's few seconds.
    for what in ("crash", "stop"):
        tmp = H.TempDir(prefix="pc-evbatch-")
        procs = H.Processes()
        try:
            icap = cicap.start_cicap(tmp, procs, [("EventLogDelay", "8000")],
                                     children=2, threads=10)
            kids = H.wait_for(lambda: (lambda k: k if len(k) >= 2 else None)(H.children_of(icap.proc.pid)),
                              timeout=10.0)
            threads, answered = load(icap.port, what, per_conn=8)
            for t in threads:
                t.join()
            t0 = time.monotonic()
            n = sum(len(a) for a in answered)
            held = len(urls_in_log(icap.event_log))
            print(f"{what}: {n} answered, {held} lines in the log before the {what}")
            if n != CONNS * 8:
                failures.append(f"{what}: only {n} of {CONNS * 8} 401s answered")
            if held >= n:
                failures.append(f"{what}: no line was held back ({held} of {n} written): deferral is off")
            if what == "crash":
                for k in kids or []:
                    os.kill(k, signal.SIGKILL)  # every child: nobody of theirs is left to write
            else:
                icap.proc.send_signal(signal.SIGTERM)
                try:
                    icap.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    failures.append("stop: c-icap did not exit within 20 s of SIGTERM")
            check_all_logged(icap.event_log, answered, what, failures, exact=True)
            took = time.monotonic() - t0
            print(f"{what}: all lines written {took:.2f} s after the last answer")
            if took > 6.0:
                failures.append(f"{what}: lines took {took:.1f} s, as if only the 8 s delay wrote them")
        finally:
            procs.stop_all()
            tmp.cleanup()

    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
