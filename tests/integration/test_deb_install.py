"""test_deb_install -- the Debian packages are the whole set-up (SPEC section 9).

Builds the packages with `dpkg-buildpackage -us -uc -b` from a copy of the
source tree (in a temp dir, never in the tree), checks them with lintian (no
errors), installs them with `apt-get install ./...deb`, then runs the system
c-icap (/usr/bin/c-icap) on a copy of the system /etc/c-icap/c-icap.conf to
which only `Include promptcause.conf` was added (plus Port, PidFile,
CommandsSocket and logs moved to loopback and the temp dir, so nothing of the
machine's own c-icap is touched). A real Squid sends it a page and its
Basic-protected image; the events must appear in the shipped EventLog,
/var/log/c-icap/promptcause.jsonl. The shipped logrotate file then rotates
that log and the module must write the next event into the new file. Last,
`apt-get purge` must remove every file the packages installed or made.

It installs into the system, so it runs only when CI=true (a throw-away
machine), as root; otherwise it is skipped and says why. The package build
takes minutes: it happens once per run.

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import glob
import http.client
import os
import pwd
import grp
import re
import shlex
import shutil
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402

PACKAGES = ("libc-icap-mod-promptcause", "promptcause")
SYSTEM_CONF = "/etc/c-icap/c-icap.conf"
CICAP = "/usr/bin/c-icap"
EVENT_LOG = "/var/log/c-icap/promptcause.jsonl"  # the shipped promptcause.conf's EventLog
MULTIARCH = "x86_64-linux-gnu"
# What the packages must install, and purge must remove.
INSTALLED = [
    f"/usr/lib/{MULTIARCH}/c_icap/srv_promptcause.so",
    "/etc/c-icap/promptcause.conf",
    "/usr/share/man/man5/promptcause.conf.5.gz",
    "/usr/share/doc/libc-icap-mod-promptcause/examples/squid-promptcause.conf",
    "/usr/bin/promptcause",
    "/usr/libexec/promptcause/promptcause-tools",  # probe, watch, analyze (main's cli split)
    "/usr/share/man/man1/promptcause.1.gz",
    "/lib/systemd/system/promptcause-watch.service",
    "/etc/logrotate.d/promptcause",
    "/etc/promptcause/storm-rules",
    "/usr/share/doc/promptcause/examples/storm-rules.example",
    "/usr/share/doc/promptcause/WATCH.md",  # the unit's Documentation=, kept uncompressed
]
if os.path.exists(os.path.join(H.TOP_SRCDIR, "etc", "promptcause.rules.yml")):
    INSTALLED.append("/usr/share/promptcause/promptcause.rules.yml")
CONFFILES = {"/etc/c-icap/promptcause.conf", "/etc/logrotate.d/promptcause", "/etc/promptcause/storm-rules"}
DOC = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
       "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}
IMG = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8",
       "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"}


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def run(argv, cwd=None, env=None, timeout=1800, what=None):
    """Run argv; raise Failed with the output's tail when it exits non-zero."""
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        out = (r.stdout + r.stderr)[-4000:]
        raise Failed(f"{what or ' '.join(argv)} exited {r.returncode}:\n{out}")
    return r


