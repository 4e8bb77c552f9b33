"""test_icap_service -- the promptcause c-icap service against a real c-icap.

Our own ICAP client (icapclient.py) plays Squid: it sends RESPMOD transactions
the way Squid 5.7 does (request and response headers, the body in a 64 KiB
preview with "0; ieof", X-Client-IP) to c-icap running the built module
(cicap.py). Each scenario is data: what the browser sent and what the origin
answered, and what must come back -- 204 or 200, the X-Prompt-* ICAP headers,
and the event-log line (SPEC §2-§5). Further checks cover what a table cannot:
OPTIONS, AnnotateResponse echoing bodies byte for byte, bad configurations that
must stop c-icap with a message naming the directive, and an unwritable
EventLog that must not stop the service.

Exit status follows automake: 0 pass, 1 fail, 77 skip (no c-icap or module).
"""
import base64
import os
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import cicap  # noqa: E402
import icapclient as C  # noqa: E402

CLIENT_IP = "10.1.2.3"
PREVIEW = 64512  # what the service advertises and Squid then sends (see srv_promptcause.c)

# ---- NTLMSSP messages (MS-NLMP 2.2.1), just enough for the proxy's view ------
SIG = b"NTLMSSP\x00"
F_UNICODE, F_NTLM, F_TARGET_INFO = 0x1, 0x200, 0x800000


def ntlm_type1():
    """NEGOTIATE_MESSAGE: signature, type, flags, empty domain/workstation buffers."""
    return SIG + struct.pack("<II", 1, F_UNICODE | F_NTLM) + struct.pack("<HHI", 0, 0, 32) * 2


def ntlm_type2():
    """CHALLENGE_MESSAGE: empty target name, flags, 8-byte challenge, empty target info."""
    return (SIG + struct.pack("<I", 2) + struct.pack("<HHI", 0, 0, 48)
            + struct.pack("<I", F_UNICODE | F_NTLM | F_TARGET_INFO) + b"\x01\x23\x45\x67\x89\xab\xcd\xef"
            + b"\x00" * 8 + struct.pack("<HHI", 0, 0, 48))


def ntlm_type3(domain="CORP", user="alice", workstation="WS01"):
    """AUTHENTICATE_MESSAGE with UTF-16LE names and dummy 24-byte responses;
    payload after the 64-byte fixed part (no version, no MIC)."""
    fields = [b"\x00" * 24, b"\x11" * 24, domain.encode("utf-16-le"), user.encode("utf-16-le"),
              workstation.encode("utf-16-le"), b""]
    off = 64
    bufs, payload = b"", b""
    for f in fields:
        bufs += struct.pack("<HHI", len(f), len(f), off + len(payload))
        payload += f
    return SIG + struct.pack("<I", 3) + bufs + struct.pack("<I", F_UNICODE | F_NTLM) + payload


def b64(raw):
    return base64.b64encode(raw).decode()


def token(rel):
    """A real implementation's token from tests/data (base64 text as stored):
    gss-ntlmssp / impacket NTLM (tests/data/ntlm), MIT krb5 (tests/data/krb)."""
    with open(os.path.join(H.TOP_SRCDIR, "tests", "data", rel)) as f:
        return f.read().strip()


# ---- the scenario table ------------------------------------------------------
DOC = "Accept: text/html,application/xhtml+xml,*/*;q=0.8\nSec-Fetch-Dest: document\nSec-Fetch-Mode: navigate\n"
IMG_OLD = "Accept: image/png,image/*;q=0.8,*/*;q=0.5\n"  # no fetch metadata (old IE)
IMG_FETCH = "Accept: image/avif,image/webp,*/*\nSec-Fetch-Dest: image\nSec-Fetch-Mode: no-cors\n"
IIS_401_3 = (b"<html><head><title>You are not authorized to view this page</title></head><body>"
             b"<h2>HTTP Error 401.3 - Unauthorized: Access is denied due to an ACL set on the "
             b"requested resource.</h2>Internet Information Services (IIS)</body></html>")


def get(url, extra=""):
    host = url.split("/")[2]
    return f"GET {url} HTTP/1.1\nHost: {host}\nUser-Agent: Mozilla/5.0\n{extra}"


def get_ua(url, ua, extra=""):
    host = url.split("/")[2]
    return f"GET {url} HTTP/1.1\nHost: {host}\nUser-Agent: {ua}\n{extra}"


CHROME_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36")
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")


def r401(*challenges, status="401 Unauthorized", header="WWW-Authenticate", length=None):
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/html"]
    lines += [f"{header}: {c}" for c in challenges]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\n".join(lines) + "\n"


