"""demo.py -- promptcause on one machine: a browser, Squid, c-icap, a web site.

Started by demo/run-demo.sh. Runs the same parts as the end-to-end tests (the
test origin serving demo/site/ plus its 401/407 scenarios, c-icap with the built
module, a generated Squid on loopback ports), then plays a browser: it opens
pages, fetches what they embed with the headers a browser sends (Referer,
Accept, Sec-Fetch-*), logs on with NTLM by itself on intranet hosts as IE and
Edge do, and finally prints what promptcause found, from its event log and from
Squid's access log. Every KB 258063 cause of SPEC's table shows up once, and
the SPEC §2a-§2b diagnoses of failed integrated logons: a partner laptop of
another domain (foreign-domain), a client that reconnects mid-handshake
(handshake-split, seen through Squid's connection identities), a real MIT
Kerberos ticket refused with KRB_AP_ERR_BAD_INTEGRITY (kerberos-wrong-account),
Negotiate falling back to NTLM (kerberos-fallback), and Chrome on Linux
without an allowlist policy (not-allowlisted).
One page (site/payroll.html) is opened over HTTPS: Squid bumps it with the
shipped etc/squid-promptcause-sslbump.conf (tests/integration/bump.py makes a
throw-away CA and serves the site over TLS too), and the demo prints what
promptcause found on it.
"""
import argparse
import http.client
import os
import re
import sys
import textwrap
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import pcharness as H  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402
import bump as B  # noqa: E402

HOSTS = ["intranet", "www.example.test", "other.example.org", "portal.corp.example.test", "web.pc.test"]
INTRANET_PATTERNS = "*.corp.example.test *.pc.test"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) promptcause-demo"
UA_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")
UA_CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/131.0.0.0 Safari/537.36")
# Squid tells the service which client and server connection carried each
# leg of a handshake (SPEC §7, as etc/squid-promptcause.conf does).
CONNECTION_META = ('adaptation_meta X-Client-Connection "%>a:%>p"\n'
                   'adaptation_meta X-Server-Connection "%<la:%<lp"\n')

