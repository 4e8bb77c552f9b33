"""test_squid_e2e -- every cause in SPEC's table, through the real chain.

client (http.client, Squid as its proxy) -> Squid 5 -> c-icap with
srv_promptcause.so (2 children) -> tests/integration/origin.py. Each scenario
is data: the requests a browser would make (on one keep-alive connection, so
NTLM handshakes stay pinned), and for each request the event SPEC §3 expects in
the event log (or none) and the X-Prompt-* values SPEC §4 expects in Squid's
access log. Three runs: defaults (plus IntranetHosts); LogHandshakes and
AnnotateResponse on (the client sees X-Prompt-Cause, bodies stay byte-identical);
Squid authenticating users (the proxy user is the event's user).

Exit status follows automake: 0 pass, 1 fail, 77 skip (no Squid / c-icap /
module / cicap.py), 99 hard error.
"""
import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402

HOSTS = ["intranet", "www.example.test", "other.example.org", "portal.corp.example.test"]
EVENT_KEYS = ("v", "ts", "client", "user", "method", "url", "host", "status", "cause", "prompt",
              "schemes", "realm", "auth_sent", "parent", "evidence", "object", "zone", "handler",
              "substatus", "hint", "reason", "browser", "server_domain", "spn", "krb_error",
              "connection")

# Browser-like request headers.
DOC = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
       "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}
IMG_FETCH = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8",
             "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"}
IMG_OLD = {"Accept": "image/png,image/*;q=0.8,*/*;q=0.5"}  # no fetch metadata, like an old IE
SCRIPT_FETCH = {"Accept": "*/*", "Sec-Fetch-Dest": "script", "Sec-Fetch-Mode": "no-cors"}

NO_MARKS = ("-", "-", "-")  # what Squid logs when the service added no X-Prompt-* header


def auth(word, raw):
    return {"Authorization": f"{word} {O.b64(raw)}"}


def step(url, headers=None, status=401, event=None, squid=None, body=None):
    """One request. event: expected event fields (subset) or None for "no event";
    squid: expected (X-Prompt-Cause, X-Prompt-Reason, X-Prompt-Parent) in the access
    log; defaults to what the event implies. body: bytes the client must receive."""
    if squid is None:
        squid = NO_MARKS if event is None else (event["cause"], event["prompt"], event.get("parent") or "-")
    return {"url": url, "headers": dict(headers or {}), "status": status, "event": event,
            "squid": squid, "body": body}