def case(name, req, res, body=b"<html>denied</html>", event=None, x=None, icap=204, preview=PREVIEW,
         icap_headers=None, group="default", hint_has=()):
    """One transaction. event: expected event fields (subset), or None for "no
    event line". x: expected X-Prompt-* headers {Cause, Reason, Parent}; None
    for "no X-Prompt-* at all"; by default derived from event."""
    if x is None and event is not None:
        x = {"Cause": event["cause"], "Reason": event["prompt"], "Parent": event.get("parent")}
        if "reason" in event:  # SPEC §2a: X-Prompt-Detail carries the reason, absent when null
            x["Detail"] = event["reason"]
    hdrs = {"X-Client-IP": CLIENT_IP}
    hdrs.update(icap_headers or {})
    return dict(name=name, req=req, res=res, body=body, event=event, x=x, icap=icap, preview=preview,
                icap_headers=hdrs, group=group, hint_has=hint_has)


I, W = "http://intranet", "http://www.example.com"
NEG_NTLM = ("Negotiate", "NTLM")

CASES = [
    case("200 OK is not ours: 204, no X-Prompt, no event",
         get(f"{I}/index.html", DOC), "HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5\n", b"hello"),
    case("302 is not ours either",
         get(f"{I}/old", DOC), "HTTP/1.1 302 Found\nLocation: /new\n", None),
    case("page-denied, Basic", get(f"{I}/secure/index.html", DOC), r401('Basic realm="Secure Area"'),
         event=dict(cause="page-denied", prompt="basic", schemes=["Basic"], realm="Secure Area", zone="intranet",
                    auth_sent="none", object="document", parent=None, host="intranet", user=None,
                    url=f"{I}/secure/index.html", method="GET", status=401, client=CLIENT_IP, v=1)),
    case("page-denied, Digest", get(f"{W}/private/", DOC),
         r401('Digest realm="staff@example.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"'),
         event=dict(cause="page-denied", prompt="digest", schemes=["Digest"], realm="staff@example.com",
                    zone="internet", host="www.example.com")),
    case("integrated auth to an FQDN: not-intranet", get(f"{W}/app/", DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="not-intranet", schemes=["Negotiate", "NTLM"], zone="internet")),
    case("integrated auth to an IP literal: not-intranet", get("http://192.0.2.10/app/", DOC), r401("NTLM"),
         event=dict(cause="page-denied", prompt="not-intranet", zone="internet", host="192.0.2.10")),
    case("integrated auth to a dotless host: silent", get(f"{I}/app/", DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="silent", zone="intranet")),
    case("dotted host without IntranetHosts: not-intranet", get("http://app.corp.example/", DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="not-intranet", zone="internet")),
    case("dotted host listed in IntranetHosts: silent", get("http://app.corp.example/", DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="silent", zone="intranet"), group="intranet"),
    case("IP listed by CIDR in IntranetHosts: silent", get("http://10.20.30.40/", DOC), r401("NTLM"),
         event=dict(cause="page-denied", prompt="silent", zone="intranet"), group="intranet"),
    case("script-mapped extension: handler-denied", get(f"{I}/news/page.shtml", DOC),
         r401('Basic realm="x"'), event=dict(cause="handler-denied", handler=".shtml", prompt="basic")),
    case("image with Referer and image Accept: embedded-denied",
         get(f"{I}/secure/logo.gif", f"Referer: {I}/index.html\n{IMG_OLD}"), r401('Basic realm="img"'),
         event=dict(cause="embedded-denied", prompt="basic", parent=f"{I}/index.html", evidence="referer",
                    object="image")),
    case("image with fetch metadata: embedded-denied, evidence fetch-metadata",
         get(f"{I}/secure/logo.png", f"Referer: {I}/index.html\n{IMG_FETCH}"), r401('Basic realm="img"'),
         event=dict(cause="embedded-denied", parent=f"{I}/index.html", evidence="fetch-metadata",
                    object="image", prompt="basic")),
    case("NTLM type-2 handshake: X-Prompt-* but no event by default",
         get(f"{I}/app/", f"{DOC}Authorization: NTLM {b64(ntlm_type1())}\n"), r401(f"NTLM {b64(ntlm_type2())}"),
         event=None, x={"Cause": "handshake", "Reason": "none", "Parent": None}),
    case("NTLM type-2 handshake logged with LogHandshakes on",
         get(f"{I}/app/", f"{DOC}Authorization: NTLM {b64(ntlm_type1())}\n"), r401(f"NTLM {b64(ntlm_type2())}"),
         event=dict(cause="handshake", prompt="none", auth_sent="ntlm"), group="handshakes"),
    case("NTLM type-3 still refused: credentials-rejected, user from the message",
         get(f"{I}/app/", f"{DOC}Authorization: NTLM {b64(ntlm_type3())}\n"), r401(*NEG_NTLM),
         event=dict(cause="credentials-rejected", prompt="rejected", auth_sent="ntlm", user="CORP\\alice")),
    case("NTLMSSP inside Negotiate: auth_sent negotiate-ntlm",
         get(f"{I}/app/", f"{DOC}Authorization: Negotiate {b64(ntlm_type3())}\n"), r401("Negotiate"),
         event=dict(cause="credentials-rejected", prompt="rejected", auth_sent="negotiate-ntlm", user="CORP\\alice")),
    case("Basic credentials refused: user before the colon, never the password",
         get(f"{I}/app/", f"{DOC}Authorization: Basic {b64(b'bob:s3cret-pw')}\n"), r401('Basic realm="x"'),
         event=dict(cause="credentials-rejected", prompt="rejected", auth_sent="basic", user="bob")),
    case("SPEC §2b: Chrome on Linux, integrated auth to a dotless host not in AuthAllowlist: not-allowlisted",
         get_ua(f"{I}/app/", CHROME_LINUX, DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="not-allowlisted", browser="chrome/linux")),
    case("SPEC §2b: Edge on Windows, same host: silent (Local intranet zone)",
         get_ua(f"{I}/app/", EDGE_WINDOWS, DOC), r401(*NEG_NTLM),
         event=dict(cause="page-denied", prompt="silent", browser="edge/windows")),
    case("SPEC §7: X-Client-Connection from Squid's adaptation_meta becomes the event's connection",
         get(f"{I}/conn/", DOC), r401('Basic realm="x"'),
         event=dict(cause="page-denied", prompt="basic", connection="127.0.0.1:50123"),
         icap_headers={"X-Client-Connection": "127.0.0.1:50123", "X-Server-Connection": "127.0.0.1:40000"}),
    case("proxy user from X-Authenticated-User", get(f"{I}/x/", DOC), r401('Basic realm="x"'),
         event=dict(cause="page-denied", prompt="basic", user="carol"), icap_headers={"X-Authenticated-User": "carol"}),
    case("407 from a parent proxy: proxy-auth, Basic",
         get(f"{W}/", DOC), r401('Basic realm="proxy"', status="407 Proxy Authentication Required",
                                 header="Proxy-Authenticate"),
         event=dict(cause="proxy-auth", prompt="basic", status=407, realm="proxy")),
    case("407 with Negotiate: proxy-auth, silent",
         get(f"{W}/", DOC), r401("Negotiate", status="407 Proxy Authentication Required",
                                 header="Proxy-Authenticate"),
         event=dict(cause="proxy-auth", prompt="silent", status=407)),
    case("407 as Squid sends it: Proxy-Authenticate moved to the ICAP headers",
         get(f"{W}/", DOC), r401(status="407 Proxy Authentication Required"),
         event=dict(cause="proxy-auth", prompt="silent", status=407, schemes=["NTLM"]),
         icap_headers={"Proxy-Authenticate": "NTLM"}),
    case("401 without any challenge", get(f"{I}/x.html", DOC), r401(),
         event=dict(cause="page-denied", prompt="none", schemes=[])),
    case("malformed challenge: event with what was read, response unchanged",
         get(f"{I}/y.html", DOC), r401('Basic realm="unterminated, Digest ,,, ="'),
         event=dict(cause="page-denied", prompt="basic")),
    case("401 with null-body (HEAD-like)", get(f"{I}/nobody.html", DOC), r401('Basic realm="nb"'), body=None,
         event=dict(cause="page-denied", prompt="basic", realm="nb")),
    case("IIS substatus read from the 401 body", get(f"{I}/acl/file.htm", DOC),
         r401("Negotiate", "NTLM", length=len(IIS_401_3)), body=IIS_401_3,
         event=dict(cause="page-denied", prompt="silent", substatus="401.3")),
    case("401 sent without Preview (body whole): still classified, 204",
         get(f"{I}/nopreview.html", DOC), r401('Basic realm="np"'), preview=None,
         event=dict(cause="page-denied", prompt="basic", realm="np")),
    case("401 body bigger than the preview: decided in preview",
         get(f"{I}/big.html", DOC), r401('Basic realm="big"'), body=b"x" * 5000, preview=1024,
         event=dict(cause="page-denied", prompt="basic", realm="big")),
    # SPEC §2a reasons, from the tokens of real implementations: the event's
    # fields and the X-Prompt-Detail header Squid logs
    case("§2a foreign-domain: impacket OTHERDOM\\bob answering gss-ntlmssp's CORP challenge",
         get("http://www.corp.example/app/", f"{DOC}Authorization: NTLM {token('ntlm/impacket.v2-foreign.type3.b64')}\n"),
         r401(*NEG_NTLM),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="foreign-domain",
                    user="OTHERDOM\\bob", server_domain="CORP", spn=None, krb_error=None),
         hint_has=("OTHERDOM", "server's domain CORP", "trust")),
    case("§2a local-account: impacket logon without a domain",
         get("http://www.corp.example/app/", f"{DOC}Authorization: NTLM {token('ntlm/impacket.v2-local.type3.b64')}\n"),
         r401(*NEG_NTLM),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="local-account", user="alice",
                    server_domain="CORP")),
    case("§2a ntlmv1: impacket NTLMv1 (24-byte NT response)",
         get("http://www.corp.example/app/", f"{DOC}Authorization: NTLM {token('ntlm/impacket.v1.type3.b64')}\n"),
         r401("NTLM"),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="ntlmv1", user="CORP\\alice",
                    server_domain=None)),
    case("§2a anonymous-ntlm: impacket anonymous type-3",
         get("http://www.corp.example/app/", f"{DOC}Authorization: NTLM {token('ntlm/impacket.anon.type3.b64')}\n"),
         r401("NTLM"),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="anonymous-ntlm", user=None)),
    case("§2a wrong password: nothing more visible, reason null, no X-Prompt-Detail",
         get("http://www.corp.example/app/", f"{DOC}Authorization: NTLM {token('ntlm/impacket.v2-wrongpw.type3.b64')}\n"),
         r401("NTLM"),
         event=dict(cause="credentials-rejected", prompt="rejected", reason=None, server_domain="CORP")),
    case("§2a kerberos-wrong-account: MIT ticket, acceptor keyed differently (KRB-ERROR 31 in SPNEGO reject)",
         get("http://web.pc.test/app/", f"{DOC}Authorization: Negotiate {token('krb/spnego-badkey.init.b64')}\n"),
         r401(f"Negotiate {token('krb/spnego-badkey.resp.b64')}"),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="kerberos-wrong-account",
                    auth_sent="negotiate-kerberos", spn="HTTP/web.pc.test@PC.TEST",
                    krb_error="KRB_AP_ERR_BAD_INTEGRITY", server_domain=None),
         hint_has=("setspn -Q HTTP/web.pc.test",)),
    case("§2a kerberos-wrong-account: stale keytab (KRB_AP_ERR_BADKEYVER), bare krb5 mech",
         get("http://web.pc.test/app/", f"{DOC}Authorization: Negotiate {token('krb/krb5-badkvno.init.b64')}\n"),
         r401(f"Negotiate {token('krb/krb5-badkvno.resp.b64')}"),
         event=dict(cause="credentials-rejected", prompt="rejected", reason="kerberos-wrong-account",
                    spn="HTTP/web.pc.test@PC.TEST", krb_error="KRB_AP_ERR_BADKEYVER")),
    case("UserNames off: no user in the event",
         get(f"{I}/app/", f"{DOC}Authorization: NTLM {b64(ntlm_type3())}\n"), r401("NTLM"),
         event=dict(cause="credentials-rejected", prompt="rejected", user=None), group="users_off"),
]

