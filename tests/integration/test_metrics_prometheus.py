#!/usr/bin/env python3
"""test_metrics_prometheus -- `promptcause watch --metrics` scraped by a real
Prometheus (Debian's prometheus: own config, temp TSDB, loopback, 1 s scrape
and evaluation) that evaluates the shipped etc/promptcause.rules.yml and
sends to a real Alertmanager (prometheus-alertmanager, gossip off):

- watch follows an event log this test writes (SPEC §3 lines: several
  causes, prompts and reasons, 30 hosts, one with a quote and a backslash in
  its name, non-prompting events, garbage);
- /metrics scraped directly: every counter equals what was written, the
  host set is bounded (top 5 exact, the rest in "other"), label values are
  escaped and read back exactly, storms and follow offset are right, the
  process metrics are there, `promtool check metrics` finds nothing to lint;
- the delivery gauges: a webhook that is down shows a queue of 1 whose age
  grows; once the receiver listens, the queue drains and delivered counts 1;
- Prometheus has the same values (its own parser read them), and the
  shipped PromptStormMetrics rule fires and reaches Alertmanager, where the
  test sees it through the API v2.
Exit 0 pass, 77 skip (prometheus or alertmanager not installed), 1 fail.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness  # noqa: E402
import watchtools as wt  # noqa: E402

RULES = os.path.join(pcharness.TOP_SRCDIR, "etc", "promptcause.rules.yml")
TOP_N = 5
ODD_HOST = 'we"ird\\host'  # a quote and a backslash: must round-trip through the escaping

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(v[i + 1], "\\" + v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def parse(text):
    """Text exposition format to {(name, frozenset(labels)): value}; raises
    ValueError on a line that is neither a comment nor a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError(f"bad line: {line!r}")
        labels = {}
        body = m.group(2) or ""
        pos = 0
        while pos < len(body):
            lm = LABEL.match(body, pos)
            if lm is None:
                raise ValueError(f"bad labels: {line!r}")
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def get(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())))


def series(metrics, name):
    return {k[1]: v for k, v in metrics.items() if k[0] == name}


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def prom_query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.loads(r.read())
    return doc["data"]["result"]


def prom_value(port, q):
    try:
        res = prom_query(port, q)
    except OSError:
        return None
    return float(res[0]["value"][1]) if len(res) == 1 else None


