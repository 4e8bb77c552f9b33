"""pcharness -- shared plumbing for promptcause's integration tests.

Every test starts the real parts itself (c-icap with the built module, Squid,
an origin), on loopback ports it picks, in its own temp dir, and stops what it
started even when an assertion fails. This file holds only what every test
needs: paths from the build, free ports, waiting for a port, process cleanup.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import traceback
import tempfile
import time

TOP_BUILDDIR = os.environ.get("PC_TOP_BUILDDIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
TOP_SRCDIR = os.environ.get("PC_TOP_SRCDIR", TOP_BUILDDIR)
MODULE = os.environ.get("PC_MODULE", os.path.join(TOP_BUILDDIR, "module", ".libs", "srv_promptcause.so"))
CICAP_SYS_MODULESDIR = os.environ.get("PC_CICAP_SYS_MODULESDIR", "/usr/lib/x86_64-linux-gnu/c_icap/")
SRV_ECHO = os.environ.get("PC_SRV_ECHO", os.path.join(CICAP_SYS_MODULESDIR, "srv_echo.so"))

SKIP = 77  # automake's "skipped" exit status
HARD_ERROR = 99


def run_main(main):
    """Exit with main()'s status; an unexpected exception is a hard error (99)
    with its traceback, so automake tells a broken harness from a failed case."""
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(HARD_ERROR)


def find_binary(name, extra=("/usr/sbin", "/usr/bin", "/usr/local/sbin")):
    """Absolute path of a program, looking in sbin dirs too; None when absent."""
    path = shutil.which(name)
    if path:
        return path
    for d in extra:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=15.0, proc=None, what="service"):
    """Wait until 127.0.0.1:port accepts connections; raise if proc dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout}s")


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll predicate() until it returns a true value; return it, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


class TempDir:
    """A per-test temp dir, world-traversable so Squid/c-icap children running
    as an unprivileged user can read their config and write their logs."""

    def __init__(self, prefix="pc-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o777)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def write(self, name, text, mode=0o644):
        p = self.join(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def cleanup(self):
        if os.environ.get("PC_KEEP_TMP"):
            sys.stderr.write(f"kept temp dir {self.path}\n")
            return
        shutil.rmtree(self.path, ignore_errors=True)


class Processes:
    """Processes a test started; stop_all() ends them (process group first
    SIGTERM, then SIGKILL) so nothing outlives the test."""

    def __init__(self):
        self.procs = []

    def start(self, argv, log_path=None, **kw):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop_all(self, grace=5.0):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for p in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []


def children_of(pid):
    """PIDs of pid's child processes (e.g. c-icap's children), from /proc, sorted."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(kids)


def tail(path, n=40):
    """Last n lines of a log file, for failure messages."""
    try:
        with open(path, "r", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return f"<cannot read {path}: {e}>"