ACCEPT = {
    "document": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "image": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "script": "*/*",
    "style": "text/css,*/*;q=0.1",
    "iframe": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


class Embeds(HTMLParser):
    """What a browser would fetch after the page: (destination, url)."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        self.found = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        ref = None
        if tag == "img":
            ref = ("image", a.get("src"))
        elif tag == "script" and a.get("src"):
            ref = ("script", a.get("src"))
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").lower():
            ref = ("style", a.get("href"))
        elif tag in ("iframe", "frame"):
            ref = ("iframe", a.get("src"))
        if ref and ref[1]:
            self.found.append((ref[0], urljoin(self.base, ref[1])))


class Browser:
    """A small browser model: one keep-alive connection to the proxy per page
    load (NTLM needs the connection kept), automatic NTLM logon as its user
    (CORP\\alice by default) to intranet hosts (dotless or listed) as Edge on
    Windows does, never a typed password. Its NTLMv2 answer copies the
    server's AV pairs as Windows does; on *.pc.test it holds a Kerberos
    ticket (a real MIT AP-REQ, tests/data/krb). auto_logon=False is Chrome on
    Linux without an AuthServerAllowlist policy: it never logs on by itself.
    reconnect=True drops the connection between the challenge and the answer
    (a client behind a flaky VPN or a proxy-unaware load balancer)."""

    def __init__(self, proxy_port, out, pki=None, ua=UA, identity=("CORP", "alice", "WS0042"),
                 auto_logon=True, reconnect=False):
        self.proxy_port = proxy_port
        self.out = out
        self.pki = pki  # the CA this browser trusts (for https: through SslBump)
        self.ua = ua
        self.identity = identity
        self.auto_logon = auto_logon
        self.reconnect = reconnect

    def _conn(self, url="http:"):
        """http: through the proxy; https: in a CONNECT tunnel that Squid bumps."""
        u = urlsplit(url)
        if u.scheme == "https":
            return B.https_connection(self.proxy_port, self.pki, u.hostname, u.port or 443)
        return http.client.HTTPConnection("127.0.0.1", self.proxy_port, timeout=15)

    def get(self, conn, url, dest, referer=None, authorization=None):
        host = urlsplit(url).netloc
        same = referer and urlsplit(referer).netloc == host
        headers = {"Host": host, "User-Agent": self.ua, "Accept": ACCEPT[dest],
                   "Sec-Fetch-Dest": dest,
                   "Sec-Fetch-Mode": "navigate" if dest == "document" else "no-cors",
                   "Sec-Fetch-Site": "none" if not referer else ("same-origin" if same else "cross-site")}
        if referer:
            headers["Referer"] = referer
        if authorization:
            headers["Authorization"] = authorization
        u = urlsplit(url)
        target = url if u.scheme == "http" else u.path + ("?" + u.query if u.query else "")
        conn.request("GET", target, headers=headers)
        r = conn.getresponse()
        body = r.read()
        self.out.write(f"  {r.status} {url}{'  [' + authorization.split()[0] + ' logon]' if authorization else ''}\n")
        return r, body

    def _intranet(self, host):
        return "." not in host or host.endswith((".corp.example.test", ".pc.test"))

    def fetch(self, conn, url, dest, referer=None):
        r, body = self.get(conn, url, dest, referer)
        offers = [v.split()[0].lower() for k, v in r.getheaders() if k.lower() == "www-authenticate" and v.strip()]
        host = urlsplit(url).hostname
        if not (self.auto_logon and r.status == 401 and self._intranet(host)):
            return r, body
        if "negotiate" in offers and host.endswith(".pc.test"):
            # A Kerberos ticket for HTTP/web.pc.test (real MIT AP-REQ).
            return self.get(conn, url, dest, referer, "Negotiate " + O.krb_token("spnego-badkey.init"))
        if "ntlm" in offers or "negotiate" in offers:
            # Windows integrated logon, as the browser does it without asking.
            word = "Negotiate" if host.endswith(".corp.example.test") else "NTLM"
            r, body = self.get(conn, url, dest, referer, f"{word} {O.b64(O.ntlm_type1())}")
            if r.status == 401:
                info = b""
                for k, v in r.getheaders():
                    parts = v.split()
                    if k.lower() == "www-authenticate" and len(parts) == 2 and parts[0].lower() == word.lower():
                        info = O.ntlm_target_info(O.base64.b64decode(parts[1]))
                if self.reconnect:
                    conn.close()
                    conn = self._conn(url)
                    self.out.write("  (connection dropped: the answer goes on a new one)\n")
                domain, user, ws = self.identity
                r, body = self.get(conn, url, dest, referer,
                                   f"{word} {O.b64(O.ntlm_type3(domain, user, ws, target_info=info))}")
        return r, body

    def open(self, url):
        """Navigate to url and load what the page embeds, like a browser."""
        self.out.write(f"browser: open {url}\n")
        conn = self._conn(url)
        try:
            r, body = self.fetch(conn, url, "document")
            ctype = r.getheader("Content-Type", "")
            if r.status == 200 and ctype.startswith("text/html"):
                p = Embeds(url)
                p.feed(body.decode("utf-8", "replace"))
                for dest, sub in p.found:
                    if urlsplit(sub).netloc == urlsplit(url).netloc:
                        self.fetch(conn, sub, dest, referer=url)
                    else:
                        c2 = self._conn(sub)  # another site: another connection
                        try:
                            self.fetch(c2, sub, dest, referer=url)
                        finally:
                            c2.close()
        finally:
            conn.close()


def cell(v, width):
    s = "-" if v in (None, "") else str(v)
    return s if len(s) <= width else s[:width - 1] + "…"


def report(events, access_rows, out):
    out.write("\n=== promptcause events (event log, one per 401/407) ===\n")
    cols = [("url", 46), ("cause", 20), ("prompt", 12), ("detail", 34)]
    out.write("  ".join(n.ljust(w) for n, w in cols) + "\n")
    out.write("  ".join("-" * w for _, w in cols) + "\n")
    for e in events:
        detail = []
        if e.get("parent"):
            detail.append(f"parent={e['parent']} ({e.get('object')}, {e.get('evidence')})")
        if e.get("handler"):
            detail.append(f"handler={e['handler']}")
        if e.get("user"):
            detail.append(f"user={e['user']}")
        if e.get("auth_sent") not in (None, "none"):
            detail.append(f"sent={e['auth_sent']}")
        if e.get("substatus"):
            detail.append(f"IIS {e['substatus']}")
        if e.get("reason"):
            detail.append(f"reason={e['reason']}")
        for k in ("server_domain", "spn", "krb_error"):
            if e.get(k):
                detail.append(f"{k}={e[k]}")
        if e.get("browser") and e["browser"] != "edge/windows":
            detail.append(e["browser"])
        if e.get("zone"):
            detail.append(e["zone"])
        out.write("  ".join([cell(e.get("url"), 46).ljust(46), cell(e.get("cause"), 20).ljust(20),
                             cell(e.get("prompt"), 12).ljust(12), ", ".join(detail)]) + "\n")
        if e.get("hint"):
            out.write(textwrap.indent(textwrap.fill("hint: " + e["hint"], 100), " " * 48) + "\n")
    out.write("\n=== Squid access.log (last four fields: X-Prompt-Cause X-Prompt-Reason X-Prompt-Parent X-Prompt-Detail) ===\n")
    for r in access_rows:
        out.write(r)


# What the sample site must make promptcause report: (event field, value).
# Handshakes are not logged by default (LogHandshakes off): Squid's log shows them.
EXPECTED = [("cause", "page-denied"), ("cause", "embedded-denied"), ("cause", "handler-denied"),
            ("cause", "credentials-rejected"), ("cause", "proxy-auth"),
            ("prompt", "basic"), ("prompt", "digest"), ("prompt", "not-intranet"),
            ("prompt", "silent"), ("prompt", "rejected"), ("prompt", "suppressed"),
            ("prompt", "none"), ("auth_sent", "negotiate-ntlm"), ("substatus", "401.1"),
            ("substatus", "401.3"),
            # SPEC §2a-§2b: why an integrated logon failed, and today's browsers.
            ("reason", "foreign-domain"), ("reason", "handshake-split"),
            ("reason", "kerberos-wrong-account"), ("reason", "kerberos-fallback"),
            ("krb_error", "KRB_AP_ERR_BAD_INTEGRITY"), ("prompt", "not-allowlisted")]


def coverage(events, access_rows):
    """SPEC-table entries the run did not produce, as 'field=value' strings."""
    seen = {(k, e.get(k)) for e in events for k, _ in EXPECTED}
    missing = [f"{k}={v}" for k, v in EXPECTED if (k, v) not in seen]
    if not any(" handshake none " in r for r in access_rows):
        missing.append("X-Prompt-Cause=handshake (Squid log)")
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, configs)")
    args = ap.parse_args()
    out = sys.stdout
    if not os.path.exists(H.MODULE):
        sys.stderr.write(f"demo: module not built: {H.MODULE}\n")
        return 2
    for prog in ("squid", "c-icap"):
        if H.find_binary(prog) is None:
            sys.stderr.write(f"demo: {prog} is not installed (scripts/install-deps.sh)\n")
            return 2
    try:
        import cicap
    except ImportError as e:
        sys.stderr.write(f"demo: tests/integration/cicap.py missing: {e}\n")
        return 2
    if args.keep:
        os.environ["PC_KEEP_TMP"] = "1"

    tmp = H.TempDir(prefix="promptcause-demo-")
    procs = H.Processes()
    org = tls_org = None
    try:
        site = os.path.join(HERE, "site")
        org = O.start_origin(site=site)
        icap = cicap.start_cicap(tmp, procs, [("IntranetHosts", INTRANET_PATTERNS)], children=2)
        no_bump = B.have_sslbump()
        if no_bump is None:
            pki = B.make_pki(tmp, HOSTS)
            tls_org = B.start_tls_origin(pki, site=site)
            sq = B.start_bump_squid(tmp, procs, icap.port, org.server_port, tls_org.server_port,
                                    pki, HOSTS, extra=CONNECTION_META)
            https_page = f"https://intranet:{tls_org.server_port}/payroll.html"
        else:
            out.write(f"demo: no SslBump here ({no_bump}): the HTTPS page is left out\n")
            pki = tls_org = https_page = None
            sq = S.start_squid(tmp, procs, icap.port, org.server_port, HOSTS, extra=CONNECTION_META)
        out.write(f"demo: origin :{org.server_port}  c-icap :{icap.port}  squid :{sq.port}  (dir {tmp.path})\n")
        out.write(f"demo: intranet hosts: dotless names and {INTRANET_PATTERNS}\n\n")

        b = Browser(sq.port, out, pki)
        ip = f"http://127.0.0.1:{org.server_port}"
        for url in [
            "http://intranet/",                          # public page, protected logo + script
            "http://www.example.test/partners.html",     # cross-site badge: suppressed
            "http://intranet/secure/report.html",        # page-denied, Basic
            "http://www.example.test/news/today.shtml",  # handler-denied
            "http://intranet/digest/index.html",         # Digest
            "http://www.example.test/ntlm/index.html",   # integrated, dotted: not-intranet
            f"{ip}/ntlm/index.html",                     # integrated, IP: not-intranet
            "http://intranet/ntlm/app.html",             # silent -> handshake -> credentials-rejected
            "http://portal.corp.example.test/ntlm/kerberos.html",  # listed host; Negotiate carrying NTLM
            "http://intranet/iis7/index.html",           # IIS 7 401.3
            "http://intranet/parent-proxy/index.html",   # 407 from a parent proxy
            "http://intranet/nochallenge/index.html",    # 401 without a challenge
            "http://intranet/malformed/index.html",      # malformed challenge
            "http://web.pc.test/kerberos/index.html",    # ticket the server cannot decrypt
        ] + ([https_page] if https_page else []):        # HTTPS, bumped: embedded-denied
            b.open(url)
        # Other users (SPEC §2a-§2b).
        out.write("browser: a partner's laptop, logged on to domain PARTNER\n")
        Browser(sq.port, out, pki, ua=UA_EDGE, identity=("PARTNER", "bob", "LAPTOP7")).open(
            "http://intranet/ntlm/orders.html")          # foreign-domain
        out.write("browser: a client whose connection drops mid-handshake\n")
        Browser(sq.port, out, pki, ua=UA_EDGE, identity=("CORP", "dave", "WS0099"), reconnect=True).open(
            "http://intranet/ntlm/vpn.html")             # handshake-split (client)
        out.write("browser: Chrome on Linux, no AuthServerAllowlist policy\n")
        Browser(sq.port, out, pki, ua=UA_CHROME_LINUX, auto_logon=False).open(
            "http://intranet/ntlm/wiki.html")            # not-allowlisted

        n_rows = lambda: len([ln for ln in open(sq.access_log) if " GET " in ln])  # noqa: E731
        H.wait_for(lambda: n_rows() >= 20, timeout=5.0)
        H.wait_for(lambda: len(cicap.read_events(icap.event_log)) >= 22, timeout=3.0)
        events = cicap.read_events(icap.event_log)
        rows = [ln for ln in open(sq.access_log) if " GET " in ln]
        if https_page:
            H.wait_for(lambda: any(e.get("parent") == https_page
                                   for e in cicap.read_events(icap.event_log)), timeout=3.0)
            events = cicap.read_events(icap.event_log)
        report(events, rows, out)
        out.write(f"\ndemo: {len(events)} events (logs and configs kept with PC_DEMO_KEEP=1)\n")
        missing = coverage(events, rows)
        if https_page:
            found = [e for e in events if e.get("parent") == https_page]
            for e in found:
                out.write(f"demo: HTTPS through SslBump: {e['url']} -> {e['cause']}, prompt {e['prompt']}, "
                          f"parent {e['parent']} (evidence {e['evidence']})\n")
            if not found:
                missing.append(f"an event for the HTTPS page {https_page} (SslBump)")
        if missing:
            sys.stderr.write("demo: not shown by promptcause: " + ", ".join(missing)
                             + " -- see " + icap.server_log + "\n")
            return 1
        out.write("demo: every cause of SPEC's table was reported\n")
        return 0
    except (RuntimeError, OSError) as e:
        sys.stderr.write(f"demo: failed to start: {e}\n")
        return 1
    finally:
        procs.stop_all()
        for srv in (org, tls_org):
            if srv is not None:
                srv.shutdown()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