GROUPS = {
    "default": [],
    "intranet": [("IntranetHosts", "*.corp.example"), ("IntranetHosts", "10.0.0.0/8 fileserver")],
    "handshakes": [("LogHandshakes", "on")],
    "users_off": [("UserNames", "off")],
}


# ---- running ---------------------------------------------------------------------
class Results:
    def __init__(self):
        self.run = 0
        self.failed = []

    def check(self, name, fn):
        self.run += 1
        try:
            problems = fn() or []
        except Exception as e:  # a crash in one case must not hide the others
            problems = [f"exception: {e!r}\n{traceback.format_exc()}"]
        if problems:
            self.failed.append((name, problems))
            print(f"FAIL {name}")
            for p in problems:
                print(f"     {p}")
        else:
            print(f"ok   {name}")


def xprompt(resp, keys=("Cause", "Reason", "Parent", "Detail")):
    return {k: resp.header(f"X-Prompt-{k}") for k in keys}


def run_case(srv, c):
    problems = []
    before = len(cicap.read_events(srv.event_log))
    resp = C.respmod(srv.port, c["req"], c["res"], c["body"], preview=c["preview"],
                     icap_headers=c["icap_headers"])
    if resp.status != c["icap"]:
        problems.append(f"ICAP status {resp.status}, want {c['icap']}")
    # X-Prompt-Detail is checked where the case names a reason, and must be
    # absent when no X-Prompt-* is expected at all
    want_x = c["x"] or {"Cause": None, "Reason": None, "Parent": None, "Detail": None}
    got_x = xprompt(resp, tuple(want_x))
    if got_x != want_x:
        problems.append(f"X-Prompt-* {got_x}, want {want_x}")
    events = cicap.read_events(srv.event_log)[before:]
    if c["event"] is None:
        if events:
            problems.append(f"unexpected event(s): {events}")
    elif len(events) != 1:
        problems.append(f"want exactly 1 new event, got {len(events)}: {events}")
    else:
        ev = events[0]
        for k in ("v", "ts", "client", "user", "method", "url", "host", "status", "cause", "prompt", "schemes",
                  "realm", "auth_sent", "parent", "evidence", "object", "zone", "handler", "substatus", "hint",
                  "reason", "browser", "server_domain", "spn", "krb_error", "connection"):
            if k not in ev:
                problems.append(f"event lacks {k}")
        for k, v in c["event"].items():
            if ev.get(k) != v:
                problems.append(f"event {k}={ev.get(k)!r}, want {v!r}")
        for want in c["hint_has"]:
            if want not in (ev.get("hint") or ""):
                problems.append(f"hint {ev.get('hint')!r} lacks {want!r}")
        if "s3cret" in str(ev):
            problems.append("password leaked into the event")
    return problems


