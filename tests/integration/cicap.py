"""cicap -- run a real c-icap with the built promptcause module for a test.

start_cicap() writes a c-icap.conf into the test's temp dir (free loopback
port, pid file, command socket and logs in the temp dir, system ModulesDir for
c-icap's own modules, `Service promptcause <absolute path of the built .so>`,
which c-icap 0.5.10 dlopens as given when it starts with '/'), starts
`c-icap -N -f conf` under the test's Processes and waits for the port.

Root: the config has no User/Group line, so c-icap keeps running as the user
that started it (root in CI) and the children can write the temp dir.

Set PC_CICAP_DEBUG=N to run c-icap with `-D -d N` (debug output lands in
<tmp>/c-icap.out).

Set PC_CICAP_WRAP to a command prefix (split like a shell would) to run c-icap
under it: scripts/sanitizer-check.sh sets `env LD_PRELOAD=<libasan>
ASAN_OPTIONS=...` (a sanitized module loaded into an unsanitized c-icap needs
the ASan runtime first), scripts/valgrind-check.sh sets `valgrind ...`.
"""
import json
import os
import shlex
import subprocess

import pcharness as H


class CIcap:
    """A started c-icap: .port, .event_log, .server_log, .conf, .proc, .out."""

    def __init__(self, port, event_log, server_log, conf, proc, out):
        self.port = port
        self.event_log = event_log
        self.server_log = server_log
        self.conf = conf
        self.proc = proc
        self.out = out


def _directive_lines(directives):
    """dict or list of (name, value) -> 'promptcause.Name value' lines. A value
    of None leaves the directive out (to drop the default EventLog)."""
    items = directives.items() if isinstance(directives, dict) else list(directives or [])
    lines = []
    for name, value in items:
        if value is None:
            continue
        lines.append(f"promptcause.{name} {value}")
    return lines


def _has(directives, name):
    items = directives.items() if isinstance(directives, dict) else list(directives or [])
    return any(n == name for n, _ in items)


def _value(directives, name):
    items = directives.items() if isinstance(directives, dict) else list(directives or [])
    for n, v in items:
        if n == name:
            return v
    return None


def write_conf(tmp, port, directives=(), extra_conf="", children=1, threads=10, echo=False,
               name="c-icap.conf"):
    """Write a c-icap.conf for the module into tmp; returns its path."""
    lines = [
        f"PidFile {tmp.join('c-icap.pid')}",
        f"CommandsSocket {tmp.join('c-icap.ctl')}",
        f"Port 127.0.0.1:{port}",
        "Timeout 30",
        "MaxKeepAliveRequests 100",
        "KeepAliveTimeout 60",
        f"StartServers {children}",
        f"MaxServers {children}",
        "MinSpareThreads 0",
        f"MaxSpareThreads {children * threads + 1}",
        f"ThreadsPerChild {threads}",
        "MaxRequestsPerChild 0",
        f"TmpDir {tmp.path}",
        "MaxMemObject 131072",
        "Pipelining on",
        f"ModulesDir {H.CICAP_SYS_MODULESDIR}",
        f"ServicesDir {H.CICAP_SYS_MODULESDIR}",
        f"ServerLog {tmp.join('server.log')}",
        f"AccessLog {tmp.join('access.log')}",
        "DebugLevel 1",
    ]
    if echo:
        lines.append(f"Service echo {H.SRV_ECHO}")
    lines.append(f"Service promptcause {os.path.abspath(H.MODULE)}")
    if not _has(directives, "EventLog"):
        lines.append(f"promptcause.EventLog {tmp.join('events.jsonl')}")
    lines += _directive_lines(directives)
    if extra_conf:
        lines.append(extra_conf.rstrip("\n"))
    return tmp.write(name, "\n".join(lines) + "\n")


def cicap_argv(conf):
    """argv to run c-icap in the foreground on conf (with -D -d N when PC_CICAP_DEBUG=N)."""
    binary = H.find_binary("c-icap")
    if binary is None:
        raise FileNotFoundError("c-icap not installed")
    argv = [binary, "-N", "-f", conf]
    level = os.environ.get("PC_CICAP_DEBUG")
    if level:
        argv += ["-D", "-d", level]
    wrap = os.environ.get("PC_CICAP_WRAP")
    if wrap:
        argv = shlex.split(wrap) + argv
    return argv


def start_cicap(tmp, procs, directives=(), extra_conf="", children=1, threads=10, echo=False):
    """Start c-icap with promptcause configured by directives; wait for its port.
    Raises RuntimeError (with the server log's tail) when it does not come up."""
    port = H.free_port()
    conf = write_conf(tmp, port, directives, extra_conf, children, threads, echo)
    event_log = _value(directives, "EventLog") or tmp.join("events.jsonl")
    out = tmp.join("c-icap.out")
    proc = procs.start(cicap_argv(conf), log_path=out)
    try:
        H.wait_for_port(port, timeout=15.0, proc=proc, what="c-icap")
    except RuntimeError as e:
        raise RuntimeError(f"{e}\n--- {out}:\n{H.tail(out)}\n--- server.log:\n{H.tail(tmp.join('server.log'))}")
    return CIcap(port, event_log, tmp.join("server.log"), conf, proc, out)


def run_cicap_expect_exit(tmp, directives=(), extra_conf="", timeout=10.0, name="bad.conf"):
    """Run c-icap on a config that should be refused. Returns (exit status or
    None if it was still running after timeout and had to be killed, stdout+stderr)."""
    port = H.free_port()
    conf = write_conf(tmp, port, directives, extra_conf, name=name)
    argv = cicap_argv(conf)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, _ = p.communicate()
        return None, out.decode("utf-8", "replace")


def read_events(path):
    """Events in a JSON Lines file, as dicts (missing file: []). A line that is
    not JSON raises ValueError: the log must never hold half lines. A last
    line with no newline yet is a write still under way (a reader can see part
    of another process's write(2) to a regular file) and is left for the next
    read; one that stays cut shows up as missing events."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    events = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as e:
            raise ValueError(f"{path}:{i}: not a JSON line ({e}): {line[:200]!r}")
    return events


def info_stats(port):
    """promptcause's counters from c-icap's info service, as {label: int}.
    Raises AssertionError when the info output has no promptcause section."""
    import icapclient as C
    r = C.reqmod(port, "GET http://stats/ HTTP/1.1\nHost: stats\n")
    text = (r.body or b"").decode("latin-1")
    part = text.split("promptcause Statistics", 1)
    if len(part) != 2:
        raise AssertionError(f"no promptcause section in info output: {text[-500:]!r}")
    stats = {}
    for line in part[1].splitlines():
        name, sep, value = line.partition(" : ")
        if sep and value.strip().isdigit():
            stats[name.strip()] = int(value)
    return stats