def scenarios(op):
    """The scenario table. op: the origin port (for the IP-literal host)."""
    I, W = "http://intranet", "http://www.example.test"
    ip = f"http://127.0.0.1:{op}"
    index = f"{I}/index.html"
    t1, t3 = O.ntlm_type1(), O.ntlm_type3("CORP", "alice", "WS01")
    small, big = O.malformed_body(2000), O.malformed_body(100000)
    return [
        ("plain page and image: no event, Squid logs '-'", [
            step(f"{I}/plain.html", DOC, 200),
            step(f"{I}/public/ok.gif", {**IMG_FETCH, "Referer": f"{I}/plain.html"}, 200),
        ]),
        ("page-denied, Basic", [
            step(f"{I}/secure/report.html", DOC, event=dict(
                cause="page-denied", prompt="basic", schemes=["Basic"], realm="secure",
                auth_sent="none", host="intranet", zone="intranet", parent=None, handler=None,
                user=None)),
        ]),
        ("handler-denied, .shtml on an FQDN", [
            step(f"{W}/news/today.shtml", DOC, event=dict(
                cause="handler-denied", handler=".shtml", prompt="not-intranet",
                schemes=["Negotiate", "NTLM"], zone="internet", host="www.example.test")),
        ]),
        ("embedded-denied, parent from the page's HTML", [
            step(index, DOC, 200),
            step(f"{I}/secure/logo.gif", {**IMG_FETCH, "Referer": index}, event=dict(
                cause="embedded-denied", prompt="basic", parent=index, evidence="html",
                object="image", realm="secure")),
        ]),
        ("embedded-denied, parent from Referer and Accept image/*", [
            step(index, DOC, 200),
            step(f"{I}/secure/hidden.gif", {**IMG_OLD, "Referer": index}, event=dict(
                cause="embedded-denied", prompt="basic", parent=index, evidence="referer",
                object="image")),
        ]),
        ("embedded-denied, parent from fetch metadata", [
            step(index, DOC, 200),
            step(f"{I}/secure/menu.js", {**SCRIPT_FETCH, "Referer": index}, event=dict(
                cause="embedded-denied", prompt="basic", parent=index, evidence="fetch-metadata",
                object="script")),
        ]),
        ("basic always prompts, even on an FQDN", [
            step(f"{W}/secure/index.html", DOC, event=dict(
                cause="page-denied", prompt="basic", zone="internet")),
        ]),
        ("digest", [
            step(f"{I}/digest/index.html", DOC, event=dict(
                cause="page-denied", prompt="digest", schemes=["Digest"], realm="digest")),
        ]),
        ("not-intranet: integrated auth on a dotted name", [
            step(f"{W}/ntlm/index.html", DOC, event=dict(
                cause="page-denied", prompt="not-intranet", schemes=["Negotiate", "NTLM"],
                zone="internet", host="www.example.test")),
        ]),
        ("not-intranet: integrated auth on an IP address", [
            step(f"{ip}/ntlm/index.html", DOC, event=dict(
                cause="page-denied", prompt="not-intranet", zone="internet", host="127.0.0.1")),
        ]),
        ("silent: integrated auth on a dotless name", [
            step(f"{I}/ntlm/index.html", DOC, event=dict(
                cause="page-denied", prompt="silent", zone="intranet", host="intranet")),
        ]),
        ("silent: dotted name listed in IntranetHosts", [
            step("http://portal.corp.example.test/ntlm/index.html", DOC, event=dict(
                cause="page-denied", prompt="silent", zone="intranet",
                host="portal.corp.example.test")),
        ]),
        ("handshake: type-2 answer, logged only with LogHandshakes on", [
            step(f"{I}/ntlm/handshake.html", {**DOC, **auth("NTLM", t1)}, event=None,
                 squid=("handshake", "none", "-")),
        ]),
        ("credentials-rejected: NTLM type-3 from CORP\\alice refused (IIS 401.1)", [
            step(f"{I}/ntlm/app.html", DOC, event=dict(cause="page-denied", prompt="silent")),
            step(f"{I}/ntlm/app.html", {**DOC, **auth("NTLM", t1)}, event=None,
                 squid=("handshake", "none", "-")),
            step(f"{I}/ntlm/app.html", {**DOC, **auth("NTLM", t3)}, event=dict(
                cause="credentials-rejected", prompt="rejected", user="CORP\\alice",
                auth_sent="ntlm", substatus="401.1")),
        ]),
        ("negotiate-ntlm: Kerberos fell back to NTLMSSP inside Negotiate", [
            step(f"{I}/ntlm/kerberos.html", {**DOC, **auth("Negotiate", t1)}, event=None,
                 squid=("handshake", "none", "-")),
            step(f"{I}/ntlm/kerberos.html", {**DOC, **auth("Negotiate", t3)}, event=dict(
                cause="credentials-rejected", prompt="rejected", user="CORP\\alice",
                auth_sent="negotiate-ntlm")),
        ]),
        # The origin sends two Proxy-Authenticate lines (NTLM, Basic realm="parent").
        # Squid 5.7 strips Proxy-Authenticate from the encapsulated response (a
        # hop-by-hop header) and copies only the first value into the ICAP request
        # headers, so the service can know NTLM only: prompt silent, no realm.
        ("proxy-auth: 407 from a parent proxy", [
            step(f"{I}/parent-proxy/index.html", DOC, status=407, event=dict(
                cause="proxy-auth", prompt="silent", status=407, schemes=["NTLM"])),
        ]),
        ("401 without a challenge", [
            step(f"{I}/nochallenge/index.html", DOC, event=dict(
                cause="page-denied", prompt="none", schemes=[])),
        ]),
        ("IIS 7 detailed error: substatus 401.3", [
            step(f"{I}/iis7/index.html", DOC, event=dict(
                cause="page-denied", prompt="basic", substatus="401.3", realm="iis7")),
        ]),
        ("malformed challenge: event from what could be read, body unchanged", [
            step(f"{I}/malformed/small.html?size=2000", DOC, body=small, event=dict(
                cause="page-denied", prompt="basic", schemes=["Basic"])),
            step(f"{I}/malformed/big.html?size=100000", DOC, body=big, event=dict(
                cause="page-denied", prompt="basic", schemes=["Basic"])),
        ]),
        # SPEC §7: pages beyond Squid's 64 KiB preview/Allow-204 window are echoed
        # back unchanged, never held, and scanned up to MaxHtmlBytes.
        ("big page (200 KB): delivered unchanged, its last image keeps its parent", [
            step(f"{I}/big.html?size=200000", DOC, 200, body=O.big_page(200000)),
            step(f"{I}/secure/tail.gif", {**IMG_FETCH, "Referer": f"{I}/big.html?size=200000"},
                 event=dict(cause="embedded-denied", prompt="basic", evidence="html",
                            parent=f"{I}/big.html?size=200000", object="image")),
        ]),
        ("suppressed: cross-site image", [
            step(f"{W}/cross-site.html", DOC, 200),
            step("http://other.example.org/secure/badge.gif",
                 {**IMG_FETCH, "Referer": f"{W}/cross-site.html"}, event=dict(
                     cause="embedded-denied", prompt="suppressed",
                     parent=f"{W}/cross-site.html", object="image")),
        ]),
    ]