def with_cicap(directives, fn, **kw):
    tmp, procs = H.TempDir(prefix="pc-icap-"), H.Processes()
    try:
        srv = cicap.start_cicap(tmp, procs, directives, **kw)
        return fn(srv, tmp)
    finally:
        procs.stop_all()
        tmp.cleanup()


def table_tests(res):
    for group, directives in GROUPS.items():
        cases = [c for c in CASES if c["group"] == group]

        def run_group(srv, tmp, cases=cases):
            for c in cases:
                res.check(f"[{group}] {c['name']}", lambda c=c: run_case(srv, c))
            # statistics: responses, 401s and causes are counted (c-icap's info service)
        with_cicap(directives, run_group)


def options_tests(res):
    def run(srv, tmp):
        def check():
            o = C.options(srv.port)
            p = []
            if o.status != 200:
                p.append(f"OPTIONS status {o.status}")
            if o.header("Preview") != str(PREVIEW):
                p.append(f"Preview {o.header('Preview')!r}, want {PREVIEW}")
            if "204" not in (o.header("Allow") or ""):
                p.append(f"Allow {o.header('Allow')!r} lacks 204")
            if o.header("Transfer-Preview") != "*":
                p.append(f"Transfer-Preview {o.header('Transfer-Preview')!r}")
            if o.header("Max-Connections") != "7":
                p.append(f"Max-Connections {o.header('Max-Connections')!r}, want 7 (MaxConnections)")
            if "RESPMOD" not in (o.header("Methods") or ""):
                p.append("Methods lacks RESPMOD")
            return p
        res.check("OPTIONS advertises preview, 204, Transfer-Preview *, Max-Connections", check)
    with_cicap([("MaxConnections", "7")], run)


