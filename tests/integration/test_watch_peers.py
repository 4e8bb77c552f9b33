#!/usr/bin/env python3
"""test_watch_peers -- `watch --alertmanager A --alertmanager B` keeps one
queue and one spool slot per Alertmanager peer (docs/FLEET.md): with both
peers down, `--once` spools the alert once per peer and exits 1; with only
the second peer up, the second gets it and the first's copy stays spooled
(exit 1 still); once the first is up too, it gets its copy and the spool is
empty (exit 0). Real prometheus-alertmanager processes, gossip off.
Exit 0 pass, 77 skip (no alertmanager), 1 fail.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import watchtools as wt  # noqa: E402

URL = "http://intranet/secure/peers.gif"


def spool_files(tmp):
    d = tmp.join("state.spool")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def once(tmp, ports):
    args = ["--events", tmp.join("events.log"), "--rules", tmp.join("rules"), "--state", tmp.join("state"),
            "--once"]
    for p in ports:
        args += ["--alertmanager", f"http://127.0.0.1:{p}"]
    return wt.run_watch(args)


def has_storm(port):
    try:
        return any(a["labels"].get("url") == URL for a in wt.storm_alerts(port))
    except OSError:
        return False


def run(c, procs, tmp):
    # timeout 1: a --once that cannot deliver gives up after 2 x timeout + 5 s
    wt.rules(tmp, quiet=600, resend=600, timeout=1)
    ports = [H.free_port(), H.free_port()]
    for i in range(3):
        wt.append(tmp.join("events.log"), wt.event(f"10.9.0.{i}", URL))
    r = once(tmp, ports)
    files = spool_files(tmp)
    c.check(r.returncode == 1, f"both peers down: --once exits 1 (got {r.returncode})")
    c.check(len(files) == 2 and any(f.endswith("-alertmanager.msg") for f in files)
            and any(f.endswith("-alertmanagerb.msg") for f in files),
            f"one spooled copy per peer ({files})")

    wt.start_alertmanager(procs, tmp, port=ports[1])
    r = once(tmp, ports)
    files = spool_files(tmp)
    c.check(r.returncode == 1, f"first peer still down: --once exits 1 (got {r.returncode})")
    c.check(bool(H.wait_for(lambda: has_storm(ports[1]), timeout=10)), "the second peer got the alert")
    c.check(len(files) == 1 and files[0].endswith("-alertmanager.msg"),
            f"only the first peer's copy stays spooled ({files})")

    sub = H.TempDir(prefix="pc-peers-am1-")  # its own data dir and config
    try:
        wt.start_alertmanager(procs, sub, port=ports[0])
        r = once(tmp, ports)
        c.check(r.returncode == 0, f"both peers up: --once exits 0 ({r.stderr.strip()[-200:]})")
        c.check(bool(H.wait_for(lambda: has_storm(ports[0]), timeout=10)), "the first peer got its copy")
        c.check(spool_files(tmp) == [], "the spool is empty")
        c.check(has_storm(ports[1]), "the second peer still has the alert")
    finally:
        procs.stop_all()
        sub.cleanup()


def main():
    if not os.access(wt.CLI, os.X_OK):
        print(f"missing {wt.CLI}")
        return 1
    if H.find_binary("prometheus-alertmanager") is None and H.find_binary("alertmanager") is None:
        print("SKIP: prometheus-alertmanager not installed")
        return H.SKIP
    c = wt.Checks()
    tmp = H.TempDir(prefix="pc-peers-")
    procs = H.Processes()
    try:
        run(c, procs, tmp)
    except Exception as e:
        c.check(False, f"{type(e).__name__}: {e}")
    finally:
        procs.stop_all()
        tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