# Squid authenticates its users (any name/password: basic_fake_auth) and tells
# the service who they are (SPEC §7): events then name the proxy user.
SQUID_AUTH = """
auth_param basic program /usr/lib/squid/basic_fake_auth
auth_param basic realm promptcause-test
acl authed proxy_auth REQUIRED
http_access deny !authed
adaptation_send_username on
icap_client_username_header X-Authenticated-User
"""


class Chain:
    """origin + c-icap (promptcause, 2 children) + Squid, in one temp dir."""

    def __init__(self, cicap, directives, squid_extra=""):
        self.tmp = H.TempDir(prefix="pc-e2e-")
        self.procs = H.Processes()
        self.origin = None
        try:
            self.origin = O.start_origin()
            self.icap = cicap.start_cicap(self.tmp, self.procs, directives, children=2)
            self.squid = S.start_squid(self.tmp, self.procs, self.icap.port,
                                       self.origin.server_port, HOSTS, extra=squid_extra)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.procs.stop_all()
        if self.origin is not None:
            self.origin.shutdown()
        self.tmp.cleanup()


def send(conn, st):
    """Send one step on conn (absolute URL: Squid is our proxy); returns (status, headers, body)."""
    host = re.match(r"http://([^/]+)", st["url"]).group(1)
    headers = {"Host": host, "User-Agent": "Mozilla/5.0 (promptcause e2e)", **st["headers"]}
    conn.request("GET", st["url"], headers=headers)
    r = conn.getresponse()
    return r.status, r.getheaders(), r.read()


def check_event(ev, st, failures, label):
    exp = st["event"]
    missing = [k for k in EVENT_KEYS if k not in ev]
    if missing:
        failures.append(f"{label}: event lacks {missing}: {ev}")
    base = {"v": 1, "client": "127.0.0.1", "method": "GET", "status": st["status"], "url": st["url"]}
    for k, v in {**base, **exp}.items():
        if ev.get(k) != v:
            failures.append(f"{label}: event {k}={ev.get(k)!r}, want {v!r}")
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", str(ev.get("ts"))):
        failures.append(f"{label}: ts {ev.get('ts')!r} is not an RFC 3339 UTC time")
    if ev.get("prompt") not in ("none", "silent") and not ev.get("hint"):
        failures.append(f"{label}: prompting event has no hint")


# A page longer than this is past Squid's preview: with MaxHtmlBytes above the
# preview the service reads it on and echoes it.
PREVIEW_BYTES = 64 * 1024