def clean_env():
    """The environment for dpkg-buildpackage: without the make jobserver and
    flags of the `make check` that runs us, and without our test variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES") and not k.startswith("PC_")}
    env["DEB_BUILD_OPTIONS"] = "nocheck parallel=2"  # the unit tests run in `make check` already
    env["DEBIAN_FRONTEND"] = "noninteractive"
    env["LC_ALL"] = "C.UTF-8"
    return env


def copy_tree(src, dst):
    """The source tree without build products: the files git knows (tracked
    and new, not ignored) in a clone, everything but build output in a
    tarball tree (make distcheck)."""
    if os.path.isdir(os.path.join(src, ".git")) or os.path.isfile(os.path.join(src, ".git")):
        r = subprocess.run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, timeout=60)
        if r.returncode == 0:
            os.makedirs(dst)
            for rel in filter(None, r.stdout.decode().split("\0")):
                s = os.path.join(src, rel)
                if not os.path.isfile(s) or rel.startswith(("build/", "debian/build/")):
                    continue
                d = os.path.join(dst, rel)
                os.makedirs(os.path.dirname(d), exist_ok=True)
                shutil.copy2(s, d)
            return
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "_build", "autom4te.cache", "*.o", "*.lo", "*.la", ".libs", ".deps",
        "*.log", "*.trs", "config.status", "libtool", "Makefile", "stamp-h1", "config.h"))
    for p in ("debian/build", "debian/.debhelper", "debian/tmp"):
        shutil.rmtree(os.path.join(dst, p), ignore_errors=True)


def build_packages(tmp):
    """Build the packages once; returns {package: path of its .deb}."""
    src = tmp.join("promptcause")
    copy_tree(H.TOP_SRCDIR, src)
    t0 = time.monotonic()
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=clean_env(), what="dpkg-buildpackage -us -uc -b")
    print(f"built the packages in {time.monotonic() - t0:.0f} s")
    debs = {}
    for pkg in PACKAGES:
        found = [p for p in glob.glob(tmp.join(f"{pkg}_*.deb"))]
        check(len(found) == 1, f"expected one {pkg}_*.deb, found {found}")
        debs[pkg] = found[0]
    changes = glob.glob(tmp.join("promptcause_*.changes"))
    check(len(changes) == 1, f"expected one .changes, found {changes}")
    return debs, changes[0]


def lintian(changes):
    """lintian on the build: errors fail the test, warnings are printed."""
    if shutil.which("lintian") is None:
        raise Failed("lintian is not installed (scripts/install-deps.sh installs it)")
    r = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0", changes],
                       capture_output=True, text=True, timeout=600)
    tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    for t in tags:
        print("lintian:", t)
    errors = [t for t in tags if t.startswith("E: ")]
    check(r.returncode == 0 and not errors,
          f"lintian exited {r.returncode}:\n" + "\n".join(errors or [r.stderr[-2000:]]))


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.startswith("ii")


def known_to_dpkg(pkg):
    """True while dpkg keeps any record of pkg (installed or config-files)."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() not in ("", "un")


def check_installed():
    for pkg in PACKAGES:
        check(installed(pkg), f"{pkg} is not installed after apt-get install")
    for path in INSTALLED:
        check(os.path.isfile(path), f"{path} missing after install")
    r = run(["dpkg-query", "-W", "-f=${Conffiles}\n", *PACKAGES])
    conffiles = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    check(CONFFILES <= conffiles, f"conffiles {sorted(conffiles)} lack {sorted(CONFFILES - conffiles)}")
    # Installed disabled: nothing links the unit into a target.
    wants = glob.glob("/etc/systemd/system/*.wants/promptcause-watch.service")
    check(not wants, f"promptcause-watch.service enabled on install: {wants}")
    out = run(["/usr/bin/promptcause", "--help"]).stdout
    check("watch" in out and "probe" in out, f"installed promptcause --help: {out!r}")
    for sub in ("probe", "watch", "analyze", "links"):  # the installed helper is found
        out = run(["/usr/bin/promptcause", sub, "--help"]).stdout
        check(out.startswith(f"usage: promptcause {sub}"), f"installed promptcause {sub} --help: {out[:200]!r}")
    deps = run(["dpkg-query", "-W", "-f=${Depends}", "libc-icap-mod-promptcause"]).stdout
    check(re.search(r"(^|, )c-icap(,|$| )", deps) is not None, f"the module does not depend on c-icap: {deps}")


def test_conf(tmp, port):
    """The system c-icap.conf, moved to a loopback port and the temp dir, plus
    the one line the README tells admins to add."""
    moved = {
        "PidFile": tmp.join("c-icap.pid"),
        "CommandsSocket": tmp.join("c-icap.ctl"),
        "Port": f"127.0.0.1:{port}",
        "ServerLog": tmp.join("server.log"),
        "AccessLog": tmp.join("access.log"),
        "TmpDir": tmp.path,
    }
    out, seen = [], set()
    with open(SYSTEM_CONF, encoding="utf-8", errors="replace") as f:
        for line in f:
            word = line.split(None, 1)[0] if line.strip() and not line.lstrip().startswith("#") else None
            if word in moved:
                out.append(f"{word} {moved[word]}\n")
                seen.add(word)
            else:
                out.append(line)
    for word in moved:
        if word not in seen:
            out.append(f"{word} {moved[word]}\n")
    out.append("Include promptcause.conf\n")
    return tmp.write("c-icap.conf", "".join(out))


