#!/usr/bin/env python3
"""test_fleet -- a fleet of two proxies on existing engines (SPEC §8), as in
docs/FLEET.md:

  client -> Squid 1 -> c-icap 1 (promptcause) -> events 1 -> rsyslog 1 (imfile)  \\
  client -> Squid 2 -> c-icap 2 (promptcause) -> events 2 -> rsyslog 2 (imfile)  -> omfwd TCP
      -> central rsyslog (imtcp, one file, "%msg%\\n") -> promptcause watch
      -> Alertmanager cluster of two peers -> one webhook notification

Everything real, on loopback, started by the test: one origin
(tests/integration/origin.py), two c-icap with the built module, two Squid,
three rsyslogd (`-n -f conf -i pidfile`, own work dirs), two
prometheus-alertmanager peers clustered on loopback ports, our webhook
receiver (one path per peer, so the test knows which peer notified).

- A fleet-wide storm: four distinct clients (127.0.0.11-14) get a prompt
  from one URL, two through each proxy. The rules file asks for 4 clients:
  `watch --once` on either proxy's own log raises nothing, the central watch
  raises one resource storm, and exactly one firing notification reaches the
  receiver (the peers de-duplicate).
- Failure: the peer that notified is killed mid-storm; the storm still
  resolves (watch sends every alert to both peers) and the survivor sends
  the resolved notification.
- Nothing lost: the central rsyslog is stopped and started again mid-run
  while both proxies keep logging; the proxies' disk-assisted omfwd queues
  hold the events and every event of both proxies' logs reaches the central
  file exactly once (compared line by line), and the central watch's
  metrics count them all.
The counts are printed as `measure:` lines (docs/FLEET.md quotes them).
Exit 0 pass, 77 skip (a daemon not installed), 1 fail.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import cicap  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402
import watchtools as wt  # noqa: E402

STORM_URL = "http://intranet/secure/fleet-logo.gif"
STORM_CLIENTS = {"proxy1": ["127.0.0.11", "127.0.0.12"], "proxy2": ["127.0.0.13", "127.0.0.14"]}
LOAD = 20  # requests per proxy per load phase (unique URLs: no storm)
QUIET = 15 * wt.slowdown()  # storm quiet period: outlasts notification + peer kill

DOC = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "User-Agent": "Mozilla/5.0 (fleet test)"}
IMG = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8", "User-Agent": "Mozilla/5.0 (fleet test)"}


# ---- configurations (docs/FLEET.md shows these, with the ports filled in) ----

def rsyslog_proxy_conf(work, event_log, central_port):
    """A proxy's shipper: imfile follows the EventLog, omfwd sends each line
    over TCP in RFC 5424 framing, through a disk-assisted queue that holds
    the events while the central rsyslog is away and survives a restart."""
    return f"""# rsyslog on a proxy: ship the promptcause EventLog to the central rsyslog
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile" mode="inotify")
input(type="imfile" file="{event_log}" tag="promptcause" ruleset="ship"
      freshStartTail="off" reopenOnTruncate="on")
