#!/usr/bin/env python3
"""bench_links_startup.py -- what one `promptcause links` process costs.

Run by hand (never by make check); figures go to docs/BENCHMARKS.md.

    python3 tests/bench/bench_links_startup.py --build BUILD [--rounds 5] [--runs 300]

Two measurements, interleaved per round so machine drift favours none:
1. Start-up: `promptcause links < /dev/null` against a C program that only
   links libc (built here), and against `promptcause-tools links`, which
   links every library of the command (what promptcause was before the
   split). Median wall time of a fork+exec+wait over --runs runs.
2. One process per document on the Debian documentation HTML >= 256 KiB:
   `promptcause links FILE` per file against the libgumbo reference
   (tests/oracle/gumbo_links.c at -O2, one process per file too), and the
   same files through one `promptcause links --manifest` process.
Processes are started with os.posix_spawn (no shell) and timed with
perf_counter around spawn and wait.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRC = os.path.abspath(os.path.join(HERE, "..", ".."))


def spawn_time(argv, stdin_path, runs):
    """Median seconds of spawning argv with stdin from stdin_path, stdout discarded."""
    null_out = os.open(os.devnull, os.O_WRONLY)
    times = []
    for _ in range(runs):
        fd_in = os.open(stdin_path, os.O_RDONLY)
        acts = [(os.POSIX_SPAWN_DUP2, fd_in, 0), (os.POSIX_SPAWN_DUP2, null_out, 1)]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=acts)
        _, status = os.waitpid(pid, 0)
        times.append(time.perf_counter() - t0)
        os.close(fd_in)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv} exited {status}")
    os.close(null_out)
    return statistics.median(times)


def per_document(argv_of, files):
    """Seconds to run one process per file (sum over files)."""
    total = 0.0
    for f in files:
        total += spawn_time(argv_of(f), os.devnull, 1)
    return total


def build_helpers(tmp):
    cc = shutil.which("cc") or shutil.which("gcc")
    nop_c = os.path.join(tmp, "nop.c")
    with open(nop_c, "w") as f:
        f.write("int main(void) { return 0; }\n")
    nop = os.path.join(tmp, "nop")
    subprocess.run([cc, "-O2", "-o", nop, nop_c], check=True)
    gumbo = os.path.join(tmp, "gumbo_links")
    srcs = [os.path.join(TOP_SRC, p) for p in (
        "tests/oracle/gumbo_links.c", "cli/linkset.c", "core/urlres.c", "core/event_names.c")]
    subprocess.run([cc, "-std=gnu11", "-O2", "-I" + os.path.join(TOP_SRC, "core"),
                    "-I" + os.path.join(TOP_SRC, "cli"), "-o", gumbo] + srcs + ["-lgumbo", "-lm"],
                   check=True)
    return nop, gumbo


def corpus(min_bytes):
    out = []
    for root in ("/usr/share/doc", "/usr/share/debian-reference"):
        for d, _, names in os.walk(root):
            for n in names:
                p = os.path.join(d, n)
                if n.endswith((".html", ".htm")) and os.path.isfile(p) and os.path.getsize(p) >= min_bytes:
                    out.append(p)
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="build directory (holds cli/promptcause)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--min-bytes", type=int, default=256 * 1024)
    a = ap.parse_args()
    pc = os.path.join(os.path.abspath(a.build), "cli", "promptcause")
    tools = os.path.join(os.path.abspath(a.build), "cli", "promptcause-tools")
    files = corpus(a.min_bytes)
    if not files:
        raise SystemExit("no HTML >= %d bytes under /usr/share/doc" % a.min_bytes)
    tmp = tempfile.mkdtemp(prefix="pc-bench-links-")
    try:
        nop, gumbo = build_helpers(tmp)
        manifest = os.path.join(tmp, "manifest")
        with open(manifest, "w") as f:
            for p in files:
                f.write("file://localhost/\t%s\n" % p.replace("\t", " "))
        size = sum(os.path.getsize(p) for p in files)
        print(f"corpus: {len(files)} files >= {a.min_bytes} bytes, {size / 1e6:.1f} MB; "
              f"{a.rounds} rounds, {a.runs} start-ups per program per round")
        rows = []
        for r in range(a.rounds):
            order = [0, 1, 2] if r % 2 == 0 else [2, 1, 0]
            st = {}
            for k in order:
                argv = [[nop], [pc, "links"], [tools, "links"]][k]
                st[k] = spawn_time(argv, os.devnull, a.runs)
            g = per_document(lambda f: [gumbo, f], files)
            p = per_document(lambda f: [pc, "links", f], files)
            m = spawn_time([pc, "links", "--manifest", manifest], os.devnull, 1)
            rows.append((st[0], st[1], st[2], g, p, m))
            print(f"round {r + 1}: start-up libc-only {st[0] * 1e3:.3f} ms, promptcause links "
                  f"{st[1] * 1e3:.3f} ms (+{(st[1] - st[0]) * 1e3:.3f}), promptcause-tools links "
                  f"{st[2] * 1e3:.3f} ms (+{(st[2] - st[0]) * 1e3:.3f}); per document: gumbo {g:.3f} s, "
                  f"promptcause {p:.3f} s ({g / p:.2f}x), one --manifest process {m:.3f} s ({g / m:.2f}x)")
        med = [statistics.median(c) for c in zip(*rows)]
        print("median: start-up over libc-only: promptcause links +%.3f ms, promptcause-tools links +%.3f ms; "
              "one process per document: %.2fx libgumbo; one manifest process: %.2fx libgumbo"
              % ((med[1] - med[0]) * 1e3, (med[2] - med[0]) * 1e3, med[3] / med[4], med[3] / med[5]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
