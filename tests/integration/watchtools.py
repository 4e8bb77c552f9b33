"""watchtools -- shared plumbing for the `promptcause watch` integration tests.

Event lines in the SPEC §3 format, a JSON webhook receiver of our own
(http.server in a thread) that records what it gets, an Alertmanager
launcher, and a runner for the watch command.
"""
import datetime
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request

import pcharness

CLI = os.path.join(pcharness.TOP_BUILDDIR, "cli", "promptcause")


def event(client, url, prompt="basic", cause="embedded-denied", ts=None, user=None,
          parent="http://intranet/index.html", host=None, hint="grant the anonymous account read access",
          reason=None):
    """One SPEC §3 event line (with its newline)."""
    if ts is None:
        ts = time.time()
    stamp = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if host is None:
        host = url.split("/")[2]
    ev = {"v": 1, "ts": stamp, "client": client, "user": user, "method": "GET", "url": url,
          "host": host, "status": 401, "cause": cause, "prompt": prompt, "schemes": ["Basic"],
          "realm": "secure", "auth_sent": "none", "parent": parent, "evidence": "html",
          "object": "image", "zone": "intranet", "handler": None, "substatus": None, "hint": hint,
          "reason": reason}
    return json.dumps(ev) + "\n"


def append(path, text):
    """Append like c-icap does: one write per call, O_APPEND."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def slowdown():
    """How many times slower than a plain build this run's daemons and CLI
    are: 3 under ASan+UBSan (scripts/sanitizer-check.sh exports ASAN_OPTIONS
    and the PC_CICAP_WRAP that preloads libasan), else 1. PC_TIME_FACTOR
    overrides. Tests scale the windows they deliberately time by it (quiet
    periods, a latency bound), never what they assert happens."""
    f = os.environ.get("PC_TIME_FACTOR")
    if f:
        return float(f)
    sanitized = "ASAN_OPTIONS" in os.environ or "libasan" in os.environ.get("PC_CICAP_WRAP", "")
    return 3.0 if sanitized else 1.0


def rules(tmp, **kw):
    """A rules file for fast tests: small thresholds, seconds not minutes.

    The tables are small (1024 keys a rule): the detector reserves
    capacity x threshold ring entries at start, and with the default 262144
    client slots the client rule's 1000 (left high so it stays quiet) would
    reserve 2 GB. The plain build never touches those pages, but ASan
    poisons and unpoisons their shadow on every allocation and free: a
    `--once` took 3.3 s on an idle machine (0.1 s with these tables), a
    SIGHUP as long, and the watch tests missed their windows under
    sanitizer-check.sh. The tests use far fewer keys than 1024."""
    r = {"resource_clients": 3, "resource_window": 30, "client_prompts": 1000,
         "client_window": 30, "overall_prompts": 0, "quiet": 3, "resend": 1, "timeout": 2,
         "max_clients": 1024, "max_resources": 1024}
    r.update(kw)
    return tmp.write("rules", "# test rules\n" + "".join(f"{k} {v}\n" for k, v in r.items()))


def wait_started(state, before, proc, log, timeout=30):
    """Wait until a just-started `watch` wrote its state file (it does so
    once before its loop, after installing its signal handlers): watch
    replaces the file by rename, so its identity (file_id) then differs from
    before (None: there was no file).
    Raises RuntimeError with the log's tail if watch exits or stays silent."""
    def written():
        if proc.poll() is not None:
            raise RuntimeError(f"watch exited ({proc.returncode}) at start:\n{pcharness.tail(log)}")
        now = file_id(state)
        return now is not None and now != before
    if not pcharness.wait_for(written, timeout=timeout):
        raise RuntimeError(f"watch wrote no state file within {timeout} s:\n{pcharness.tail(log)}")


def file_id(path):
    """(inode, mtime) of a file, None when absent (the `before` of wait_started)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def wait_log(path, text, timeout=30, count=1):
    """Wait until text occurs at least count times in the log at path;
    returns whether it did."""
    def seen():
        try:
            with open(path, errors="replace") as f:
                return f.read().count(text) >= count
        except OSError:
            return False
    return bool(pcharness.wait_for(seen, timeout=timeout))


def run_watch(args, timeout=60):
    """Run `promptcause watch ARGS` to completion; returns CompletedProcess."""
    return subprocess.run([CLI, "watch"] + args, capture_output=True, text=True, timeout=timeout)


class Webhook:
    """A JSON webhook receiver on a loopback port, recording every POST."""

    def __init__(self, port=None, status=200):
        self.port = port or pcharness.free_port()
        self.received = []
        self.status = status
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {"unparsable": body.decode(errors="replace")}
                outer.received.append({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                       "doc": doc, "t": time.time()})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def alerts(self, status=None):
        out = []
        for r in self.received:
            for a in r["doc"].get("alerts", []) if isinstance(r["doc"], dict) else []:
                if status is None or a.get("status") == status:
                    out.append(a)
        return out


AM_CONFIG = """route:
  receiver: blackhole
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: blackhole
"""


def start_alertmanager(procs, tmp, port=None):
    """Start Debian's prometheus-alertmanager on loopback with its own data
    dir and gossip off; returns (port, binary) or (None, None) when absent."""
    binary = pcharness.find_binary("prometheus-alertmanager") or pcharness.find_binary("alertmanager")
    if binary is None:
        return None, None
    port = port or pcharness.free_port()
    conf = tmp.write("alertmanager.yml", AM_CONFIG)
    data = tmp.join("am-data")
    os.makedirs(data, exist_ok=True)
    p = procs.start([binary, f"--config.file={conf}", f"--storage.path={data}",
                     f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                    log_path=tmp.join("alertmanager.log"))
    pcharness.wait_for_port(port, timeout=30, proc=p, what="alertmanager")
    return port, binary


def am_alerts(port, **filters):
    """GET /api/v2/alerts (optionally ?active=false etc.) as a list."""
    q = "&".join(f"{k}={'true' if v else 'false'}" for k, v in filters.items())
    url = f"http://127.0.0.1:{port}/api/v2/alerts" + (f"?{q}" if q else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def storm_alerts(port, **filters):
    return [a for a in am_alerts(port, **filters) if a["labels"].get("alertname") == "PromptStorm"]


class Checks:
    """Collects failed checks so a test reports all of them, then exits 1."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed.append(what)
            print(f"FAIL {what}")
        return cond

    def exit_code(self):
        print(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0
