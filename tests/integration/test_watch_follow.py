#!/usr/bin/env python3
"""test_watch_follow -- `promptcause watch` following a live event log, with a
JSON webhook receiver of our own:

- webhook payloads: a firing and then a resolved document, with the labels
  and annotations of SPEC §6, as application/json;
- rotation by rename (with a writer still appending to the old file for a
  moment, as c-icap children do until they notice), by copytruncate, and
  while watch is stopped: every line is read exactly once (counted by
  watch's exit report);
- a partial last line waits for its newline; garbage lines are counted and
  skipped; an over-long line is skipped;
- SIGHUP re-reads the rules (a bad file keeps the old ones), SIGTERM exits 0;
- bad usage and bad rules exit 2 with a message naming file and line.
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness  # noqa: E402
import watchtools as wt  # noqa: E402

REPORT = re.compile(r"(\d+) lines, (\d+) events \((\d+) prompting\), (\d+) garbage, (\d+) over-long; "
                    r"(\d+) rotations, (\d+) truncations")


def report(text):
    """(lines, events, garbage, overlong, rotations, truncations) summed over
    every exit report in text."""
    tot = [0] * 6
    for m in REPORT.finditer(text):
        v = [int(x) for x in m.groups()]
        for i, x in enumerate([v[0], v[1], v[3], v[4], v[5], v[6]]):
            tot[i] += x
    return tot


def start(procs, tmp, log, *extra):
    """Start watch and wait until it is up (it writes its state file at start,
    after installing its signal handlers); raises if it does not come up."""
    state = tmp.join("state")
    before = wt.file_id(state)
    p = procs.start([wt.CLI, "watch", "--events", tmp.join("events.log"), "--rules", tmp.join("rules"),
                     "--state", state, *extra], log_path=log)
    wt.wait_started(state, before, p, log)
    return p


def stop(c, p, what):
    os.kill(p.pid, signal.SIGTERM)
    try:
        rc = p.wait(timeout=10 * wt.slowdown())
    except Exception:
        rc = None
    c.check(rc == 0, f"{what}: SIGTERM exits 0 (got {rc})")


def consumed(tmp, path):
    """Whether the state file's offset reached the end of path."""
    def f():
        try:
            with open(tmp.join("state")) as sf:
                st = json.load(sf)
            return st["ino"] == os.stat(path).st_ino and st["offset"] == os.path.getsize(path)
        except (OSError, ValueError, KeyError):
            return False
    return pcharness.wait_for(f, timeout=30)


def quiet_events(n, tag):
    """n valid events that never make a storm (prompt none)."""
    return "".join(wt.event(f"10.{tag}.{i // 250}.{i % 250}", f"http://h/{tag}/{i}", prompt="none",
                            cause="handshake") for i in range(n))


def test_webhook_payloads(c, procs, tmp):
    hook = wt.Webhook()
    try:
        wt.rules(tmp, quiet=2)
        ev = tmp.join("events.log")
        open(ev, "w").close()
        p = start(procs, tmp, tmp.join("w.log"), "--webhook", f"http://127.0.0.1:{hook.port}/hook")
        url = "http://intranet/hr/photo.jpg"
        for i in range(3):
            last_ts = time.time()
            wt.append(ev, wt.event(f"10.1.0.{i}", url, parent="http://intranet/hr/", ts=last_ts))
        got = pcharness.wait_for(lambda: hook.alerts("firing"), timeout=30)
        c.check(bool(got), "webhook receives a firing alert")
        if got:
            r = hook.received[0]
            c.check(r["path"] == "/hook" and r["ctype"] == "application/json", "POST to the URL as application/json")
            doc = r["doc"]
            c.check(doc.get("status") == "firing" and doc.get("version") == "1", "document status firing, version 1")
            a = got[0]
            c.check(a["labels"] == {"alertname": "PromptStorm", "kind": "resource", "host": "intranet",
                                    "url": url, "cause": "embedded-denied", "prompt": "basic"},
                    f"labels exactly as SPEC §6 (got {a['labels']})")
            c.check("summary" in a["annotations"] and "description" in a["annotations"], "summary and description")
            c.check("http://intranet/hr/" in a["annotations"]["description"], "description names the parent page")
            c.check(a.get("startsAt", "").endswith("Z"), "startsAt in UTC")
        res = pcharness.wait_for(lambda: hook.alerts("resolved"), timeout=30)
        c.check(bool(res), "webhook receives the resolved alert")
        t_res = next((r["t"] for r in hook.received if r["doc"].get("status") == "resolved"), None)
        c.check(t_res is not None and t_res >= last_ts + 2,
                f"the storm resolves no sooner than the quiet period (2 s) after its last event "
                f"(after {t_res - last_ts if t_res else 0:.2f} s)")
        c.check(len(hook.alerts("firing")) == 1, "exactly one firing document (no re-sends to the webhook)")
        stop(c, p, "webhook")
    finally:
        hook.stop()


