#!/usr/bin/env python3
"""test_probe.py -- `promptcause probe` against the test origin (origin.py).

The origin runs in this process on a free loopback port and serves the pages
written here (its --site directory) in front of its 401 scenarios. Host names
never go through DNS: every name the pages use is mapped to 127.0.0.1 with
the probe's --connect-to (libcurl's CURLOPT_CONNECT_TO), or reached through
--proxy pointing at the origin. Each case states the behaviour it proves;
the origin's request log checks what the probe sent (never credentials, HEAD
before GET, browser-like fetch metadata).

Exit 0 pass, 77 skip (binary not built), 1 fail.
"""
import json
import re
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import origin  # noqa: E402
from pcharness import SKIP, TOP_BUILDDIR, TempDir  # noqa: E402

BIN = os.path.join(TOP_BUILDDIR, "cli", "promptcause")
HOSTS = ["intranet", "web.corp.example", "other.example.org", "proxied"]
EVENT_FIELDS = ["v", "ts", "client", "user", "method", "url", "host", "status", "cause",
                "prompt", "schemes", "realm", "auth_sent", "parent", "evidence", "object",
                "zone", "handler", "substatus", "hint", "reason", "browser", "server_domain",
                "spn", "krb_error", "connection"]

PAGES = {
    "index.html": '<img src="/public/ok.gif"><img src="/secure/logo.gif" alt="protected">',
    "clean.html": '<img src="/public/ok.gif"><link rel="stylesheet" href="/public/site.css">',
    "handler.html": '<iframe src="/inc/menu.shtml"></iframe><img src="/public/ok.gif">',
    "integrated.html": '<script src="/ntlm/app.js"></script><img src="/public/ok.gif">',
    "docs/rel.html": '<img src="img.shtml">',
    "moved.html": '<img src="/redirect?to=/secure/moved.gif">',
    "credredir.html": '<img src="/redirect?to=http://u:pw@intranet/secure/cred.gif">',
    "slow.html": '<img src="/slow/a.gif?ms=6000"><img src="/secure/fast.gif">',
    "cross.html": '<img src="http://other.example.org/secure/badge.gif">',
    "details.html": '<link rel="stylesheet" href="/iis7/site.css"><img src="/nohead/x.gif">'
                    '<img src="/parent-proxy/p.gif">',
}

failures = []


def check(cond, what, detail=""):
    if cond:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}" + (f"\n     {detail}" if detail else ""))
        failures.append(what)


class Probe:
    def __init__(self, port):
        self.port = port

    def run(self, *args, connect=True, env_extra=None, timeout=30):
        """Run the probe; returns (exit status, stdout, stderr, seconds)."""
        argv = [BIN, "probe"]
        if connect:
            for h in HOSTS:
                argv += ["--connect-to", f"{h}:80:127.0.0.1:{self.port}"]
        argv += list(args)
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env.update(env_extra or {})
        t0 = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        return r.returncode, r.stdout, r.stderr, time.monotonic() - t0

    def json(self, *args, **kw):
        rc, out, err, secs = self.run("--json", *args, **kw)
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        return rc, events, err, secs


def by_url(events):
    return {e["url"]: e for e in events}


def row_of(out, url):
    """Table row (split on runs of 2+ spaces) whose OBJECT is url, or None."""
    for line in out.splitlines():
        if line.startswith(url + " "):
            return re.split(r"\s{2,}", line.strip())
    return None


def main():
    if not os.access(BIN, os.X_OK):
        print(f"SKIP: {BIN} not built")
        return SKIP
    tmp = TempDir("pc-probe-")
    for name, body in PAGES.items():
        os.makedirs(os.path.dirname(tmp.join(name)), exist_ok=True)
        tmp.write(name, origin.page(name, body).decode())
    # A page with 8+ parallel objects overflows socketserver's default listen
    # backlog of 5 (SYNs dropped, 1 s retransmits); browsers would not notice,
    # the timeout cases would.
    origin.Origin.request_queue_size = 128
    srv = origin.start_origin(site=tmp.path)
    p = Probe(srv.server_port)
    try:
        run_cases(p, srv)
    finally:
        srv.shutdown()
        tmp.cleanup()
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all probe checks passed")
    return 0


