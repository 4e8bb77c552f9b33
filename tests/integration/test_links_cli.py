#!/usr/bin/env python3
"""test_links_cli.py -- `promptcause links` with several documents and a
manifest, and the start-up split of the command (mk/cli.am).

Runs the built command on documents written to a temp dir and checks its
lines, its prefixes and its exit codes. The split is checked by what the
dynamic linker loads: cli/promptcause must need only libc (so a links run
per document loads no libcurl, OpenSSL, jansson, PCRE2), and must still reach
probe/watch/analyze through promptcause-tools, or say clearly when that
program is missing. Start-up time itself is measured by hand in
tests/bench/bench_links_startup.py, never here.
"""
import os
import shutil
import subprocess
import sys
import tempfile

TOP_BUILDDIR = os.environ.get("PC_TOP_BUILDDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP_BUILDDIR, "cli", "promptcause")
TOOLS = os.path.join(TOP_BUILDDIR, "cli", "promptcause-tools")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(args, cwd, stdin=None, sub="links"):
    p = subprocess.run([BIN] + ([sub] if sub else []) + args, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    d = tempfile.mkdtemp(prefix="pc-links-")
    try:
        with open(os.path.join(d, "a.html"), "w") as f:
            f.write('<img src=a.png><script src="/s.js"></script><img src=a.png>')
        with open(os.path.join(d, "b.html"), "w") as f:
            f.write('<base href="sub/"><link rel=stylesheet href=x.css><img src=a.png>')

        rc, out, _ = run(["a.html"], d)
        check(rc == 0 and out == "image a.png\nscript /s.js\n", "one FILE: no prefix, each pair once")

        rc, out, _ = run(["--base", "http://h/p/", "a.html", "b.html"], d)
        want = ("a.html\timage http://h/p/a.png\na.html\tscript http://h/s.js\n"
                "b.html\tstyle http://h/p/sub/x.css\nb.html\timage http://h/p/sub/a.png\n")
        check(rc == 0 and out == want, "two FILEs: --base applied per file, path prefix, de-duplicated per file")

        with open(os.path.join(d, "m.txt"), "w") as f:
            f.write("# pages\n\nhttp://one/d/\ta.html\n-\tb.html\nhttps://two/\tb.html\n")
        rc, out, _ = run(["--manifest", "m.txt"], d)
        want = ("a.html\timage http://one/d/a.png\na.html\tscript http://one/s.js\n"
                "b.html\tstyle x.css\nb.html\timage a.png\n"  # a relative <base> needs a document URL
                "b.html\tstyle https://two/sub/x.css\nb.html\timage https://two/sub/a.png\n")
        check(rc == 0 and out == want, "manifest: each line's BASE, '-' for none, comments and blanks skipped")

        rc, out, err = run(["--manifest", "-"], d, stdin="http://x/\tmissing.html\nhttp://x/\ta.html\n")
        check(rc == 2 and "cannot read missing.html" in err and "a.html\timage http://x/a.png" in out,
              "manifest: an unreadable document is reported, the others still printed, exit 2")

        rc, out, err = run(["--manifest", "-"], d, stdin="no tab here\n")
        check(rc == 2 and "-:1: expected 'BASE<TAB>PATH'" in err, "manifest: a line without a tab names its line")

        rc, out, err = run(["--manifest", "-"], d, stdin="relative/\ta.html\n")
        check(rc == 2 and "BASE must be an absolute URL" in err, "manifest: a relative BASE is refused")

        rc, out, err = run(["--manifest"], d)
        check(rc == 2 and "--manifest needs a FILE" in err, "--manifest without FILE: usage error")

        rc, out, _ = run([], d, stdin="<iframe src=f.html>")
        check(rc == 0 and out == "frame f.html\n", "no FILE: standard input, no prefix")

        rc, out, _ = run(["--help"], d)
        check(rc == 0 and "--manifest FILE" in out and "[FILE]..." in out, "--help documents the manifest and several FILEs")

        ldd = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
        libs = sorted(line.split()[0] for line in ldd.splitlines() if ".so" in line)
        heavy = [l for l in libs if any(k in l for k in ("curl", "ssl", "crypto", "jansson", "pcre2", "psl", "nettle", "z.so"))]
        check(heavy == [] and any("libc.so" in l for l in libs),
              f"promptcause needs only libc and the loader at start-up (needs: {' '.join(libs)})")

        rc, out, _ = run(["analyze", "--help"], d, sub=None)
        check(rc == 0 and out.startswith("usage: promptcause analyze"), "analyze reached through promptcause-tools")
        rc, out, err = run(["probe"], d, sub=None)
        check(rc == 2 and err.startswith("promptcause probe: "), "probe's usage error comes back through the exec")

        lone = os.path.join(d, "bin")
        os.mkdir(lone)
        shutil.copy(BIN, lone)
        p = subprocess.run([os.path.join(lone, "promptcause"), "watch", "--help"], capture_output=True, text=True)
        check(p.returncode == 2 and "promptcause watch: cannot run " in p.stderr and "promptcause-tools" in p.stderr,
              "without promptcause-tools: exit 2 naming the program it could not run")
        p = subprocess.run([os.path.join(lone, "promptcause"), "links"], input="<img src=x>", capture_output=True, text=True)
        check(p.returncode == 0 and p.stdout == "image x\n", "links needs no promptcause-tools")
        check(os.access(TOOLS, os.X_OK), "promptcause-tools is built")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)


if __name__ == "__main__":
    main()