def event_lines_after(offset, path=EVENT_LOG):
    """Events appended to path after byte offset."""
    import json
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def get(proxy_port, url, headers):
    c = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=20)
    try:
        c.request("GET", url, headers={"Host": url.split("/")[2], **headers})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def run_chain(tmp, procs):
    """c-icap with the installed module + Squid + origin: events in the
    shipped EventLog; then logrotate and one more event in the new file."""
    offset = os.path.getsize(EVENT_LOG) if os.path.exists(EVENT_LOG) else 0
    port = H.free_port()
    conf = test_conf(tmp, port)
    out = tmp.join("c-icap.out")
    proc = procs.start([CICAP, "-N", "-f", conf], log_path=out)
    try:
        H.wait_for_port(port, timeout=20.0, proc=proc, what="c-icap")
    except RuntimeError as e:
        raise Failed(f"the system c-icap did not start with Include promptcause.conf: {e}\n"
                     f"{H.tail(out)}\n{H.tail(tmp.join('server.log'))}")
    origin = O.start_origin()
    try:
        sq = S.start_squid(tmp, procs, port, origin.server_port, ["intranet"])
        check(get(sq.port, "http://intranet/index.html", DOC) == 200, "index.html not 200 through Squid")
        check(get(sq.port, "http://intranet/secure/logo.gif",
                  {**IMG, "Referer": "http://intranet/index.html"}) == 401, "logo.gif not 401 through Squid")
        evs = H.wait_for(lambda: [e for e in event_lines_after(offset) if e.get("url", "").endswith("/secure/logo.gif")],
                         timeout=15.0)
        check(evs, f"no event for logo.gif in {EVENT_LOG} (c-icap output: {H.tail(out)})")
        e = evs[0]
        check(e.get("status") == 401 and e.get("cause") == "embedded-denied"
              and e.get("parent") == "http://intranet/index.html" and e.get("object") == "image",
              f"unexpected event {e}")
        print(f"event in {EVENT_LOG}: cause={e['cause']} prompt={e.get('prompt')} parent={e['parent']}")
        st = os.stat(EVENT_LOG)
        check(pwd.getpwuid(st.st_uid).pw_name == "c-icap", f"{EVENT_LOG} not written by c-icap's User")

        # The shipped logrotate file: rotate now; the module reopens the path.
        state = tmp.join("logrotate.state")
        run(["logrotate", "-f", "-s", state, "/etc/logrotate.d/promptcause"], what="logrotate -f")
        check(os.path.exists(EVENT_LOG + ".1"), f"logrotate left no {EVENT_LOG}.1")
        st = os.stat(EVENT_LOG)
        check((pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name, st.st_mode & 0o777)
              == ("c-icap", "c-icap", 0o640), f"rotated-in {EVENT_LOG}: uid {st.st_uid} gid {st.st_gid} "
              f"mode {oct(st.st_mode)}")
        time.sleep(1.2)  # the module looks at the path at most once a second
        check(get(sq.port, "http://intranet/secure/report.html", DOC) == 401, "report.html not 401")
        evs = H.wait_for(lambda: [e for e in event_lines_after(0) if e.get("url", "").endswith("/secure/report.html")],
                         timeout=15.0)
        check(evs and evs[0].get("cause") == "page-denied",
              f"no page-denied event in the new {EVENT_LOG} after rotation: {evs}")
        print("after logrotate: the next event is in the new file")
    finally:
        origin.shutdown()
        procs.stop_all()