ruleset(name="ship") {{
  action(type="omfwd" target="127.0.0.1" port="{central_port}" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.filename="ship" queue.saveOnShutdown="on"
         queue.maxDiskSpace="1g" queue.highWatermark="8000" queue.size="10000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"""


def rsyslog_central_conf(work, port, out):
    """The central rsyslog: imtcp on a loopback port, every message's MSG
    (the event's JSON line, unchanged) appended to one file."""
    return f"""# central rsyslog: one JSON-lines file for the fleet's events
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="events")
template(name="eventline" type="string" string="%msg%\\n")
ruleset(name="events" queue.type="LinkedList" queue.filename="events" queue.saveOnShutdown="on") {{
  action(type="omfile" file="{out}" template="eventline" flushOnTXEnd="on" asyncWriting="off")
}}
"""


def am_conf(hook_port, peer):
    """One peer's Alertmanager config: both peers have the same route and
    receiver name (that is what they de-duplicate on); the URL path names
    the peer only so the test can tell who sent."""
    return f"""route:
  receiver: fleet-hook
  group_by: [alertname, kind, url, client]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: fleet-hook
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/{peer}
        send_resolved: true
"""


# ---- daemons ------------------------------------------------------------------

def start_rsyslog(procs, tmp, name, conf_text):
    binary = H.find_binary("rsyslogd")
    conf = tmp.write(f"{name}.conf", conf_text)
    check = subprocess.run([binary, "-N1", "-f", conf], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"rsyslogd -N1 rejected {conf}:\n{check.stderr[-2000:]}")
    return procs.start([binary, "-n", "-f", conf, "-i", tmp.join(f"{name}.pid")],
                       log_path=tmp.join(f"{name}.out"))


def start_am_cluster(procs, tmp, hook_port):
    binary = H.find_binary("prometheus-alertmanager") or H.find_binary("alertmanager")
    web = [H.free_port(), H.free_port()]
    gossip = [H.free_port(), H.free_port()]
    peers = []
    for i in range(2):
        name = f"am{i + 1}"
        conf = tmp.write(f"{name}.yml", am_conf(hook_port, name))
        data = tmp.join(f"{name}-data")
        os.makedirs(data)
        p = procs.start([binary, f"--config.file={conf}", f"--storage.path={data}",
                         f"--web.listen-address=127.0.0.1:{web[i]}",
                         f"--cluster.listen-address=127.0.0.1:{gossip[i]}",
                         f"--cluster.peer=127.0.0.1:{gossip[1 - i]}",
                         "--cluster.peer-timeout=2s", "--cluster.settle-timeout=10s"],
                        log_path=tmp.join(f"{name}.log"))
        peers.append({"name": name, "port": web[i], "proc": p})
    for pe in peers:
        H.wait_for_port(pe["port"], timeout=30, proc=pe["proc"], what=pe["name"])
    return peers


def am_status(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/status", timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def cluster_ready(peers):
    for pe in peers:
        st = am_status(pe["port"])
        if not st or st["cluster"]["status"] != "ready" or len(st["cluster"].get("peers") or []) != 2:
            return False
    return True


class Proxy:
    """origin-facing stack of one proxy: c-icap with the module, Squid, and
    the rsyslog shipping its EventLog."""

    def __init__(self, name, procs, origin_port, central_port):
        self.name = name
        self.tmp = H.TempDir(prefix=f"pc-fleet-{name}-")
        self.events = self.tmp.join("events.jsonl")
        open(self.events, "a").close()  # imfile follows it from the start
        self.icap = cicap.start_cicap(self.tmp, procs, {"EventLog": self.events}, children=1)
        self.squid = S.start_squid(self.tmp, procs, self.icap.port, origin_port, ["intranet"])
        work = self.tmp.join("rsyslog-work")
        os.makedirs(work)
        self.rsyslog = start_rsyslog(procs, self.tmp, "rsyslog",
                                     rsyslog_proxy_conf(work, self.events, central_port))
        self.sent = 0

    def get(self, url, src="127.0.0.1", headers=DOC):
        """One request through this proxy from source address src; counts a 401."""
        conn = http.client.HTTPConnection("127.0.0.1", self.squid.port, timeout=15, source_address=(src, 0))
        try:
            conn.request("GET", url, headers={"Host": url.split("/")[2], **headers})
            r = conn.getresponse()
            r.read()
            if r.status == 401:
                self.sent += 1
            return r.status
        finally:
            conn.close()

    def logged(self):
        return cicap.read_events(self.events)


def key(ev):
    """Sort key of an event; an unparsed line sorts too (as its text), so it
    makes the comparison fail instead of the sort."""
    return tuple(str(ev.get(k)) for k in ("ts", "client", "url", "unparsed"))


def read_central(path):
    """The central file's lines, parsed; a line that is not JSON is kept as
    {"unparsed": line} so the test reports it. A last line with no newline
    yet is rsyslog's write still under way: left for the next read."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"unparsed": line})
    except FileNotFoundError:
        pass
    return out


def scrape(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    vals = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, v = line.rpartition(" ")
            vals[name] = float(v)
    return vals


def run(c, procs, tmp):
    hook = wt.Webhook()
    try:
        run_with_hook(c, procs, tmp, hook)
    finally:
        hook.stop()


def run_with_hook(c, procs, tmp, hook):
    peers = start_am_cluster(procs, tmp, hook.port)
    origin = O.start_origin()
    proxies = []
    try:
        central_port = H.free_port()
        central_out = tmp.join("fleet-events.jsonl")
        cwork = tmp.join("central-work")
        os.makedirs(cwork)
        central_text = rsyslog_central_conf(cwork, central_port, central_out)
        central = start_rsyslog(procs, tmp, "central", central_text)
        H.wait_for_port(central_port, timeout=30, proc=central, what="central rsyslog")
        for name in ("proxy1", "proxy2"):
            proxies.append(Proxy(name, procs, origin.server_port, central_port))
        c.check(bool(H.wait_for(lambda: cluster_ready(peers), timeout=60, interval=0.3)),
                "the two Alertmanager peers form a ready cluster")

        # The central watch: both peers get every alert.
        rules = wt.rules(tmp, resource_clients=4, resource_window=120, client_prompts=0,
                         overall_prompts=0, quiet=QUIET, resend=2)
        mport = H.free_port()
        wlog = tmp.join("watch.log")
        open(central_out, "a").close()
        watch = procs.start([wt.CLI, "watch", "--events", central_out, "--rules", rules,
                             "--state", tmp.join("state"), "--metrics", f"127.0.0.1:{mport}"]
                            + sum((["--alertmanager", f"http://127.0.0.1:{pe['port']}"] for pe in peers), []),
                            log_path=wlog)
        wt.wait_started(tmp.join("state"), None, watch, wlog)

        def central_has_all():
            want = sorted(key(e) for p in proxies for e in p.logged())
            got = sorted(key(e) for e in read_central(central_out))
            return want == got and len(want) == sum(p.sent for p in proxies)

        # Phase 1: load through both proxies, all shipped.
        for p in proxies:
            for i in range(LOAD):
                p.get(f"http://intranet/secure/load/{p.name}-a-{i}.html")
        c.check(bool(H.wait_for(central_has_all, timeout=30, interval=0.2)),
                f"phase 1: all {sum(p.sent for p in proxies)} events of both proxies reach the central file")

        # Phase 2: the central rsyslog goes away while both proxies keep logging.
        os.killpg(central.pid, signal.SIGTERM)
        central.wait(timeout=30)
        for p in proxies:
            for i in range(LOAD):
                p.get(f"http://intranet/secure/load/{p.name}-b-{i}.html")
        c.check(bool(H.wait_for(lambda: all(len(p.logged()) == p.sent for p in proxies), timeout=30)),
                "phase 2: both proxies logged their events while the central rsyslog was down")
        time.sleep(2)  # the shippers try, fail, and queue
        down_count = len(read_central(central_out))
        central = start_rsyslog(procs, tmp, "central", central_text)
        H.wait_for_port(central_port, timeout=30, proc=central, what="central rsyslog (restarted)")
        c.check(bool(H.wait_for(central_has_all, timeout=60, interval=0.3)),
                "after the central restart the queued events arrive: nothing lost, nothing twice")
        c.check(down_count == 2 * LOAD, f"while down the central file did not grow ({down_count} lines)")

        # Phase 3: the fleet-wide storm, two clients through each proxy.
        t_storm = time.time()
        for p in proxies:
            for src in STORM_CLIENTS[p.name]:
                st = p.get(STORM_URL, src=src, headers=IMG)
                c.check(st == 401, f"{p.name}: {src} gets the 401 for the storm URL")
        c.check(bool(H.wait_for(central_has_all, timeout=30, interval=0.2)),
                "storm events reach the central file")
        for p in proxies:
            storm_clients = {e["client"] for e in p.logged() if e.get("url") == STORM_URL}
            c.check(storm_clients == set(STORM_CLIENTS[p.name]),
                    f"{p.name} alone saw {len(storm_clients)} clients on the storm URL, below the threshold of 4")
            r = wt.run_watch(["--events", p.events, "--rules", rules, "--once"])
            c.check(r.returncode == 0 and "storms 0 fired" in r.stderr,
                    f"watch --once on {p.name}'s own log raises no storm ({r.stderr.strip()[-200:]})")

        def firing():
            return [r for r in hook.received if r["doc"].get("status") == "firing"]
        got = H.wait_for(firing, timeout=60, interval=0.1)
        c.check(bool(got), f"a firing notification reaches the receiver ({time.time() - t_storm:.1f} s after the storm)")
        alerts_am = [wt.storm_alerts(pe["port"]) for pe in peers]
        c.check(all(len(a) == 1 and a[0]["labels"].get("url") == STORM_URL and a[0]["labels"].get("kind") == "resource"
                    for a in alerts_am),
                f"each peer holds the one resource storm alert ({[len(a) for a in alerts_am]})")
        if alerts_am[0]:
            c.check(alerts_am[0][0]["annotations"].get("clients") == "4",
                    "the alert counts the 4 clients of both proxies")
        # Let the other peer's wait (peer-timeout 2 s) pass: still one notification.
        time.sleep(4)
        notifs = firing()
        c.check(len(notifs) == 1, f"exactly one firing notification from the cluster (got {len(notifs)}: "
                                  f"{[n['path'] for n in notifs]})")
        sender = notifs[0]["path"].strip("/") if notifs else "am1"
        survivor = [pe for pe in peers if pe["name"] != sender][0]
        victim = [pe for pe in peers if pe["name"] == sender][0]
        c.check(storm_active(wt, survivor), "the storm is still active when a peer is killed")
        os.killpg(victim["proc"].pid, signal.SIGKILL)
        victim["proc"].wait(timeout=10)
        print(f"killed {victim['name']} (it had notified); {survivor['name']} survives")

        def resolved():
            return [r for r in hook.received if r["doc"].get("status") == "resolved"]
        got = H.wait_for(resolved, timeout=QUIET + 60, interval=0.2)
        c.check(bool(got), "the storm resolves after a peer was killed: a resolved notification arrives")
        c.check(bool(got) and all(r["path"].strip("/") == survivor["name"] for r in got),
                f"the resolved notification comes from the survivor ({[r['path'] for r in got or []]})")
        c.check(not storm_active(wt, survivor), "the survivor has no active storm alert left")
        c.check(len(firing()) == 1 and len(resolved()) == 1,
                f"one firing and one resolved notification in all (got {len(firing())}, {len(resolved())})")

        # The central watch counted every event.
        total = sum(p.sent for p in proxies)
        m = H.wait_for(lambda: (lambda v: v if v.get("promptcause_storms_resolved_total") == 1 else None)(scrape(mport)),
                       timeout=10) or scrape(mport)
        c.check(m.get("promptcause_prompting_events_total") == total,
                f"the central watch counted all {total} events ({m.get('promptcause_prompting_events_total')})")
        c.check(m.get("promptcause_storms_fired_total") == 1 and m.get("promptcause_storms_resolved_total") == 1,
                f"the central watch fired and resolved one storm ({m.get('promptcause_storms_fired_total')}, "
                f"{m.get('promptcause_storms_resolved_total')})")
        central_lines = read_central(central_out)
        c.check(all("unparsed" not in e for e in central_lines), "every central line is the event's JSON, unchanged")
        print(f"measure: events sent {total} (proxy1 {proxies[0].sent}, proxy2 {proxies[1].sent}), "
              f"logged {sum(len(p.logged()) for p in proxies)}, received centrally {len(central_lines)}, "
              f"of which {2 * LOAD} were logged while the central rsyslog was down")
        print(f"measure: alerts in Alertmanager 1, firing notifications {len(firing())}, "
              f"resolved notifications {len(resolved())}")
        c.check(watch.poll() is None, "central watch still running")
        if c.failed:
            print(f"--- watch.log\n{H.tail(wlog, 20)}")
    finally:
        procs.stop_all()
        origin.shutdown()
        for p in proxies:
            p.tmp.cleanup()


def storm_active(wt_mod, peer):
    try:
        return any(a["labels"].get("url") == STORM_URL for a in wt_mod.storm_alerts(peer["port"]))
    except OSError:
        return False


def main():
    if not os.access(wt.CLI, os.X_OK):
        print(f"missing {wt.CLI}")
        return 1
    for b in ("rsyslogd", "squid", "c-icap"):
        if H.find_binary(b) is None:
            print(f"SKIP: {b} not installed")
            return H.SKIP
    if H.find_binary("prometheus-alertmanager") is None and H.find_binary("alertmanager") is None:
        print("SKIP: prometheus-alertmanager not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    c = wt.Checks()
    tmp = H.TempDir(prefix="pc-fleet-")
    procs = H.Processes()
    try:
        run(c, procs, tmp)
    except Exception as e:
        import traceback
        traceback.print_exc()
        c.check(False, f"{type(e).__name__}: {e}")
        for f in ("watch.log", "central.out", "am1.log", "am2.log"):
            print(f"--- {f}\n{H.tail(tmp.join(f), 15)}")
    finally:
        procs.stop_all()
        tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