def run_cases(p, srv):
    # --- a protected image in a public page: embedded-denied, basic, exit 1
    rc, out, err, _ = p.run("http://intranet/index.html")
    check(rc == 1, "protected image: exit 1 (a prompt is expected)", f"rc={rc} {err}")
    row = row_of(out, "http://intranet/secure/logo.gif")
    check(row is not None and row[1:5] == ["image", "401", "embedded-denied", "basic"],
          "protected image: table row says image 401 embedded-denied basic", out)
    check(row_of(out, "http://intranet/public/ok.gif") is not None and
          row_of(out, "http://intranet/public/ok.gif")[2] == "200",
          "public image listed with status 200", out)

    # What went over the wire: no credentials, HEAD first, GET only for the 401.
    with srv.lock:
        reqs = list(srv.requests)
    check(all("Authorization" not in h and "Proxy-Authorization" not in h for _, _, h in reqs),
          "never sends Authorization or Proxy-Authorization", str(reqs))
    ok_methods = [m for m, path, _ in reqs if path == "/public/ok.gif"]
    logo = [(m, h) for m, path, h in reqs if path == "/secure/logo.gif"]
    check(ok_methods == ["HEAD"], "a 200 object is asked with HEAD only", str(ok_methods))
    check([m for m, _ in logo] == ["HEAD", "GET"], "a 401 on HEAD is asked again with GET",
          str([m for m, _ in logo]))
    if logo:
        h = logo[-1][1]
        check(h.get("Referer") == "http://intranet/index.html" and
              h.get("Sec-Fetch-Dest") == "image" and h.get("Accept", "").startswith("image/"),
              "object request carries Referer, Sec-Fetch-Dest image and an image Accept", str(h))

    # --- user info in the URL is dropped, not sent
    srv.requests.clear()
    rc, out, err, _ = p.run("http://alice:secret@intranet/clean.html")
    with srv.lock:
        reqs = list(srv.requests)
    check(rc == 0 and reqs and all("Authorization" not in h for _, _, h in reqs),
          "user info in the URL is dropped: no Authorization, exit 0", f"rc={rc} {err} {reqs}")

    # --- no prompts: exit 0
    rc, out, err, _ = p.run("http://intranet/clean.html")
    check(rc == 0, "page without protected objects: exit 0", f"rc={rc} {err}\n{out}")
    check("0 would prompt" in out, "summary line counts no prompt", out)

    # --- handler: .shtml as the page itself and embedded
    rc, ev, err, _ = p.json("http://web.corp.example/inc/page.shtml")
    e = ev[0] if ev else {}
    check(rc == 1 and e.get("cause") == "handler-denied" and e.get("handler") == ".shtml"
          and e.get("prompt") == "not-intranet" and e.get("object") == "document",
          "a .shtml page on a dotted host: handler-denied, .shtml, not-intranet, exit 1",
          f"rc={rc} {ev} {err}")
    rc, ev, err, _ = p.json("http://intranet/inc/page.shtml")
    e = ev[0] if ev else {}
    check(rc == 0 and e.get("cause") == "handler-denied" and e.get("prompt") == "silent",
          "a .shtml page on a dotless host: handler-denied, silent, exit 0", f"rc={rc} {ev} {err}")
    rc, ev, err, _ = p.json("http://intranet/handler.html")
    e = by_url(ev).get("http://intranet/inc/menu.shtml", {})
    check(e.get("cause") == "embedded-denied" and e.get("handler") == ".shtml"
          and e.get("object") == "frame" and e.get("parent") == "http://intranet/handler.html",
          "an embedded .shtml frame: embedded-denied with handler .shtml", str(ev))

    # --- integrated auth: dotted host is not intranet unless --intranet lists it
    rc, ev, err, _ = p.json("http://web.corp.example/integrated.html")
    e = by_url(ev).get("http://web.corp.example/ntlm/app.js", {})
    check(rc == 1 and e.get("prompt") == "not-intranet" and e.get("zone") == "internet"
          and e.get("schemes") == ["Negotiate", "NTLM"],
          "integrated auth on a dotted host: not-intranet, internet, exit 1", f"rc={rc} {ev}")
    rc, ev, err, _ = p.json("--intranet", "*.corp.example", "http://web.corp.example/integrated.html")
    e = by_url(ev).get("http://web.corp.example/ntlm/app.js", {})
    check(rc == 0 and e.get("prompt") == "silent" and e.get("zone") == "intranet",
          "--intranet lists the host: silent, intranet zone, exit 0", f"rc={rc} {ev} {err}")
    rc, _, err, _ = p.run("--intranet", "/[unclosed/", "http://intranet/clean.html")
    check(rc == 2 and "--intranet" in err, "a bad --intranet pattern: exit 2 naming the option",
          f"rc={rc} {err}")

    # --- SPEC §2b: --browser and --allowlist (docs/BROWSERS.md)
    page, obj = "http://web.corp.example/integrated.html", "http://web.corp.example/ntlm/app.js"
    rc, ev, err, _ = p.json(page)
    e = by_url(ev).get(obj, {})
    check(e.get("browser") == "edge/windows", "default --browser is edge/windows", f"{e}")
    rc, ev, err, _ = p.json("--browser", "chrome/linux", "--intranet", "*.corp.example", page)
    e = by_url(ev).get(obj, {})
    check(rc == 1 and e.get("prompt") == "not-allowlisted" and e.get("browser") == "chrome/linux"
          and "AuthServerAllowlist" in (e.get("hint") or ""),
          "chrome/linux without --allowlist: not-allowlisted even for an intranet host, exit 1",
          f"rc={rc} {ev} {err}")
    rc, ev, err, _ = p.json("--browser", "chrome/linux", "--allowlist", "*.corp.example", page)
    e = by_url(ev).get(obj, {})
    check(rc == 0 and e.get("prompt") == "silent", "chrome/linux with --allowlist: silent, exit 0",
          f"rc={rc} {ev} {err}")
    rc, ev, err, _ = p.json("--browser", "edge/windows", "--allowlist", "other.example",
                            "--intranet", "*.corp.example", page)
    e = by_url(ev).get(obj, {})
    check(rc == 1 and e.get("prompt") == "not-allowlisted",
          "edge/windows: once an allowlist is set, the intranet zone no longer counts",
          f"rc={rc} {ev} {err}")
    rc, ev, err, _ = p.json("--browser", "firefox/macos", page)
    e = by_url(ev).get(obj, {})
    check(rc == 1 and e.get("prompt") == "not-allowlisted" and e.get("browser") == "firefox/macos"
          and "trusted-uris" in (e.get("hint") or ""), "firefox/macos: not-allowlisted naming trusted-uris",
          f"rc={rc} {ev} {err}")
    for bad in ("opera/linux", "chrome", "chrome/beos"):
        rc, _, err, _ = p.run("--browser", bad, "http://intranet/clean.html")
        check(rc == 2 and "--browser" in err and len(err.strip().splitlines()) == 1,
              f"--browser {bad}: exit 2 with one line naming the option", f"rc={rc} {err}")
    rc, _, err, _ = p.run("--allowlist", "10.0.0.0/33", "http://intranet/clean.html")
    check(rc == 2 and "--allowlist" in err, "a bad --allowlist pattern: exit 2 naming the option",
          f"rc={rc} {err}")

    # --- redirects: page and object
    rc, ev, err, _ = p.json("http://intranet/redirect?to=/docs/rel.html")
    e = by_url(ev).get("http://intranet/docs/img.shtml")
    check(e is not None and e.get("parent") == "http://intranet/docs/rel.html",
          "redirected page: objects resolve against the final URL, which is the parent",
          str(ev))
    rc, ev, err, _ = p.json("http://intranet/moved.html")
    e = by_url(ev).get("http://intranet/secure/moved.gif")
    check(rc == 1 and e is not None and e.get("cause") == "embedded-denied",
          "redirected object: the 401 at its target is reported under the target URL",
          f"rc={rc} {ev}")

    srv.requests.clear()
    rc, out, err, _ = p.run("http://intranet/credredir.html")
    with srv.lock:
        paths = [path for _, path, _ in srv.requests]
    check("/secure/cred.gif" not in paths and "user info" in out
          and "\nhttp://u:pw@" not in out,
          "a redirect to a URL with user info is not followed, nor printed", f"{paths}\n{out}")

    # --- a slow object hits --timeout: reported, no hang, others still probed
    rc, out, err, secs = p.run("--timeout", "1", "http://intranet/slow.html")
    row = row_of(out, "http://intranet/slow/a.gif?ms=6000")
    check(row is not None and row[2] == "failed" and "timed out" in out,
          "slow object: reported as failed / timed out", out)
    check(secs < 4.5, f"slow object: probe ends near --timeout ({secs:.1f}s < 4.5s)")
    check(rc == 1 and row_of(out, "http://intranet/secure/fast.gif") is not None,
          "slow object: the other objects are still classified (exit 1)", f"rc={rc}\n{out}")
    rc, ev, err, secs = p.json("--timeout", "10", "--max-time", "1.5", "http://intranet/slow.html")
    check(secs < 5 and "--max-time" in err and "slow/a.gif" in err,
          f"--max-time cuts the page off ({secs:.1f}s), reported on stderr with --json", err)

    # --- cross-site image: suppressed, not a prompt
    rc, ev, err, _ = p.json("http://intranet/cross.html")
    e = by_url(ev).get("http://other.example.org/secure/badge.gif", {})
    check(rc == 0 and e.get("prompt") == "suppressed",
          "cross-site protected image: suppressed, exit 0", f"rc={rc} {ev}")

    # --- GET fallback details: IIS substatus from the body, HEAD refused, 407
    rc, ev, err, _ = p.json("http://intranet/details.html")
    u = by_url(ev)
    check(u.get("http://intranet/iis7/site.css", {}).get("substatus") == "401.3"
          and u.get("http://intranet/iis7/site.css", {}).get("object") == "style",
          "IIS substatus read from the 401 body (GET after HEAD)", str(ev))
    check(u.get("http://intranet/nohead/x.gif", {}).get("realm") == "nohead",
          "HEAD answered 405: GET gives the 401 and its challenge", str(ev))
    check(u.get("http://intranet/parent-proxy/p.gif", {}).get("cause") == "proxy-auth",
          "a 407 is classified proxy-auth", str(ev))

    # --- --json carries every SPEC §3 field, client null
    rc, ev, err, _ = p.json("http://intranet/index.html")
    e = by_url(ev).get("http://intranet/secure/logo.gif", {})
    check(len(ev) == 1 and all(k in e for k in EVENT_FIELDS),
          "--json: one line per 401, every SPEC §3 field present", str(ev))
    check(e.get("v") == 1 and e.get("client") is None and e.get("status") == 401
          and e.get("auth_sent") == "none" and e.get("evidence") == "html"
          and e.get("realm") == "secure" and e.get("method") == "GET" and e.get("host") == "intranet",
          "--json: v 1, client null, auth_sent none, evidence html, realm, method GET", str(e))

    # --- --proxy: the page and its objects go through the proxy
    srv.requests.clear()
    rc, ev, err, _ = p.json("--proxy", f"http://127.0.0.1:{p.port}", "http://proxied/index.html",
                            connect=False)
    with srv.lock:
        paths = [path for _, path, _ in srv.requests]
    check(rc == 1 and "http://proxied/secure/logo.gif" in by_url(ev)
          and "http://proxied/index.html" in paths,
          "--proxy: requests go to the proxy in absolute form", f"rc={rc} {paths} {err}")
    rc, _, err, _ = p.run("--proxy", "http://u:pw@127.0.0.1:1", "http://intranet/index.html")
    check(rc == 2, "--proxy with credentials is refused: exit 2", f"rc={rc} {err}")
    rc, _, err, _ = p.run("http://intranet/index.html",
                          env_extra={"http_proxy": "http://u:pw@127.0.0.1:1"})
    check(rc == 2 and "http_proxy" in err, "a proxy variable with credentials is refused: exit 2",
          f"rc={rc} {err}")

    # --- errors: exit 2
    for args, what in [(["ftp://intranet/x"], "a non-HTTP URL"),
                       (["not a url"], "a string that is not a URL"),
                       ([], "no URL at all"),
                       (["--jobs", "0", "http://intranet/"], "--jobs 0"),
                       (["--timeout", "soon", "http://intranet/"], "a bad --timeout"),
                       (["--bogus", "http://intranet/"], "an unknown option")]:
        rc, _, err, _ = p.run(*args)
        check(rc == 2 and err.startswith("promptcause probe: "), f"{what}: exit 2 with a message",
              f"rc={rc} {err}")
    rc, _, err, _ = p.run("http://127.0.0.1:1/", connect=False)
    check(rc == 2 and "127.0.0.1" in err, "unreachable page: exit 2", f"rc={rc} {err}")
    rc, _, err, _ = p.run("http://intranet/no/such/page.html")
    check(rc == 2 and "404" in err, "a page that answers 404: exit 2", f"rc={rc} {err}")
    rc, _, err, _ = p.run("http://intranet/index.html", "http://127.0.0.1:1/")
    check(rc == 2, "several URLs, one unreachable: exit 2 wins over a prompt", f"rc={rc} {err}")
    rc, out, err, _ = p.run("http://intranet/clean.html", "http://intranet/index.html")
    check(rc == 1 and "2 page(s)" in out, "several URLs: each probed, exit 1 when one prompts",
          f"rc={rc} {out}")


if __name__ == "__main__":
    sys.exit(main())