def annotate_tests(res):
    body = bytes(range(256)) * 20 + b"\r\n0\r\n\r\n tricky chunk-looking bytes"

    def run(srv, tmp):
        def annotated(preview, payload, status_line="401 Unauthorized", want_icap=200):
            def check():
                p = []
                hdr = r401('Basic realm="a"', status=status_line,
                           length=len(payload) if payload is not None else None)
                r = C.respmod(srv.port, get(f"{I}/a.html", DOC), hdr, payload, preview=preview,
                              icap_headers={"X-Client-IP": CLIENT_IP})
                if r.status != want_icap:
                    return [f"ICAP status {r.status}, want {want_icap}"]
                if want_icap == 204:
                    return []
                if r.http_header("X-Prompt-Cause") != "page-denied":
                    p.append(f"HTTP X-Prompt-Cause {r.http_header('X-Prompt-Cause')!r}")
                if not (r.http_status_line or "").startswith("HTTP/1.1 401"):
                    p.append(f"HTTP status line {r.http_status_line!r}")
                if r.http_header("WWW-Authenticate") != 'Basic realm="a"':
                    p.append("WWW-Authenticate not delivered unchanged")
                if r.header("X-Prompt-Cause") != "page-denied":
                    p.append("ICAP X-Prompt-Cause missing")
                if payload is None:
                    if r.body:
                        p.append(f"null-body answered with a body {r.body[:40]!r}")
                elif r.body != payload:
                    p.append(f"body changed: {len(r.body or b'')} bytes back, {len(payload)} sent")
                return p
            return check
        res.check("[annotate] 401 body in preview: X-Prompt-Cause added, body byte-identical",
                  annotated(PREVIEW, body))
        res.check("[annotate] 401 body beyond the preview (100 Continue): body byte-identical",
                  annotated(1000, body * 30))
        res.check("[annotate] 401 without Preview: body byte-identical", annotated(None, body))
        res.check("[annotate] 401 with null-body: header added, no body", annotated(PREVIEW, None))
        res.check("[annotate] 200 still answered 204",
                  annotated(PREVIEW, b"ok", status_line="200 OK", want_icap=204))
    with_cicap([("AnnotateResponse", "on")], run)


