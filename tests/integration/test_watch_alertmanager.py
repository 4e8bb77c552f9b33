#!/usr/bin/env python3
"""test_watch_alertmanager -- `promptcause watch` against a real Prometheus
Alertmanager (Debian's prometheus-alertmanager on loopback, own data dir,
gossip off), checked through Alertmanager's own API v2:

- `--once`: a resource storm fires with SPEC §6's labels and actionable
  annotations; below the threshold nothing fires; a later `--once` after the
  quiet period resolves it (gone from the active list).
- following: a storm appended while watch runs reaches Alertmanager within
  seconds (the detection delay is printed), and resolves after the quiet
  period; a client storm carries the client label.
- Alertmanager down at first: the alert is spooled and retried with backoff,
  and arrives once Alertmanager starts, even across a watch restart.
Exit 0 pass, 77 skip (no alertmanager binary), 1 fail.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness  # noqa: E402
import watchtools as wt  # noqa: E402

URL = "http://intranet/secure/logo.gif"


def once(tmp, port, extra=()):
    return wt.run_watch(["--events", tmp.join("events.log"), "--alertmanager", f"http://127.0.0.1:{port}",
                         "--rules", tmp.join("rules"), "--state", tmp.join("state"), "--once", *extra])


# Seconds without a matching event before a storm resolves. The test checks
# both sides of it, so it must outlast two --once runs and the checks between
# them by a wide margin (under 1 s in a plain build; scaled for sanitizers).
QUIET = 8 * wt.slowdown()


def test_once_fires_and_resolves(c, procs, tmp, port):
    wt.rules(tmp, quiet=QUIET)
    ev = tmp.join("events.log")
    # Below threshold: two clients, plus many non-prompting events.
    for i in range(2):
        wt.append(ev, wt.event(f"10.0.0.{i}", URL))
    for i in range(20):
        wt.append(ev, wt.event(f"10.0.1.{i}", URL, prompt="silent"))
        wt.append(ev, wt.event(f"10.0.2.{i}", URL, prompt="none", cause="handshake"))
    r = once(tmp, port)
    c.check(r.returncode == 0, f"--once below threshold exits 0 (got {r.returncode}: {r.stderr.strip()[-300:]})")
    c.check(wt.storm_alerts(port) == [], "no alert below the threshold; silent/none events do not count")

    # The storm's last event is stamped last_ts: the quiet period runs from it.
    last_ts = time.time()
    for i in range(2, 5):
        wt.append(ev, wt.event(f"10.0.0.{i}", URL, user="CORP\\bob", ts=last_ts))
    wt.append(ev, "this is not json\n")
    r = once(tmp, port)
    c.check(r.returncode == 0, f"--once with a storm exits 0 (got {r.returncode}: {r.stderr.strip()[-300:]})")
    c.check("1 garbage" in r.stderr, "the garbage line is counted and reported")
    alerts = pcharness.wait_for(lambda: wt.storm_alerts(port), timeout=10) or []
    c.check(len(alerts) == 1, f"one PromptStorm alert in Alertmanager (got {len(alerts)})")
    if alerts:
        a = alerts[0]
        lab = a["labels"]
        c.check(lab.get("kind") == "resource", "label kind=resource")
        c.check(lab.get("url") == URL, "label url is the refusing resource")
        c.check(lab.get("host") == "intranet", "label host")
        c.check(lab.get("cause") == "embedded-denied", "label cause")
        c.check(lab.get("prompt") == "basic", "label prompt")
        c.check("client" not in lab, "a resource storm has no client label")
        ann = a["annotations"]
        c.check(ann.get("clients") == "5", f"annotation counts 5 distinct users (got {ann.get('clients')})")
        c.check("http://intranet/index.html" in ann.get("description", ""),
                "description names the page that embeds the resource")
        c.check("grant the anonymous account" in ann.get("description", ""), "description carries the hint")
        c.check("reason" not in ann and "reason" not in ann.get("description", ""),
                "events without a §2a reason give no reason annotation")
        c.check(a["status"]["state"] == "active", "alert state active")
    # Nothing new, still within the quiet period: stays firing, no duplicate.
    r = once(tmp, port)
    again = wt.storm_alerts(port)
    took = time.time() - last_ts
    c.check(took < QUIET, f"precondition: the second --once ran within the quiet period "
                          f"({took:.1f} s after the storm's last event, quiet period {QUIET:.0f} s)")
    c.check(r.returncode == 0 and "0 resolved, 1 active" in r.stderr,
            f"a second --once within the quiet period keeps the storm active ({r.stderr.strip()[-300:]})")
    c.check(len(again) == 1, f"a second --once within the quiet period keeps one alert (got {len(again)})")
    # Past the quiet period (counted from the last event, as watch does).
    time.sleep(max(0.0, last_ts + QUIET + 0.5 - time.time()))
    r = once(tmp, port)
    c.check("resolved resource storm" in r.stderr, "after the quiet period --once resolves the storm")
    c.check(wt.storm_alerts(port) == [], "the resolved alert left Alertmanager's active list")
    resolved = [a for a in wt.storm_alerts(port, active=False) if a["labels"].get("url") == URL]
    c.check(all(a["status"]["state"] != "active" for a in resolved), "no active copy remains")


def test_follow_fires_fast_and_resolves(c, procs, tmp, port):
    wt.rules(tmp, quiet=3, client_prompts=4)
    ev = tmp.join("events.log")
    open(ev, "w").close()
    log = tmp.join("watch.log")
    p = procs.start([wt.CLI, "watch", "--events", ev, "--alertmanager", f"http://127.0.0.1:{port}",
                     "--rules", tmp.join("rules"), "--state", tmp.join("state")], log_path=log)
    wt.wait_started(tmp.join("state"), None, p, log)
    url = "http://intranet/private/banner.png"
    t0 = time.time()
    for i in range(3):
        wt.append(ev, wt.event(f"10.5.0.{i}", url))
    got = pcharness.wait_for(lambda: [a for a in wt.storm_alerts(port) if a["labels"].get("url") == url],
                             timeout=30, interval=0.02)
    delay = time.time() - t0
    bound = 2.0 * wt.slowdown()
    c.check(bool(got), f"a storm appended while following reaches Alertmanager (delay {delay:.3f} s)")
    c.check(delay < bound, f"detection delay under {bound:.0f} s (got {delay:.3f} s)")
    print(f"measure: detection delay event->Alertmanager {delay * 1000:.0f} ms")
    # A client storm: one client, 4 rejected prompts (password loop), most of
    # them refused for a SPEC §2a reason.
    for i, reason in enumerate(("foreign-domain", None, "foreign-domain", "foreign-domain")):
        wt.append(ev, wt.event("10.6.6.6", f"http://mail/owa/{i}", prompt="rejected",
                               cause="credentials-rejected", user="CORP\\alice", reason=reason))
    cl = pcharness.wait_for(lambda: [a for a in wt.storm_alerts(port) if a["labels"].get("kind") == "client"],
                            timeout=30)
    c.check(bool(cl) and cl[0]["labels"].get("client") == "10.6.6.6", "client storm has label client")
    c.check(bool(cl) and "CORP\\alice" in cl[0]["annotations"].get("summary", ""),
            "client storm summary names the user")
    c.check(bool(cl) and cl[0]["labels"].get("prompt") == "rejected", "client storm prompt=rejected")
    c.check(bool(cl) and cl[0]["annotations"].get("reason") == "foreign-domain",
            f"client storm annotation reason=foreign-domain (got {cl[0]['annotations'] if cl else None})")
    c.check(bool(cl) and "Most frequent reason: foreign-domain" in cl[0]["annotations"].get("description", ""),
            "client storm description names the reason")
    c.check(bool(cl) and "reason" not in cl[0]["labels"], "reason is an annotation, not a label")
    t1 = time.time()
    gone = pcharness.wait_for(lambda: wt.storm_alerts(port) == [], timeout=30, interval=0.1)
    c.check(bool(gone), f"both storms resolve after the quiet period (took {time.time() - t1:.1f} s)")
    c.check(p.poll() is None, "watch still running")
    os.kill(p.pid, signal.SIGTERM)
    try:
        rc = p.wait(timeout=10 * wt.slowdown())
    except Exception:
        rc = None
    c.check(rc == 0, f"SIGTERM: clean exit 0 (got {rc})")
    c.check("storms 2 fired, 2 resolved" in pcharness.tail(log), "exit report counts 2 fired, 2 resolved")


def test_receiver_down_then_up(c, procs, tmp, binary):
    wt.rules(tmp, quiet=60)
    port = pcharness.free_port()
    ev = tmp.join("events.log")
    for i in range(4):
        wt.append(ev, wt.event(f"10.7.0.{i}", "http://intranet/late.gif"))
    # Alertmanager is not running: --once cannot deliver, spools, exits 1.
    r = once(tmp, port)
    c.check(r.returncode == 1, f"--once with the receiver down exits 1 (got {r.returncode})")
    spool = tmp.join("state.spool")
    c.check(os.path.isdir(spool) and len(os.listdir(spool)) >= 1, "the alert waits in the spool")
    # A daemon started next (a restart) picks the spool up and retries.
    log = tmp.join("watch2.log")
    p = procs.start([wt.CLI, "watch", "--events", ev, "--alertmanager", f"http://127.0.0.1:{port}",
                     "--rules", tmp.join("rules"), "--state", tmp.join("state")], log_path=log)
    # The daemon's first failed delivery is reported with its retry delay.
    c.check(wt.wait_log(log, "retry in"), f"the daemon reports the failed delivery and its retry delay "
                                          f"({pcharness.tail(log, 5).strip()})")
    c.check(p.poll() is None, "watch keeps running while the receiver is down")
    c.check(len(os.listdir(spool)) >= 1, "the alert still waits in the spool")
    wt.start_alertmanager(procs, tmp, port=port)
    # Backoff doubles from 1 s: the next try comes within about twice the
    # time the receiver was down.
    got = pcharness.wait_for(lambda: [a for a in wt.storm_alerts(port)
                                      if a["labels"].get("url") == "http://intranet/late.gif"], timeout=60)
    c.check(bool(got), "the alert reaches Alertmanager once it is up")
    c.check(bool(pcharness.wait_for(lambda: os.listdir(spool) == [], timeout=30)),
            "the spool is empty after delivery")
    c.check("retry in" in r.stderr, "--once reports its failure with the retry delay")


def main():
    if not os.access(wt.CLI, os.X_OK):
        print(f"missing {wt.CLI}")
        return 1
    if pcharness.find_binary("prometheus-alertmanager") is None and pcharness.find_binary("alertmanager") is None:
        print("SKIP: prometheus-alertmanager not installed")
        return pcharness.SKIP
    c = wt.Checks()
    for name, fn, needs_am in [("once", test_once_fires_and_resolves, True),
                               ("follow", test_follow_fires_fast_and_resolves, True),
                               ("receiver-down", test_receiver_down_then_up, False)]:
        print(f"== {name}")
        tmp = pcharness.TempDir(prefix="pc-watch-am-")
        procs = pcharness.Processes()
        try:
            if needs_am:
                port, _ = wt.start_alertmanager(procs, tmp)
                fn(c, procs, tmp, port)
            else:
                fn(c, procs, tmp, pcharness.find_binary("prometheus-alertmanager"))
        except Exception as e:  # report, clean up, go on
            c.check(False, f"{name}: {type(e).__name__}: {e}")
        finally:
            procs.stop_all()
            tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