def run(chain, cicap, table, failures, expect_handshake_events=False, annotate=False, reads_on=False):
    """Send every scenario's steps on one connection per scenario; record failures.
    reads_on: the service echoes pages past the preview (MaxHtmlBytes above it).
    After such a page Squid 5.7 sometimes closes the keep-alive connection
    (about 1 % of echoed pages; docs/CORRELATION.md, "Connections closed after
    an echoed page"), and browsers resend an idempotent request once on a new
    connection (RFC 9112 9.3.1): so does this, there only, and says so."""
    def connect():
        return http.client.HTTPConnection("127.0.0.1", chain.squid.port, timeout=15)

    steps = []  # (label, step) in order sent
    for name, st_list in table:
        conn = connect()
        after_echo = False
        try:
            for i, st in enumerate(st_list):
                label = f"[{name}] step {i + 1} {st['url']}"
                steps.append((label, st))
                try:
                    try:
                        status, headers, body = send(conn, st)
                    except (http.client.RemoteDisconnected, ConnectionResetError) as e:
                        if not after_echo:
                            raise
                        print(f"resent once on a new connection after an echoed page (Squid 5.7 race): "
                              f"{label}: {e!r}")
                        conn.close()
                        conn = connect()
                        status, headers, body = send(conn, st)
                except (OSError, http.client.HTTPException) as e:
                    failures.append(f"{label}: no answer through Squid: {e!r}")
                    break  # the rest of the scenario needs this connection
                after_echo = reads_on and status == 200 and len(body) > PREVIEW_BYTES
                if status != st["status"]:
                    failures.append(f"{label}: HTTP {status}, want {st['status']}")
                if st["body"] is not None and body != st["body"]:
                    at = next((i for i, (a, b) in enumerate(zip(body, st["body"])) if a != b),
                              min(len(body), len(st["body"])))
                    failures.append(f"{label}: body changed in transit ({len(body)} bytes, want "
                                    f"{len(st['body'])}; first difference at byte {at})")
                marks = [v for k, v in headers if k.lower() == "x-prompt-cause"]
                want = [st["squid"][0]] if annotate and st["squid"][0] != "-" else []
                if marks != want:
                    failures.append(f"{label}: client got X-Prompt-Cause {marks}, want {want} "
                                    f"(AnnotateResponse {'on' if annotate else 'off'})")
        finally:
            conn.close()

    # Expected event count: the steps that expect one (plus handshakes when logged).
    def want_event(st):
        return st["event"] is not None or (expect_handshake_events and st["squid"][0] == "handshake")
    n_events = sum(1 for _, st in steps if want_event(st))
    events = H.wait_for(lambda: (lambda e: e if len(e) >= n_events else None)(
        cicap.read_events(chain.icap.event_log)), timeout=8.0) or cicap.read_events(chain.icap.event_log)
    n_lines = len(steps)
    rows = H.wait_for(lambda: (lambda r: r if len(r) >= n_lines else None)(
        [r for r in S.read_access_log(chain.squid.access_log) if r["method"] == "GET"]), timeout=8.0) \
        or [r for r in S.read_access_log(chain.squid.access_log) if r["method"] == "GET"]

    # Match by URL, in order: the n-th request to a URL gets the n-th log line for it.
    ev_by_url, row_by_url = {}, {}
    for ev in events:
        ev_by_url.setdefault(ev.get("url"), []).append(ev)
    for r in rows:
        row_by_url.setdefault(r["url"], []).append(r)
    for label, st in steps:
        # Squid strips query terms from %ru (strip_query_terms on).
        logged_url = st["url"].split("?")[0] + ("?" if "?" in st["url"] else "")
        r_list = row_by_url.get(logged_url, [])
        if not r_list:
            failures.append(f"{label}: no Squid access-log line")
        else:
            r = r_list.pop(0)
            got = (r["x_prompt_cause"], r["x_prompt_reason"], r["x_prompt_parent"])
            if got != tuple(st["squid"]):
                failures.append(f"{label}: Squid X-Prompt fields {got}, want {tuple(st['squid'])}")
            if not r["code_status"].endswith(f"/{st['status']}"):
                failures.append(f"{label}: Squid logged {r['code_status']}, want status {st['status']}")
        e_list = ev_by_url.get(st["url"], [])
        if st["event"] is not None:
            if e_list:
                check_event(e_list.pop(0), st, failures, label)
            else:
                failures.append(f"{label}: no event logged")
        elif expect_handshake_events and st["squid"][0] == "handshake":
            if e_list:
                ev = e_list.pop(0)
                for k, v in {"cause": "handshake", "prompt": "none", "status": 401}.items():
                    if ev.get(k) != v:
                        failures.append(f"{label}: handshake event {k}={ev.get(k)!r}, want {v!r}")
            else:
                failures.append(f"{label}: handshake not logged with LogHandshakes on")
        elif e_list and (e_list[0].get("cause") == "handshake" or st["status"] < 400):
            failures.append(f"{label}: unexpected event {e_list.pop(0)}")
    leftovers = [e for lst in ev_by_url.values() for e in lst]
    if leftovers:
        failures.append(f"unexpected events: {leftovers}")
    return events