def test_rotation_rename_and_copytruncate(c, procs, tmp):
    wt.rules(tmp)
    ev = tmp.join("events.log")
    log = tmp.join("w.log")
    total = 0
    wt.append(ev, quiet_events(100, 1))
    total += 100
    p = start(procs, tmp, log)
    c.check(bool(consumed(tmp, ev)), "first 100 lines consumed")
    # rename rotation; the "old writer" appends 50 more to the renamed file
    # after the new file exists, as a c-icap child does until it notices.
    old_fd = os.open(ev, os.O_WRONLY | os.O_APPEND)
    os.rename(ev, ev + ".1")
    wt.append(ev, quiet_events(70, 2))
    os.write(old_fd, quiet_events(50, 3).encode())
    os.close(old_fd)
    total += 120
    c.check(bool(consumed(tmp, ev)), "new file after rename consumed")
    time.sleep(1.0)
    # copytruncate: copy, truncate in place, keep writing.
    shutil.copy(ev, ev + ".2")
    with open(ev, "r+") as f:
        f.truncate(0)
    time.sleep(0.6)
    wt.append(ev, quiet_events(30, 4))
    total += 30
    c.check(bool(consumed(tmp, ev)), "file after copytruncate consumed")
    # Partial last line: half now, the rest later.
    line = wt.event("10.9.9.9", "http://h/partial", prompt="none", cause="handshake")
    wt.append(ev, line[:40])
    time.sleep(0.8)
    wt.append(ev, line[40:])
    total += 1
    # Garbage and an over-long line.
    wt.append(ev, "garbage one\n{\"v\":2,\"ts\":\"2026-01-01T00:00:00Z\"}\n")
    wt.append(ev, "x" * (70 * 1024) + "\n")
    wt.append(ev, quiet_events(5, 5))
    total += 2 + 5
    c.check(bool(consumed(tmp, ev)), "all consumed")
    stop(c, p, "rotation")
    lines, events, garbage, overlong, rot, trunc = report(pcharness.tail(log, 200))
    c.check(lines == total, f"every line read exactly once across rename and copytruncate ({lines} of {total})")
    c.check(events == total - 2, f"valid events counted ({events} of {total - 2})")
    c.check(garbage == 2, f"2 garbage lines counted (got {garbage})")
    c.check(overlong == 1, f"the over-long line skipped and counted (got {overlong})")
    c.check(rot == 1 and trunc == 1, f"one rotation, one truncation seen (got {rot}, {trunc})")
    c.check("skipped a line (not a JSON object): garbage one" in pcharness.tail(log, 200),
            "the garbage line is reported")


def test_restart_across_rotation(c, procs, tmp):
    wt.rules(tmp)
    ev = tmp.join("events.log")
    log = tmp.join("w.log")
    wt.append(ev, quiet_events(40, 1))
    p = start(procs, tmp, log)
    c.check(bool(consumed(tmp, ev)), "consumed before stop")
    stop(c, p, "restart-1")
    # While watch is down: more lines, a rename rotation, more lines.
    wt.append(ev, quiet_events(25, 2))
    os.rename(ev, ev + ".1")
    wt.append(ev, quiet_events(35, 3))
    p = start(procs, tmp, log)
    c.check(bool(consumed(tmp, ev)), "consumed after restart")
    stop(c, p, "restart-2")
    lines = report(pcharness.tail(log, 200))[0]
    c.check(lines == 100, f"restart: 100 lines read once over two runs, rotated file's rest included (got {lines})")
    # A third run with nothing new reads nothing again.
    r = wt.run_watch(["--events", ev, "--rules", tmp.join("rules"), "--state", tmp.join("state"), "--once"])
    c.check(r.returncode == 0 and report(r.stderr)[0] == 0, f"--once after that reads 0 lines ({r.stderr.strip()[-200:]})")


