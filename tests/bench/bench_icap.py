#!/usr/bin/env python3
"""bench_icap.py -- promptcause's ICAP benchmark: our service against srv_echo
and against the do-nothing service (tests/bench/srv_null.c, `null`).

Starts ONE c-icap that loads c-icap's srv_echo (`echo`), the null service
(`null`: 204 at preview, nothing else) and our module (`promptcause`,
EventLog in a temp dir, MaxHtmlBytes set to the preview explicitly so the
result does not depend on the shipped default), so all services share the
same server, threads and children. --case picks the traffic (icapload
--case: `401`, `type3`, `page`; repeatable, each case measured in turn). After a warm-up it runs tests/bench/icapload
against each service in turn (order ABBA across rounds, so drift over the run
hurts neither side), at the same concurrency, and prints req/s, latency and c-icap CPU per request per
round plus the medians and the ratio ours/srv_echo. It also checks that no work
was dropped: no ICAP errors, c-icap still running, and exactly one event line
per 401 answered by promptcause. Run by `make bench`; options pass through
BENCH_ARGS. Exit 0 when every check holds, 1 when one fails, 2 on bad setup.

Numbers depend on the machine; the load client shares it with c-icap.
srv_echo answers 204 in preview to every other transaction and echoes the
whole 401 back (200 + body) to the rest (see CICAP-NOTES): it is a yardstick.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import pcharness  # noqa: E402  (path set just above)

GOAL_RATIO = 1.2  # issue item: ours at least 1.2x srv_echo's req/s


def parse_args():
    p = argparse.ArgumentParser(description="ICAP benchmark: promptcause vs srv_echo (401 RESPMODs)")
    p.add_argument("--icapload", required=True, help="path of the built icapload")
    p.add_argument("--module", default=pcharness.MODULE, help="path of srv_promptcause.so")
    p.add_argument("--echo", default=pcharness.SRV_ECHO, help="path of c-icap's srv_echo.so")
    p.add_argument("--null", help="path of the built srv_null.so (tests/bench); without it no null runs")
    p.add_argument("--case", action="append", choices=("401", "type3", "page"),
                   help="icapload --case (repeatable; default: 401)")
    p.add_argument("--max-html-bytes", default="64512",
                   help="promptcause.MaxHtmlBytes for the run (default 64512 = the preview)")
    p.add_argument("--rounds", type=int, default=4, help="measured rounds per service (default 4)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per measured run (default 10)")
    p.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per service (default 3)")
    p.add_argument("--conns", type=int, default=8, help="concurrent ICAP connections (default 8)")
    p.add_argument("--children", type=int, default=2, help="c-icap child processes (default 2)")
    p.add_argument("--threads", type=int, default=10, help="c-icap ThreadsPerChild (default 10)")
    p.add_argument("--directive", action="append", default=[], metavar="NAME=VALUE",
                   help="extra promptcause.NAME VALUE line (repeatable)")
    p.add_argument("--event-dir", help="directory for the EventLog (default: the run's temp dir); "
                   "e.g. /dev/shm to keep the disk out of the measurement")
    p.add_argument("--server-cpus", metavar="LIST",
                   help="pin c-icap to these CPUs (taskset -c LIST), e.g. 0")
    p.add_argument("--client-cpus", metavar="LIST",
                   help="pin icapload to these CPUs (taskset -c LIST), e.g. 1")
    p.add_argument("--echo-only", action="store_true",
                   help="benchmark srv_echo alone (while the module is not built)")
    p.add_argument("--json-out", help="write every run's result and the summary here")
    p.add_argument("--fail-below-goal", action="store_true",
                   help=f"exit 1 when ours/srv_echo req/s is below {GOAL_RATIO}")
    a = p.parse_args()
    if a.rounds < 1 or a.seconds <= 0 or a.warmup < 0 or a.conns < 1 or a.children < 1 or a.threads < 1:
        p.error("rounds, seconds, conns, children and threads must be positive")
    # c-icap resolves a relative Service path against its ServicesDir, not our cwd
    a.icapload, a.module, a.echo = (os.path.abspath(x) for x in (a.icapload, a.module, a.echo))
    if a.null:
        a.null = os.path.abspath(a.null)
    a.case = a.case or ["401"]
    return a


def pinned(cpus):
    """argv prefix running a program on the CPUs listed, or nothing."""
    return ["taskset", "-c", cpus] if cpus else []


def cicap_cpu_seconds(root_pid):
    """User + system CPU seconds used so far by c-icap: the process root_pid
    and its children (from /proc; children that exited are not counted, and
    none may exit in a run, see crashed_children)."""
    total = 0
    for pid in [root_pid] + pcharness.children_of(root_pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def count_lines(path):
    """Number of complete lines in a file; 0 when it does not exist yet."""
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def events_path(tmp, args):
    """Where the service writes its events for this run."""
    if args.event_dir:
        return os.path.join(args.event_dir, f"pc-bench-events-{os.getpid()}.jsonl")
    return tmp.join("events.jsonl")


def write_conf(tmp, port, args):
    """c-icap.conf for the run: fixed children (no spawning mid-run), enough
    threads per child that connections never queue, unlimited keep-alive (as
    Squid uses it), logs in the temp dir."""
    lines = [
        f"PidFile {tmp.join('c-icap.pid')}",
        f"CommandsSocket {tmp.join('c-icap.ctl')}",
        f"Port 127.0.0.1:{port}",
        "Timeout 60",
        "MaxKeepAliveRequests -1",
        "KeepAliveTimeout 600",
        f"StartServers {args.children}",
        f"MaxServers {args.children}",
        "MinSpareThreads 0",
        f"MaxSpareThreads {args.children * args.threads + 1}",
        f"ThreadsPerChild {args.threads}",
        "MaxRequestsPerChild 0",
        f"TmpDir {tmp.path}",
        "MaxMemObject 131072",
        "Pipelining on",
        f"ModulesDir {pcharness.CICAP_SYS_MODULESDIR}",
        f"ServicesDir {pcharness.CICAP_SYS_MODULESDIR}",
        f"ServerLog {tmp.join('server.log')}",
        "DebugLevel 1",
        f"Service echo {args.echo}",
    ]
    if args.null:
        lines.append(f"Service null {args.null}")
    if not args.echo_only:
        lines.append(f"Service promptcause {args.module}")
        lines.append(f"promptcause.EventLog {events_path(tmp, args)}")
        lines.append(f"promptcause.MaxHtmlBytes {args.max_html_bytes}")
        for d in args.directive:
            name, sep, value = d.partition("=")
            if not sep or not name:
                raise SystemExit(f"bench_icap: --directive wants NAME=VALUE, got {d!r}")
            lines.append(f"promptcause.{name} {value}")
    return tmp.write("c-icap.conf", "\n".join(lines) + "\n")


class Bench:
    """One c-icap, the runs made against it, and the checks on each run."""

    def __init__(self, args, tmp, procs):
        self.args = args
        self.tmp = tmp
        self.procs = procs
        self.port = pcharness.free_port()
        self.conf = write_conf(tmp, self.port, args)
        self.events = events_path(tmp, args)
        self.server_log = tmp.join("server.log")
        self.seq = 0
        self.failures = []
        self.results = []
        cicap = pcharness.find_binary("c-icap")
        if not cicap:
            raise SystemExit("bench_icap: c-icap not found")
        self.proc = procs.start(pinned(args.server_cpus) + [cicap, "-N", "-f", self.conf],
                                log_path=tmp.join("c-icap.out"))
        pcharness.wait_for_port(self.port, proc=self.proc, what="c-icap")

    def run(self, service, seconds, label, case="401"):
        """One icapload run; returns its parsed JSON and records failed checks."""
        before = count_lines(self.events)
        argv = pinned(self.args.client_cpus) + [self.args.icapload, "--port", str(self.port), "--service", service,
                "--conns", str(self.args.conns), "--duration", str(seconds),
                "--seq-base", str(self.seq), "--label", label, "--case", case]
        self.seq += 10_000_000  # distinct URLs for every run
        cpu0 = cicap_cpu_seconds(self.proc.pid)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        cpu1 = cicap_cpu_seconds(self.proc.pid)
        try:
            r = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SystemExit(f"bench_icap: icapload gave no result (exit {p.returncode}):\n{p.stderr}")
        # c-icap's own CPU per answer: steadier than req/s on a shared machine,
        # since it does not depend on how much CPU the load client got
        r["cicap_us_per_req"] = (cpu1 - cpu0) * 1e6 / r["ok"] if r["ok"] else float("nan")
        if r["errors"]:
            self.failures.append(f"{label}: {r['errors']} ICAP errors: {p.stderr.strip()[:500]}")
        if self.proc.poll() is not None:
            self.failures.append(f"{label}: c-icap exited with {self.proc.returncode}")
        r["case"] = case
        if service == "promptcause" and case == "page":
            time.sleep(0.2)
            r["events"] = count_lines(self.events) - before
            if r["events"]:
                self.failures.append(f"{label}: {r['events']} event lines for 200 pages")
        elif service == "promptcause":
            # the event log is written as answers go out; allow a moment for buffers
            want = before + r["ok"]
            pcharness.wait_for(lambda: count_lines(self.events) >= want, timeout=5.0)
            time.sleep(0.2)  # and let any surplus line show up too
            got = count_lines(self.events)
            r["events"] = got - before
            if got != want:
                self.failures.append(f"{label}: {r['ok']} 401s answered but {got - before} event lines")
            if r["x_prompt"] != r["ok"]:
                self.failures.append(f"{label}: {r['ok']} answers but {r['x_prompt']} with X-Prompt-Cause")
        elif count_lines(self.events) != before:
            self.failures.append(f"{label}: {service} runs changed the event log")
        self.results.append(r)
        return r

    def crashed_children(self):
        """Lines of the server log that report a child dying."""
        try:
            with open(self.server_log, errors="replace") as f:
                return [ln.strip() for ln in f if "did not exit normally" in ln or "signaled" in ln]
        except OSError:
            return []


def fmt_row(cols, widths):
    return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cols, widths)) + " |"


def rotate(seq, k):
    """seq rotated left by k: round k starts with a different service, and
    every service runs first, middle and last equally often."""
    k %= len(seq)
    return seq[k:] + seq[:k]


def main():
    args = parse_args()
    for path, what in ((args.icapload, "icapload"), (args.echo, "srv_echo.so")):
        if not os.path.exists(path):
            raise SystemExit(f"bench_icap: {what} not found at {path}")
    if not args.echo_only and not os.path.exists(args.module):
        raise SystemExit(f"bench_icap: module not found at {args.module} (build it, or use --echo-only)")
    if args.null and not os.path.exists(args.null):
        raise SystemExit(f"bench_icap: srv_null.so not found at {args.null}")
    if args.conns > args.threads:
        raise SystemExit(f"bench_icap: --conns {args.conns} exceeds --threads {args.threads}: "
                         "connections would queue in c-icap (see CICAP-NOTES, Under load)")
    services = ["echo"] + (["null"] if args.null else []) + ([] if args.echo_only else ["promptcause"])

    tmp = pcharness.TempDir(prefix="pc-bench-")
    procs = pcharness.Processes()
    measured = {c: {s: [] for s in services} for c in args.case}
    try:
        b = Bench(args, tmp, procs)
        print(f"# c-icap: {args.children} child(ren) x {args.threads} threads, port {b.port}; "
              f"icapload: {args.conns} keep-alive connections, {args.seconds:g} s per run, "
              f"{args.rounds} rounds, warm-up {args.warmup:g} s per service; {os.cpu_count()} CPUs; "
              f"promptcause.MaxHtmlBytes {args.max_html_bytes}; cases {', '.join(args.case)}",
              flush=True)
        widths = (5, 6, 11, 9, 8, 8, 8, 6, 6, 10)
        print(fmt_row(("round", "case", "service", "req/s", "p50 ms", "p99 ms", "max ms", "204", "err",
                       "c-icap µs"), widths))
        print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
        for case in args.case:
            if args.warmup > 0:
                for s in services:
                    b.run(s, args.warmup, f"warmup-{case}-{s}", case)
            for rnd in range(1, args.rounds + 1):
                order = rotate(services, rnd - 1)
                if rnd % 2 == 0:
                    order.reverse()
                for s in order:
                    r = b.run(s, args.seconds, f"round{rnd}-{case}-{s}", case)
                    r["round"] = rnd
                    measured[case][s].append(r)
                    share204 = f"{100 * r['icap_204'] / r['ok']:.0f}%" if r["ok"] else "-"
                    print(fmt_row((rnd, case, s, f"{r['rps']:.0f}", f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}",
                                   f"{r['max_ms']:.1f}", share204, r["errors"],
                                   f"{r['cicap_us_per_req']:.1f}"), widths), flush=True)
        crashes = b.crashed_children()
        if crashes:
            b.failures.append("c-icap children died: " + "; ".join(crashes[:3]))
    finally:
        procs.stop_all()
        if args.event_dir:
            try:
                os.unlink(events_path(tmp, args))
            except FileNotFoundError:
                pass

    summary = {}
    ratio = None
    print()
    for case, per in measured.items():
        summary[case] = {s: {"rps_median": statistics.median(r["rps"] for r in rs),
                             "p99_ms_median": statistics.median(r["p99_ms"] for r in rs),
                             "p50_ms_median": statistics.median(r["p50_ms"] for r in rs),
                             "cicap_us_median": statistics.median(r["cicap_us_per_req"] for r in rs)}
                         for s, rs in per.items()}
        for s, m in summary[case].items():
            print(f"{case:>5} {s:>12}: median {m['rps_median']:.0f} req/s, p50 {m['p50_ms_median']:.3f} ms, "
                  f"p99 {m['p99_ms_median']:.3f} ms, c-icap CPU {m['cicap_us_median']:.1f} µs per request")
        if "promptcause" not in per:
            continue
        # ratios paired per round (same round, same machine state), then the median
        for other in [x for x in ("echo", "null") if x in per]:
            pr = [p["rps"] / o["rps"] for p, o in zip(per["promptcause"], per[other]) if o["rps"]]
            cpu = [p["cicap_us_per_req"] / o["cicap_us_per_req"]
                   for p, o in zip(per["promptcause"], per[other]) if o["cicap_us_per_req"]]
            med = statistics.median(pr) if pr else float("nan")
            summary[case][f"promptcause/{other}"] = {"rps_ratio_median": med, "rps_ratios": pr,
                                                     "cpu_ratio_median": statistics.median(cpu) if cpu else None}
            print(f"{case:>5} promptcause/{other}: {med:.2f}x req/s (per round: "
                  f"{', '.join(f'{x:.2f}' for x in pr)}), "
                  f"{statistics.median(cpu) if cpu else float('nan'):.2f}x c-icap CPU per request")
            if case == "401" and other == "echo":
                ratio = med
    total_events = sum(r.get("events", 0) for r in b.results)
    if not args.echo_only:
        print(f"event log: {total_events} lines for "
              f"{sum(r['ok'] for r in b.results if r['service'] == 'promptcause' and r['case'] != 'page')} "
              "401s sent to promptcause")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"args": vars(args), "runs": b.results, "summary": summary, "ratio": ratio,
                       "failures": b.failures}, f, indent=1)
    if b.failures:
        print("\nFAILED checks:", file=sys.stderr)
        for msg in b.failures:
            print("  " + msg, file=sys.stderr)
        sys.stderr.write("c-icap server log tail:\n" + pcharness.tail(b.server_log, 20))
        tmp.cleanup()
        return 1
    tmp.cleanup()
    if args.fail_below_goal and ratio is not None and ratio < GOAL_RATIO:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