def targets_up(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
            doc = json.loads(r.read())
    except OSError:
        return False
    act = doc["data"]["activeTargets"]
    return bool(act) and all(t["health"] == "up" for t in act)


def write_events(ev):
    """The events, and what each counter must read afterwards."""
    want = {"events": {}, "hosts": {}, "prompting": 0, "total": 0}
    lines = []

    def add(host, n, cause="embedded-denied", prompt="basic", reason=None, client_base=0):
        for i in range(n):
            line = json.loads(wt.event(f"10.{client_base}.{i // 250}.{i % 250}",
                                       f"http://{host}/img/{i % 7}.gif", prompt=prompt, cause=cause,
                                       host=host))
            line["reason"] = reason
            lines.append(json.dumps(line) + "\n")
            key = (cause, prompt, reason or "none")
            want["events"][key] = want["events"].get(key, 0) + 1
            want["hosts"][host] = want["hosts"].get(host, 0) + 1
            want["total"] += 1
            if prompt not in ("none", "silent", "suppressed"):
                want["prompting"] += 1

    # Five heavy hosts first (they take the top-N set and keep it), then a
    # tail of 25 hosts with fewer events each, which all land in "other".
    add("intranet", 200)
    add("wiki.corp.example", 150, cause="page-denied")
    add(ODD_HOST, 120, cause="handler-denied", prompt="digest")
    add("mail.corp.example", 100, cause="credentials-rejected", prompt="rejected",
        reason="foreign-domain", client_base=1)
    add("sso.corp.example", 90, cause="handshake", prompt="none")
    for k in range(25):
        add(f"tail{k}.example", 3 + k % 4, cause="page-denied", prompt="not-intranet", client_base=2)
    add("mail.corp.example", 10, cause="credentials-rejected", prompt="rejected", reason="ntlmv1",
        client_base=3)
    add("intranet", 40, prompt="silent", cause="page-denied")
    lines.insert(300, "this is not json\n")
    wt.append(ev, "".join(lines))
    want["garbage"] = 1
    want["lines"] = len(lines)
    return want


def start_prometheus(procs, tmp, metrics_port, am_port):
    binary = pcharness.find_binary("prometheus")
    port = pcharness.free_port()
    conf = tmp.write("prometheus.yml", f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: promptcause-watch
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
    data = tmp.join("tsdb")
    os.makedirs(data)
    p = procs.start([binary, f"--config.file={conf}", f"--storage.tsdb.path={data}",
                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                    log_path=tmp.join("prometheus.log"))
    pcharness.wait_for_port(port, timeout=60, proc=p, what="prometheus")
    return port


def bad_usage(c, tmp, busy_port):
    """--metrics errors are one-line usage errors (exit 2), before any work."""
    ev = tmp.write("empty.log", "")
    for args, what in [(["--metrics", "nonsense"], "expected ADDR:PORT"),
                       (["--metrics", "127.0.0.1:99999"], "bad port"),
                       (["--metrics", "127.0.0.1:9464", "--metrics-hosts", "0"], "1 to 1000"),
                       (["--metrics-hosts", "5"], "needs --metrics"),
                       (["--metrics", f"127.0.0.1:{busy_port}"], "cannot listen")]:
        r = wt.run_watch(["--events", ev, "--once"] + args, timeout=30)
        c.check(r.returncode == 2 and what in r.stderr and r.stderr.count("\n") <= 2,
                f"watch {' '.join(args)}: exit 2, '{what}' ({r.returncode}: {r.stderr.strip()[-200:]})")


def run(c, procs, tmp):
    am_port, _ = wt.start_alertmanager(procs, tmp)
    ev = tmp.join("events.log")
    open(ev, "w").close()
    hook_port = pcharness.free_port()  # nothing listens there yet
    mport = pcharness.free_port()
    # A resource storm needs 3 clients on one URL within 30 s: the heavy
    # hosts make several; quiet long enough that they stay active.
    wt.rules(tmp, quiet=600, resend=600)
    log = tmp.join("watch.log")
    p = procs.start([wt.CLI, "watch", "--events", ev, "--rules", tmp.join("rules"), "--state", tmp.join("state"),
                     "--webhook", f"http://127.0.0.1:{hook_port}/hook", "--metrics", f"127.0.0.1:{mport}",
                     "--metrics-hosts", str(TOP_N)], log_path=log)
    pcharness.wait_for_port(mport, timeout=30, proc=p, what="watch --metrics")
    ctype, text = scrape(mport)
    c.check(ctype == "text/plain; version=0.0.4; charset=utf-8", f"Content-Type of the text format (got {ctype})")
    m = parse(text)
    c.check(get(m, "promptcause_prompting_events_total") == 0, "before any event: prompting counter exists at 0")
    c.check(get(m, "process_open_fds") is not None and get(m, "process_open_fds") > 3, "process_open_fds")
    start = get(m, "process_start_time_seconds")
    c.check(start is not None and abs(start - time.time()) < 120,
            f"process_start_time_seconds is about now (got {start})")
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{mport}/nope", timeout=5)
        c.check(False, "an unknown path is 404")
    except urllib.error.HTTPError as e:
        c.check(e.code == 404, f"an unknown path is 404 (got {e.code})")

    t0 = time.time()
    pport = start_prometheus(procs, tmp, mport, am_port)
    bad_usage(c, tmp, mport)
    c.check(bool(pcharness.wait_for(lambda: targets_up(pport), timeout=60, interval=0.2)),
            "Prometheus scrapes watch (target up)")
    # Prometheus must have seen the counter at 0 before the burst, or rate()
    # has one point of the new value only.
    c.check(bool(pcharness.wait_for(lambda: prom_value(pport, "promptcause_prompting_events_total") == 0,
                                    timeout=30, interval=0.2)), "Prometheus has the counter at 0")

    print(f"measure: Prometheus up and scraping {time.time() - t0:.1f} s")
    want = write_events(ev)
    size = os.path.getsize(ev)
    done = pcharness.wait_for(lambda: get(parse(scrape(mport)[1]), "promptcause_follow_offset_bytes") == size,
                              timeout=30, interval=0.1)
    c.check(bool(done), f"follow offset reaches the log size {size}")
    m = parse(scrape(mport)[1])
    got_events = {tuple(dict(k)[x] for x in ("cause", "prompt", "reason")): v
                  for k, v in series(m, "promptcause_events_total").items()}
    c.check(got_events == {k: float(v) for k, v in want["events"].items()},
            f"promptcause_events_total by cause, prompt, reason equals the events written "
            f"({sorted(got_events.items())})")
    c.check(get(m, "promptcause_prompting_events_total") == want["prompting"],
            f"promptcause_prompting_events_total = {want['prompting']} (got "
            f"{get(m, 'promptcause_prompting_events_total')})")
    hosts = {dict(k)["host"]: v for k, v in series(m, "promptcause_events_by_host_total").items()}
    top = sorted(want["hosts"], key=lambda h: -want["hosts"][h])[:TOP_N]
    c.check(len(hosts) == TOP_N + 1, f"host series bounded: {TOP_N} hosts + other (got {len(hosts)}: {sorted(hosts)})")
    c.check(all(hosts.get(h) == want["hosts"][h] for h in top),
            f"the top {TOP_N} hosts have their exact counts ({[(h, hosts.get(h), want['hosts'][h]) for h in top]})")
    c.check(ODD_HOST in hosts, "a host with a quote and a backslash reads back exactly after escaping")
    rest = sum(v for h, v in want["hosts"].items() if h not in top)
    c.check(hosts.get("other") == rest, f"every other host's events are in host=\"other\" ({hosts.get('other')} == {rest})")
    c.check(sum(hosts.values()) == want["total"], "host series sum to the events written")
    c.check(get(m, "promptcause_watch_lines_total") == want["lines"], "lines read, garbage included")
    c.check(get(m, "promptcause_watch_garbage_lines_total") == 1, "the garbage line is counted")
    c.check(get(m, "promptcause_follow_file_size_bytes") == size, "file size gauge")
    active = series(m, "promptcause_storms_active")
    c.check(active.get(frozenset({("kind", "resource")}), 0) >= 1,
            f"resource storms active ({active})")
    c.check(get(m, "promptcause_storms_fired_total") >= 1, "storms fired counted")
    rss = get(m, "process_resident_memory_bytes")
    c.check(rss is not None and 1e6 < rss < 1e9, f"process_resident_memory_bytes plausible ({rss})")
    c.check(get(m, "process_cpu_seconds_total") is not None, "process_cpu_seconds_total")

    # Delivery: the webhook is down, so the firing messages wait.
    depth = get(m, "promptcause_delivery_queue_depth", target="webhook")
    age1 = get(m, "promptcause_delivery_oldest_undelivered_age_seconds", target="webhook")
    c.check(depth is not None and depth >= 1, f"undeliverable webhook messages are queued (depth {depth})")
    time.sleep(1.2)
    m2 = parse(scrape(mport)[1])
    age2 = get(m2, "promptcause_delivery_oldest_undelivered_age_seconds", target="webhook")
    c.check(age1 is not None and age2 is not None and age2 > age1 >= 0,
            f"the oldest undelivered message's age grows ({age1} -> {age2})")
    c.check((get(m2, "promptcause_delivery_failures_total", target="webhook") or 0) >= 1,
            "failed delivery attempts are counted")

    promtool = pcharness.find_binary("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=scrape(mport)[1], capture_output=True,
                           text=True, timeout=30)
        c.check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
                f"promtool check metrics: no problem ({(r.stdout + r.stderr).strip()[:300]})")

    # Prometheus read the same numbers with its own parser.
    pv = pcharness.wait_for(lambda: prom_value(pport, "promptcause_prompting_events_total") == want["prompting"],
                            timeout=30, interval=0.2)
    c.check(bool(pv), "Prometheus has promptcause_prompting_events_total as written")
    q = 'promptcause_events_total{cause="credentials-rejected",reason="foreign-domain"}'
    c.check(prom_value(pport, q) == want["events"][("credentials-rejected", "rejected", "foreign-domain")],
            "Prometheus has the reason label")
    q = 'promptcause_events_by_host_total{host="%s"}' % ODD_HOST.replace("\\", "\\\\").replace('"', '\\"')
    c.check(prom_value(pport, q) == want["hosts"][ODD_HOST], "Prometheus has the escaped host label")

    # The shipped rule fires and Alertmanager gets it.
    def am_has():
        try:
            return [a for a in wt.am_alerts(am_port) if a["labels"].get("alertname") == "PromptStormMetrics"]
        except OSError:
            return []
    t0 = time.time()
    got = pcharness.wait_for(am_has, timeout=90, interval=0.3)
    print(f"measure: rule to Alertmanager {time.time() - t0:.1f} s")
    c.check(bool(got), "PromptStormMetrics from the shipped rule file reaches Alertmanager")
    if got:
        lab = got[0]["labels"]
        c.check(lab.get("job") == "promptcause-watch" and lab.get("instance") == f"127.0.0.1:{mport}",
                f"the alert names the watch instance ({lab})")
        c.check(lab.get("severity") == "warning", "severity label from the rule")
        c.check("password prompts per second" in got[0]["annotations"].get("summary", ""),
                "summary annotation from the rule")
        c.check(got[0]["status"]["state"] == "active", "the alert is active in Alertmanager")
    c.check(prom_value(pport, 'ALERTS{alertname="PromptcauseWatchDown"}') is None,
            "PromptcauseWatchDown does not fire while watch is up")

    # The webhook comes up: the queue drains.
    hook = wt.Webhook(port=hook_port)
    try:
        def drained():
            mm = parse(scrape(mport)[1])
            return (get(mm, "promptcause_delivery_queue_depth", target="webhook") == 0
                    and (get(mm, "promptcause_delivery_delivered_total", target="webhook") or 0) >= 1 and mm)
        mm = pcharness.wait_for(drained, timeout=60, interval=0.2)
        c.check(bool(mm), "once the webhook listens the queue drains and deliveries are counted")
        if mm:
            c.check(get(mm, "promptcause_delivery_oldest_undelivered_age_seconds", target="webhook") == 0,
                    "nothing waiting: oldest age 0")
            c.check(get(mm, "promptcause_delivery_delivered_total", target="webhook") == len(hook.received),
                    f"delivered_total equals the POSTs the receiver got ({len(hook.received)})")
    finally:
        hook.stop()
    c.check(p.poll() is None, "watch still running")


def main():
    if not os.access(wt.CLI, os.X_OK):
        print(f"missing {wt.CLI}")
        return 1
    for b in ("prometheus", "prometheus-alertmanager"):
        if pcharness.find_binary(b) is None:
            print(f"SKIP: {b} not installed")
            return pcharness.SKIP
    c = wt.Checks()
    tmp = pcharness.TempDir(prefix="pc-metrics-")
    procs = pcharness.Processes()
    try:
        run(c, procs, tmp)
    except Exception as e:
        c.check(False, f"{type(e).__name__}: {e}")
        for f in ("watch.log", "prometheus.log", "alertmanager.log"):
            print(f"--- {f}\n{pcharness.tail(tmp.join(f), 20)}")
    finally:
        procs.stop_all()
        tmp.cleanup()
    return c.exit_code()


if __name__ == "__main__":
    sys.exit(main())