def hash_tests(res):
    tmp = H.TempDir(prefix="pc-key-")
    try:
        key = tmp.write("key", "0123456789abcdef0123456789abcdef\n", mode=0o600)

        def run(srv, t):
            def check():
                users = []
                for _ in range(2):
                    before = len(cicap.read_events(srv.event_log))
                    C.respmod(srv.port, get(f"{I}/app/", f"{DOC}Authorization: NTLM {b64(ntlm_type3())}\n"),
                              r401("NTLM"), b"x", preview=PREVIEW, icap_headers={"X-Client-IP": CLIENT_IP})
                    evs = cicap.read_events(srv.event_log)[before:]
                    if len(evs) != 1:
                        return [f"want 1 event, got {evs}"]
                    users.append(evs[0].get("user"))
                p = []
                if not users[0] or "alice" in users[0].lower():
                    p.append(f"hashed user {users[0]!r} is empty or reveals the name")
                if users[0] != users[1]:
                    p.append(f"hash not stable: {users}")
                return p
            res.check("[users_hash] UserNames hash: keyed, stable, no plain name", check)
        with_cicap([("UserNames", "hash"), ("UserNamesKeyFile", key)], run)
    finally:
        tmp.cleanup()


BAD_CONFIGS = [
    ("UserNames maybe", [("UserNames", "maybe")], ["promptcause.UserNames", '"maybe"', "log, hash or off"]),
    ("IntranetHosts bad regex", [("IntranetHosts", "good.example /[/")], ["promptcause.IntranetHosts", "/[/"]),
    ("AuthAllowlist bad network", [("AuthAllowlist", "*.corp.example 10.0.0.0/33")],
     ["promptcause.AuthAllowlist", "10.0.0.0/33"]),
    ("CorrelationWindow 0", [("CorrelationWindow", "0")], ["promptcause.CorrelationWindow"]),
    ("StoreBytes 12Q", [("StoreBytes", "12Q")], ["promptcause.StoreBytes", "12Q"]),
    ("AnnotateResponse maybe", [("AnnotateResponse", "yes please")], ["promptcause.AnnotateResponse"]),
    ("HandlerExtensions without dot", [("HandlerExtensions", ".asp shtml")], ["promptcause.HandlerExtensions",
                                                                                '"shtml"']),
    ("Syslog unknown facility", [("Syslog", "local9")], ["promptcause.Syslog", "local9"]),
    ("EventLogDelay too long", [("EventLogDelay", "60000")], ["promptcause.EventLogDelay", "60000", "0 and 10000"]),
    ("EventLogDelay not a number", [("EventLogDelay", "10ms")], ["promptcause.EventLogDelay", '"10ms"']),
    ("UserNames hash without a key file", [("UserNames", "hash")], ["UserNamesKeyFile"]),
    # c-icap reads MaxConnections itself (a per-service directive of its own):
    # the service checks what c-icap made of it once the file is read.
    ("MaxConnections not a number", [("MaxConnections", "thirty")], ["promptcause.MaxConnections", "1 and 100000"]),
    ("MaxConnections 0", [("MaxConnections", "0")], ["promptcause.MaxConnections", "read as 0"]),
    ("MaxConnections too many", [("MaxConnections", "100001")], ["promptcause.MaxConnections", "read as 100001"]),
]
# Checks made once the whole file is read name the directive but no line.
AFTER_READ = {"UserNamesKeyFile", "promptcause.MaxConnections"}


def bad_config_tests(res):
    for label, directives, needles in BAD_CONFIGS:
        def check(directives=directives, needles=needles):
            tmp = H.TempDir(prefix="pc-bad-")
            try:
                rc, out = cicap.run_cicap_expect_exit(tmp, directives)
                p = []
                if rc is None:
                    p.append("c-icap kept running on a bad configuration")
                elif rc == 0:
                    p.append("c-icap exited with status 0 on a bad configuration")
                for n in needles:
                    if n not in out:
                        p.append(f"message lacks {n!r}: {out.strip()[-400:]!r}")
                # the message must name the file and line when the directive is in a file
                if needles[0] not in AFTER_READ and f"{tmp.join('bad.conf')}:" not in out:
                    p.append(f"message lacks file:line: {out.strip()[-400:]!r}")
                return p
            finally:
                tmp.cleanup()
        res.check(f"[bad config] {label}: c-icap refuses to start, names the directive", check)