def test_sighup_and_bad_config(c, procs, tmp):
    hook = wt.Webhook()
    try:
        wt.rules(tmp, resource_clients=50)
        ev = tmp.join("events.log")
        open(ev, "w").close()
        log = tmp.join("w.log")
        p = start(procs, tmp, log, "--webhook", f"http://127.0.0.1:{hook.port}/")
        # Under the old rules (50 clients) two clients make no storm: the
        # control for the reloaded threshold below. Waiting for watch to
        # read them (the state file's offset) makes it a real control.
        url = "http://intranet/x.gif"
        for i in range(2):
            wt.append(ev, wt.event(f"10.3.0.{i}", url))
        c.check(bool(consumed(tmp, ev)), "two clients read under the old rules")
        # A bad rules file on SIGHUP keeps the old rules and the process.
        # Each SIGHUP waits for the line that says it was handled: signals
        # sent before watch's loop took the first would merge into one.
        tmp.write("rules", "resource_clients many\n")
        os.kill(p.pid, signal.SIGHUP)
        kept = wt.wait_log(log, "keeping the old rules")
        c.check(kept and p.poll() is None, "SIGHUP with a bad rules file keeps running on the old rules")
        c.check(hook.alerts() == [], "no alert from two clients under the old threshold of 50")
        wt.rules(tmp, resource_clients=2)
        os.kill(p.pid, signal.SIGHUP)
        c.check(wt.wait_log(log, "reloaded rules"), f"SIGHUP re-reads the rules ({pcharness.tail(log, 5).strip()})")
        # The reload starts the windows afresh (only active storms carry
        # over): two new clients make a storm under the threshold of 2.
        for i in range(2):
            wt.append(ev, wt.event(f"10.3.1.{i}", url))
        c.check(bool(pcharness.wait_for(lambda: hook.alerts("firing"), timeout=30)),
                "the reloaded threshold (2 clients) applies")
        stop(c, p, "sighup")
    finally:
        hook.stop()
    r = wt.run_watch(["--events", tmp.join("events.log"), "--rules", tmp.join("nope")])
    c.check(r.returncode == 2 and "cannot read rules" in r.stderr, "missing rules file: exit 2 with message")
    tmp.write("bad", "# ok\nquiet 5\nresource_window soon\n")
    r = wt.run_watch(["--events", tmp.join("events.log"), "--rules", tmp.join("bad")])
    c.check(r.returncode == 2 and "bad: line 3: bad value 'soon' for 'resource_window'" in r.stderr,
            f"bad rule: exit 2 naming file and line ({r.stderr.strip()})")
    # A rule that would reserve gigabytes up front is refused before
    # anything is allocated, and the message says what to lower.
    tmp.write("huge", "client_prompts 1000\n")
    r = wt.run_watch(["--events", tmp.join("events.log"), "--rules", tmp.join("huge")])
    c.check(r.returncode == 2 and "huge: these rules reserve 2.0 GiB, above max_memory 1.0 GiB" in r.stderr
            and "lower max_clients or client_prompts" in r.stderr,
            f"rules above max_memory: exit 2 naming the table ({r.stderr.strip()})")
    tmp.write("huge", "client_prompts 1000\nmax_clients 8192\n")
    r = wt.run_watch(["--events", tmp.join("events.log"), "--rules", tmp.join("huge"), "--once"])
    c.check(r.returncode == 0, f"the same threshold with a smaller table starts ({r.stderr.strip()})")
    r = wt.run_watch(["--events", tmp.join("events.log"), "--webhook", "ftp://x"])
    c.check(r.returncode == 2 and r.stderr.count("\n") == 1, "bad URL: exit 2, one line")
    r = wt.run_watch(["--bogus"])
    c.check(r.returncode == 2, "unknown option: exit 2")
    tmp.write("state", "{not json")
    r = wt.run_watch(["--events", tmp.join("events.log"), "--state", tmp.join("state"), "--once"])
    c.check(r.returncode == 2 and "state" in r.stderr, "corrupt state file: exit 2 with message")


def main():
    if not os.access(wt.CLI, os.X_OK):
        print(f"missing {wt.CLI}")
        return 1
    c = wt.Checks()
    for name, fn in [("webhook", test_webhook_payloads), ("rotation", test_rotation_rename_and_copytruncate),
                     ("restart", test_restart_across_rotation), ("sighup", test_sighup_and_bad_config)]:
        print(f"== {name}")
        tmp = pcharness.TempDir(prefix="pc-watch-")
        procs = pcharness.Processes()
        try:
            fn(c, procs, tmp)
        except Exception as e:
            c.check(False, f"{name}: {type(e).__name__}: {e}")
        finally:
            procs.stop_all()
            tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