def main():
    if H.find_binary("squid") is None or H.find_binary("c-icap") is None:
        print("SKIP: squid or c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    try:
        import cicap
    except ImportError as e:
        print(f"SKIP: tests/integration/cicap.py not available ({e})")
        return H.SKIP

    failures = []
    # Run 1: defaults (LogHandshakes off) plus a listed dotted intranet host, and
    # MaxHtmlBytes above the preview so the big page is read on and echoed.
    chain = Chain(cicap, [("IntranetHosts", "*.corp.example.test"), ("MaxHtmlBytes", "1M")])
    try:
        table = scenarios(chain.origin.server_port)
        events = run(chain, cicap, table, failures, reads_on=True)
        # login=PASSTHRU: the origin saw the client's Authorization header.
        seen = [h.get("Authorization", "") for _, p, h in chain.origin.requests if p == "/ntlm/app.html"]
        if not any(a.startswith("NTLM TlRMTVNTUAAD") for a in seen):
            failures.append("Squid did not pass the NTLM type-3 to the origin (login=PASSTHRU)")
        if failures:
            sys.stderr.write("--- events ---\n" + "".join(json.dumps(e) + "\n" for e in events))
            sys.stderr.write("--- access.log ---\n" + H.tail(chain.squid.access_log, 60))
            sys.stderr.write("--- c-icap log ---\n" + H.tail(chain.icap.server_log, 30))
    finally:
        chain.stop()

    # Run 2: LogHandshakes on -- the type-2 step is an event of its own; and
    # AnnotateResponse on -- the 401/407 the client gets carries X-Prompt-Cause
    # while its body (echoed by the service) stays byte-identical.
    chain = Chain(cicap, [("LogHandshakes", "on"), ("AnnotateResponse", "on"), ("MaxHtmlBytes", "1M")])
    try:
        table = [t for t in scenarios(chain.origin.server_port)
                 if t[0].split(":")[0] in ("handshake", "credentials-rejected", "malformed challenge",
                                           "proxy-auth", "plain page and image", "big page (200 KB)")]
        before = len(failures)
        run(chain, cicap, table, failures, expect_handshake_events=True, annotate=True, reads_on=True)
        if len(failures) > before:
            sys.stderr.write("--- run 2 c-icap log ---\n" + H.tail(chain.icap.server_log, 30))
    finally:
        chain.stop()

    # Run 3: Squid authenticates users; the proxy user is the event's user and
    # wins over the identity inside an NTLM type-3 (SPEC §3 `user`).
    if os.access("/usr/lib/squid/basic_fake_auth", os.X_OK):
        chain = Chain(cicap, [], squid_extra=SQUID_AUTH)
        try:
            proxy_auth = {"Proxy-Authorization": "Basic " + O.b64(b"bob:secret")}
            I = "http://intranet"
            table = [
                ("proxy user named in the event", [
                    step(f"{I}/secure/report.html", {**DOC, **proxy_auth}, event=dict(
                        cause="page-denied", prompt="basic", user="bob")),
                ]),
                ("proxy user wins over the NTLM identity", [
                    step(f"{I}/ntlm/app.html",
                         {**DOC, **proxy_auth, **auth("NTLM", O.ntlm_type3("CORP", "alice", "WS01"))},
                         event=dict(cause="credentials-rejected", prompt="rejected", user="bob",
                                    auth_sent="ntlm")),
                ]),
            ]
            before = len(failures)
            run(chain, cicap, table, failures)
            rows = S.read_access_log(chain.squid.access_log)
            if not any(r["user"] == "bob" for r in rows):
                failures.append("Squid did not log the authenticated user bob (%[un)")
            if len(failures) > before:
                sys.stderr.write("--- run 3 access.log ---\n" + H.tail(chain.squid.access_log, 20))
        finally:
            chain.stop()
    else:
        print("note: /usr/lib/squid/basic_fake_auth missing, proxy-user run skipped")

    for f in failures:
        print("FAIL:", f)
    n = sum(len(s) for _, s in scenarios(0))
    print(f"{'FAIL' if failures else 'PASS'}: {n} requests in {len(scenarios(0))} scenarios, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    H.run_main(main)