def check_unit(tmp):
    """The installed promptcause-watch.service: systemd accepts it, and its
    ExecStart (with --once and the state in the temp dir) runs on the shipped
    paths: the rules file parses and the event log is readable."""
    unit = "/lib/systemd/system/promptcause-watch.service"
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"systemd-analyze verify {unit}: {r.stdout}{r.stderr}")
    with open(unit, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^ExecStart=(.*)$", text, re.M)
    check(m is not None, f"no ExecStart in {unit}")
    argv = shlex.split(m.group(1))
    check(argv[:2] == ["/usr/bin/promptcause", "watch"], f"ExecStart runs {argv[:2]}")
    check("--state" in argv, f"ExecStart has no --state: {argv}")
    argv[argv.index("--state") + 1] = tmp.join("watch-state")
    r = subprocess.run(argv + ["--once"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"the unit's ExecStart with --once exited {r.returncode}: {r.stderr[-1500:]}")
    check(os.path.exists(tmp.join("watch-state")), "the unit's watch saved no state")
    print("promptcause-watch.service: verified; its ExecStart reads the shipped rules and event log")


def purge_and_check(created_log):
    r = subprocess.run(["apt-get", "purge", "-y", *PACKAGES], capture_output=True, text=True,
                       env=clean_env(), timeout=600)
    problems = []
    if r.returncode != 0:
        problems.append(f"apt-get purge exited {r.returncode}: {(r.stdout + r.stderr)[-2000:]}")
    for pkg in PACKAGES:
        if known_to_dpkg(pkg):
            problems.append(f"dpkg still knows {pkg} after purge")
    for path in INSTALLED + ["/etc/promptcause", "/usr/share/doc/promptcause",
                             "/usr/share/doc/libc-icap-mod-promptcause"]:
        if os.path.lexists(path):
            problems.append(f"{path} left after purge")
    if created_log:
        left = glob.glob(EVENT_LOG + "*")
        if left:
            problems.append(f"event logs left after purge: {left}")
    if not installed("c-icap"):
        problems.append("purging the module removed c-icap")
    return problems


def main():
    if os.environ.get("CI") != "true":
        print("SKIP: test_deb_install installs the Debian packages into this system, starts the "
              "system c-icap and purges them again; it runs only in CI (CI=true)")
        return H.SKIP
    if os.geteuid() != 0:
        print("SKIP: test_deb_install needs root (apt-get install/purge)")
        return H.SKIP
    for tool in ("dpkg-buildpackage", "apt-get", "logrotate"):
        if shutil.which(tool) is None and not os.access(f"/usr/sbin/{tool}", os.X_OK):
            print(f"FAIL: {tool} not installed")
            return 1
    if not os.access(CICAP, os.X_OK) or H.find_binary("squid") is None:
        print("FAIL: the c-icap and squid packages are needed (scripts/install-deps.sh)")
        return 1

    tmp, procs = H.TempDir("pc-deb-"), H.Processes()
    created_log = not os.path.exists(EVENT_LOG)
    status, problems, did_install = 0, [], False
    try:
        debs, changes = build_packages(tmp)
        lintian(changes)
        did_install = True
        run(["apt-get", "install", "-y", *[debs[p] for p in PACKAGES]], env=clean_env(), timeout=600,
            what="apt-get install -y ./libc-icap-mod-promptcause_*.deb ./promptcause_*.deb")
        check_installed()
        print("installed: " + ", ".join(os.path.basename(debs[p]) for p in PACKAGES))
        run_chain(tmp, procs)
        check_unit(tmp)
    except Failed as e:
        print(f"FAIL: {e}")
        status = 1
    except Exception:
        traceback.print_exc()
        status = H.HARD_ERROR
    finally:
        procs.stop_all()
        if did_install:
            problems = purge_and_check(created_log)
        if created_log:
            for p in glob.glob(EVENT_LOG + "*"):
                os.unlink(p)
        tmp.cleanup()
    for p in problems:
        print(f"FAIL: {p}")
    if problems and status == 0:
        status = 1
    if status == 0:
        print("purged: no file of the packages is left")
        print("PASS")
    return status


if __name__ == "__main__":
    sys.exit(main())