def unwritable_log_tests(res):
    def run(srv, tmp):
        def check():
            r = C.respmod(srv.port, get(f"{I}/secure/", DOC), r401('Basic realm="x"'), b"denied",
                          preview=PREVIEW, icap_headers={"X-Client-IP": CLIENT_IP})
            p = []
            if r.status != 204 or r.header("X-Prompt-Cause") != "page-denied":
                p.append(f"answer {r.status} {xprompt(r)}, want 204 page-denied")
            r2 = C.respmod(srv.port, get(f"{I}/"), "HTTP/1.1 200 OK\nContent-Length: 2\n", b"ok", preview=PREVIEW)
            if r2.status != 204:
                p.append(f"service stopped answering: {r2.status}")
            if srv.proc.poll() is not None:
                p.append(f"c-icap exited ({srv.proc.returncode})")
            errors = info_stats(srv.port).get("event log write errors")
            if errors != 1:
                p.append(f"event log write errors = {errors!r}, want 1")
            log = open(srv.out, errors="replace").read()
            if "cannot" not in log or "/nonexistent-dir/events.jsonl" not in log:
                p.append(f"the unwritable log was not reported on stderr: {log[-300:]!r}")
            return p
        res.check("EventLog unwritable: c-icap starts, says so, keeps answering", check)
    with_cicap([("EventLog", "/nonexistent-dir/events.jsonl")], run)


info_stats = cicap.info_stats


def stats_tests(res):
    def run(srv, tmp):
        def check():
            send = lambda req, hdr, body=b"x": C.respmod(srv.port, req, hdr, body, preview=PREVIEW,
                                                         icap_headers={"X-Client-IP": CLIENT_IP})
            send(get(f"{I}/"), "HTTP/1.1 200 OK\nContent-Length: 1\n")
            send(get(f"{I}/a", DOC), r401('Basic realm="a"'))
            send(get(f"{I}/b", DOC), r401('Basic realm="b"'))
            send(get(f"{W}/", DOC), r401('Basic realm="p"', status="407 Proxy Authentication Required",
                                         header="Proxy-Authenticate"))
            send(get(f"{I}/h", f"{DOC}Authorization: NTLM {b64(ntlm_type1())}\n"), r401(f"NTLM {b64(ntlm_type2())}"))
            want = {"responses seen": 5, "401 responses": 3, "407 responses": 1, "handshakes not logged": 1,
                    "events page-denied": 2, "events proxy-auth": 1, "events handshake": 1,
                    "events embedded-denied": 0, "internal errors": 0, "event log write errors": 0}
            got = info_stats(srv.port)
            return [f"counter {k!r} = {got.get(k)!r}, want {v}" for k, v in want.items() if got.get(k) != v]
        res.check("statistics: counters in c-icap's info service match the traffic", check)
    with_cicap([], run)


def rotation_tests(res):
    def run(srv, tmp):
        def check():
            send = lambda path: C.respmod(srv.port, get(f"{I}{path}", DOC), r401('Basic realm="r"'), b"x",
                                          preview=PREVIEW, icap_headers={"X-Client-IP": CLIENT_IP})
            send("/before")
            rotated = srv.event_log + ".1"
            os.rename(srv.event_log, rotated)
            time.sleep(1.2)  # the service checks the path at most once a second
            send("/after")
            old, new = cicap.read_events(rotated), cicap.read_events(srv.event_log)
            p = []
            if [e["url"] for e in old] != [f"{I}/before"]:
                p.append(f"rotated file holds {[e['url'] for e in old]}")
            if [e["url"] for e in new] != [f"{I}/after"]:
                p.append(f"new file holds {[e['url'] for e in new]} (log not reopened after rotation)")
            return p
        res.check("EventLog reopened after logrotate renamed it", check)
    with_cicap([], run)


def concurrency_tests(res):
    """Two children x 8 threads appending long lines at once: every line whole."""
    import concurrent.futures as cf
    n = 160

    def run(srv, tmp):
        def check():
            def one(i):
                url = f"{I}/c/{i}/" + "p" * 3000  # long lines make interleaving visible
                r = C.respmod(srv.port, get(url, DOC), r401('Basic realm="c"'), b"x", preview=PREVIEW,
                              icap_headers={"X-Client-IP": CLIENT_IP})
                return r.status
            with cf.ThreadPoolExecutor(max_workers=12) as ex:
                statuses = list(ex.map(one, range(n)))
            p = []
            if statuses.count(204) != n:
                p.append(f"answers {sorted(set(statuses))}, want all 204")
            # A burst this fast is "busy": lines may wait up to EventLogDelay
            # (10 ms) to share a write (module/linering.c). Wait for them, then
            # a moment more so a surplus line would show too.
            try:
                H.wait_for(lambda: len(cicap.read_events(srv.event_log)) >= n, timeout=5.0)
                time.sleep(0.2)
                events = cicap.read_events(srv.event_log)
            except ValueError as e:
                return p + [f"interleaved or torn line: {e}"]
            urls = {e["url"].split("/")[4] for e in events}
            if len(events) != n or len(urls) != n:
                p.append(f"{len(events)} events for {n} responses ({len(urls)} distinct)")
            return p
        res.check(f"{n} concurrent 401s over 2 children: one whole JSON line each", check)
    with_cicap([], run, children=2, threads=8)


def shipped_snippet_tests(res):
    """etc/promptcause.conf with every documented directive uncommented must load."""
    def check():
        src = os.path.join(H.TOP_SRCDIR, "etc", "promptcause.conf")
        tmp, procs = H.TempDir(prefix="pc-snippet-"), H.Processes()
        try:
            key = tmp.write("key", "0123456789abcdef\n")
            lines = []
            for line in open(src).read().splitlines():
                if line.startswith("#promptcause."):
                    line = line[1:]
                if line.startswith("Service promptcause "):
                    line = f"Service promptcause {os.path.abspath(H.MODULE)}"
                elif line.startswith("promptcause.EventLog "):
                    line = f"promptcause.EventLog {tmp.join('events.jsonl')}"
                elif line.startswith("promptcause.UserNamesKeyFile "):
                    line = f"promptcause.UserNamesKeyFile {key}"
                lines.append(line)
            snippet = tmp.write("promptcause.conf", "\n".join(lines) + "\n")
            port = H.free_port()
            conf = cicap.write_conf(tmp, port, [("EventLog", None)], extra_conf=f"Include {snippet}")
            conf_text = open(conf).read().replace(f"Service promptcause {os.path.abspath(H.MODULE)}\n", "")
            open(conf, "w").write(conf_text)
            proc = procs.start(cicap.cicap_argv(conf), log_path=tmp.join("c-icap.out"))
            try:
                H.wait_for_port(port, proc=proc, what="c-icap")
            except RuntimeError as e:
                return [f"{e}: {H.tail(tmp.join('c-icap.out'))}"]
            r = C.respmod(port, get(f"{I}/s", DOC), r401('Basic realm="s"'), b"x", preview=PREVIEW)
            return [] if r.status == 204 and r.header("X-Prompt-Cause") == "page-denied" else [f"answer {r!r}"]
        finally:
            procs.stop_all()
            tmp.cleanup()
    res.check("etc/promptcause.conf with every directive uncommented loads and serves", check)


def reload_tests(res):
    """c-icap's reconfigure command re-reads our directives (close, init, post_init)."""
    def run(srv, tmp):
        def check():
            send = lambda path: C.respmod(srv.port, get(f"http://app.corp.example{path}", DOC), r401("NTLM"),
                                          b"x", preview=PREVIEW, icap_headers={"X-Client-IP": CLIENT_IP})
            p = []
            before = send("/1")
            with open(srv.conf, "a") as f:
                f.write("promptcause.IntranetHosts *.corp.example\npromptcause.AnnotateResponse on\n")
            with open(tmp.join("c-icap.ctl"), "w") as f:
                f.write("reconfigure")
            after = H.wait_for(lambda: (lambda r: r if r.status == 200 else None)(send("/2")), timeout=10.0)
            if before.header("X-Prompt-Reason") != "not-intranet":
                p.append(f"before reload: {xprompt(before)}")
            if after is None:
                p.append("AnnotateResponse on not applied after reconfigure")
            elif after.header("X-Prompt-Reason") != "silent":
                p.append(f"IntranetHosts not applied after reconfigure: {xprompt(after)}")
            return p
        res.check("reconfigure applies changed directives", check)
    with_cicap([], run)


def main():
    if H.find_binary("c-icap") is None:
        print("SKIP: c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    res = Results()
    for block in (table_tests, options_tests, annotate_tests, hash_tests, bad_config_tests,
                  unwritable_log_tests, stats_tests, rotation_tests, concurrency_tests, shipped_snippet_tests, reload_tests):
        try:
            block(res)
        except Exception as e:
            res.run += 1
            res.failed.append((block.__name__, [repr(e)]))
            print(f"FAIL {block.__name__}: {e!r}\n{traceback.format_exc()}")
    passed = res.run - len(res.failed)
    print(f"\ntest_icap_service: {res.run} cases run, {passed} passed, {len(res.failed)} failed")
    for name, _ in res.failed:
        print(f"  failed: {name}")
    return 0 if not res.failed else 1


if __name__ == "__main__":
    sys.exit(main())
