"""origin -- a test web server that refuses anonymous users the way IIS and Apache do.

promptcause's end-to-end tests and the demo need an origin that answers 401 and
407 in every shape SPEC's table names: Basic and Digest folders, IIS-style
integrated auth (Negotiate and NTLM on two header lines, a real MS-NLMP type-2
challenge, a type-3 refused with IIS 6's "401.1 Logon Failed" page), script
handlers, IIS 7 detailed errors, challenge-less and malformed 401s, and a 407 as
a parent proxy would send. It is stdlib only (ThreadingHTTPServer, HTTP/1.1
keep-alive so connection-based NTLM works through Squid's pinning) and also
builds the NTLM messages the tests send (type-1, type-3) so both sides of the
handshake come from one MS-NLMP reading.

Standalone: python3 origin.py --port N [--bind 127.0.0.1] [--site DIR]
"""
import argparse
import base64
import hashlib
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

# ---- NTLMSSP messages (MS-NLMP 2.2.1) ------------------------------------

NTLMSSP_SIGNATURE = b"NTLMSSP\x00"
NTLMSSP_NEGOTIATE_UNICODE = 0x00000001
NTLMSSP_REQUEST_TARGET = 0x00000004
NTLMSSP_NEGOTIATE_NTLM = 0x00000200
NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000
NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000
NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000
NTLMSSP_NEGOTIATE_VERSION = 0x02000000
NTLMSSP_NEGOTIATE_128 = 0x20000000
NTLMSSP_NEGOTIATE_56 = 0x80000000

# A Windows version block (6.1 build 7601, NTLMSSP_REVISION_W2K3), as Windows sends it.
_VERSION = struct.pack("<BBHBBBB", 6, 1, 7601, 0, 0, 0, 15)


def _utf16(s):
    return s.encode("utf-16-le")


def ntlm_type1(domain="", workstation=""):
    """An NTLM NEGOTIATE_MESSAGE (type 1), as a browser sends first."""
    flags = (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM
             | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
             | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_56)
    dom = domain.encode("ascii")
    ws = workstation.encode("ascii")
    off = 40  # fixed header: sig 8, type 4, flags 4, two fields 16, version 8
    hdr = NTLMSSP_SIGNATURE + struct.pack("<II", 1, flags)
    hdr += struct.pack("<HHI", len(dom), len(dom), off)
    hdr += struct.pack("<HHI", len(ws), len(ws), off + len(dom))
    hdr += _VERSION
    return hdr + dom + ws


def _av_pairs(pairs):
    out = b""
    for av_id, value in pairs:
        out += struct.pack("<HH", av_id, len(value)) + value
    return out + struct.pack("<HH", 0, 0)  # MsvAvEOL


def ntlm_type2(target="CORP", computer="WEB01", dns_domain="corp.example.test", challenge=None):
    """An NTLM CHALLENGE_MESSAGE (type 2) as IIS answers a type 1: target name,
    server challenge and the AV pairs (NetBIOS/DNS names, timestamp)."""
    challenge = challenge if challenge is not None else os.urandom(8)
    flags = (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_NTLM
             | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_TARGET_TYPE_DOMAIN
             | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_TARGET_INFO
             | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_56)
    # FILETIME: 100 ns ticks since 1601-01-01.
    filetime = int((time.time() + 11644473600) * 10_000_000)
    target_name = _utf16(target)
    target_info = _av_pairs([
        (2, _utf16(target)),                    # MsvAvNbDomainName
        (1, _utf16(computer)),                  # MsvAvNbComputerName
        (4, _utf16(dns_domain)),                # MsvAvDnsDomainName
        (3, _utf16(computer.lower() + "." + dns_domain)),  # MsvAvDnsComputerName
        (7, struct.pack("<Q", filetime)),       # MsvAvTimestamp
    ])
    off = 56  # sig 8, type 4, name 8, flags 4, challenge 8, reserved 8, info 8, version 8
    msg = NTLMSSP_SIGNATURE + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target_name), len(target_name), off)
    msg += struct.pack("<I", flags) + challenge + b"\x00" * 8
    msg += struct.pack("<HHI", len(target_info), len(target_info), off + len(target_name))
    msg += _VERSION
    return msg + target_name + target_info


def ntlm_target_info(raw):
    """The TargetInfo AV pairs of a raw type-2 message (b"" when absent or
    malformed): what an NTLMv2 client copies into its blob."""
    if ntlm_message_type(raw) != 2 or len(raw) < 48:
        return b""
    ln, _, off = struct.unpack_from("<HHI", raw, 40)
    return raw[off:off + ln] if off + ln <= len(raw) else b""


def ntlm_type3(domain="CORP", user="alice", workstation="WS01", unicode=True, target_info=b""):
    """An NTLM AUTHENTICATE_MESSAGE (type 3) naming DOMAIN\\user. The responses
    are shaped like NTLMv2 (16-byte proof + blob) but are random: the origin
    refuses them anyway, and promptcause only reads the identity fields.
    target_info: the type-2's AV pairs (ntlm_target_info), copied into the
    blob as MS-NLMP clients do; without it the blob's AV list is empty."""
    enc = _utf16 if unicode else (lambda s: s.encode("cp437"))
    flags = (NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
             | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_TARGET_INFO
             | NTLMSSP_NEGOTIATE_VERSION | NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_56)
    flags |= NTLMSSP_NEGOTIATE_UNICODE if unicode else 0x00000002  # NTLM_NEGOTIATE_OEM
    lm = b"\x00" * 24
    if target_info:
        # The blob carries the server's AV pairs (MsvAvTimestamp among them) and
        # its own timestamp, which answers the challenge's.
        ts = b""
        i = 0
        while i + 4 <= len(target_info):
            av_id, av_len = struct.unpack_from("<HH", target_info, i)
            if av_id == 7 and av_len == 8:
                ts = target_info[i + 4:i + 12]
            if av_id == 0:
                break
            i += 4 + av_len
        blob = b"\x01\x01\x00\x00" + b"\x00" * 4 + (ts or os.urandom(8)) + os.urandom(8) + b"\x00" * 4
        nt = os.urandom(16) + blob + target_info + b"\x00" * 4
    else:
        nt = os.urandom(16) + b"\x01\x01\x00\x00" + b"\x00" * 4 + os.urandom(8) + os.urandom(8) + b"\x00" * 4
    fields = [lm, nt, enc(domain), enc(user), enc(workstation), b""]
    off = 88  # 64-byte header + version 8 + MIC 16
    hdr = NTLMSSP_SIGNATURE + struct.pack("<I", 3)
    payload = b""
    # Payload order as Windows writes it: domain, user, workstation, lm, nt, key.
    order = [2, 3, 4, 0, 1, 5]
    offsets = {}
    for i in order:
        offsets[i] = off + len(payload)
        payload += fields[i]
    for i in range(6):
        hdr += struct.pack("<HHI", len(fields[i]), len(fields[i]), offsets[i])
    hdr += struct.pack("<I", flags) + _VERSION + b"\x00" * 16  # MIC left zero
    return hdr + payload


def ntlm_message_type(raw):
    """Message type of a raw NTLMSSP message, or None."""
    if len(raw) >= 12 and raw.startswith(NTLMSSP_SIGNATURE):
        return struct.unpack("<I", raw[8:12])[0]
    return None


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


# ---- pages -----------------------------------------------------------------

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def page(title, body):
    return (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n"
            f"<body><h1>{title}</h1>\n{body}\n</body></html>\n").encode()


IIS6_401_1 = page("You are not authorized to view this page",
                  "<p>You do not have permission to view this directory or page using the "
                  "credentials that you supplied.</p>\n<h2>HTTP Error 401.1 - Unauthorized: "
                  "Logon Failed</h2>\n<p>Internet Information Services (IIS)</p>")

IIS7_401_3 = page("IIS 7.5 Detailed Error - 401.3 - Unauthorized",
                  "<div id=\"content\"><div class=\"content-container\"><h3>HTTP Error 401.3 - "
                  "Unauthorized</h3><h4>You do not have permission to view this directory or page "
                  "because of the access control list (ACL) configuration or encryption settings "
                  "for this resource on the Web server.</h4></div></div>")

DENIED = page("401 Unauthorized", "<p>This server could not verify that you are authorized "
              "to access the document requested.</p>")

INDEX = page("Intranet home", "\n".join([
    '<img src="/public/ok.gif" alt="ok">',
    '<img src="/secure/logo.gif" alt="logo in a Basic folder">',
    '<p><a href="/secure/report.html">report</a></p>',
]))

PLAIN = page("Plain page", '<img src="/public/ok.gif" alt="ok"><p>nothing protected here</p>')

CROSS_SITE = page("Cross-site images", '<img src="http://other.example.org/secure/badge.gif" alt="badge">')


def malformed_body(size):
    """A 401 body with bytes that must survive the chain unchanged: invalid
    UTF-8, NULs, CRLFs, a marker; deterministic so a test can compare it."""
    head = b"<html><body><h1>401 Unauthorized</h1><p>malformed challenge</p>\r\n\x00\xff\xfe\xc3\x28"
    filler = hashlib.sha256(b"promptcause").digest() * (size // 32 + 1)
    return (head + filler)[:max(size, len(head))] + b"\n</body></html>\n"


def big_page(size):
    """A deterministic HTML page of about size bytes that embeds one protected
    image at its very end, past any preview window."""
    row = b"<p>" + b"lorem ipsum dolor sit amet " * 3 + b"</p>\n"
    body = row * (max(size, 1) // len(row) + 1)
    return page("Big page", body.decode() + '<img src="/secure/tail.gif" alt="tail">')


# ---- request handling -----------------------------------------------------

INTEGRATED = ["Negotiate", "NTLM"]  # IIS offers both, on two header lines


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body in one write: no Nagle/delayed-ACK stall

    def version_string(self):
        return "Microsoft-IIS/10.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("origin: %s %s\n" % (self.address_string(), fmt % args))

    def _send(self, status, body=b"", ctype="text/html", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _auth(self):
        """(scheme, raw token bytes or str) from Authorization, or (None, None)."""
        value = self.headers.get("Authorization")
        if not value:
            return None, None
        scheme, _, token = value.strip().partition(" ")
        return scheme.lower(), token.strip()

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.do_GET()

    def do_GET(self):
        self.server.record(self)
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query)
        scheme, token = self._auth()

        static = self.server.static_file(path)
        if static is not None:
            return self._send(200, *static)
        if path in ("/", "/index.html"):
            return self._send(200, INDEX)
        if path == "/plain.html":
            return self._send(200, PLAIN)
        if path == "/big.html":
            # A public page larger than Squid's 64 KiB preview/Allow-204 window.
            return self._send(200, big_page(int(query.get("size", ["200000"])[0])))
        if path == "/cross-site.html":
            return self._send(200, CROSS_SITE)
        if path.startswith("/public/"):
            return self._send(200, GIF, "image/gif")
        if path.startswith("/slow/"):
            # A public image that takes ?ms= milliseconds (default 2000) to answer.
            time.sleep(int(query.get("ms", ["2000"])[0]) / 1000.0)
            return self._send(200, GIF, "image/gif")
        if path == "/redirect":
            # 302 to ?to= (a path or URL), as a moved page or image would answer.
            return self._send(302, page("302 Found", "<p>moved</p>"),
                              headers=[("Location", query.get("to", ["/"])[0])])
        if path.startswith("/nohead/"):
            # A server that refuses HEAD (405) but answers GET with a Basic 401.
            if self.command == "HEAD":
                return self._send(405, page("405 Method Not Allowed", "<p>no HEAD</p>"),
                                  headers=[("Allow", "GET, POST")])
            return self._send(401, DENIED, headers=[("WWW-Authenticate", 'Basic realm="nohead"')])
        if path.endswith(".shtml") or path.endswith(".shtm"):
            # Server-side include handler whose DLL the anonymous account may not run:
            # IIS answers 401 on any .shtml, whatever folder it is in.
            return self._integrated(scheme, token, DENIED)
        if path.startswith("/secure/"):
            # No account works here: anonymous and Basic credentials alike get 401.
            return self._send(401, DENIED, headers=[("WWW-Authenticate", 'Basic realm="secure"')])
        if path.startswith("/digest/"):
            nonce = b64(os.urandom(16))
            return self._send(401, DENIED, headers=[(
                "WWW-Authenticate",
                f'Digest realm="digest", qop="auth", nonce="{nonce}", algorithm=MD5, opaque="0a1b"')])
        if path.startswith("/ntlm/"):
            return self._integrated(scheme, token, DENIED)
        if path.startswith("/kerberos/"):
            return self._kerberos(scheme, token, DENIED)
        if path.startswith("/iis7/"):
            return self._send(401, IIS7_401_3, headers=[("WWW-Authenticate", 'Basic realm="iis7"')])
        if path.startswith("/nochallenge/"):
            return self._send(401, DENIED)
        if path.startswith("/malformed/"):
            size = int(query.get("size", ["2000"])[0])
            return self._send(401, malformed_body(size),
                              headers=[("WWW-Authenticate", 'Basic realm="unterminated')])
        if path.startswith("/huge-challenge/"):
            # A 401 whose one WWW-Authenticate line is ?size= bytes long (a realm of 'a's).
            size = int(query.get("size", ["61440"])[0])
            return self._send(401, DENIED, headers=[("WWW-Authenticate", 'Basic realm="' + "a" * size + '"')])
        if path.startswith("/many-headers/"):
            # ?n= filler header lines, on a Basic 401 or (?status=200) a public page.
            n = int(query.get("n", ["1000"])[0])
            status = int(query.get("status", ["401"])[0])
            filler = [(f"X-Filler-{i:04d}", f"value {i}") for i in range(n)]
            if status == 200:
                return self._send(200, PLAIN, headers=filler)
            return self._send(401, DENIED, headers=filler + [("WWW-Authenticate", 'Basic realm="many"')])
        if path.startswith("/parent-proxy/"):
            return self._send(407, page("407 Proxy Authentication Required", "<p>parent proxy</p>"),
                              headers=[("Proxy-Authenticate", "NTLM"),
                                       ("Proxy-Authenticate", 'Basic realm="parent"')])
        return self._send(404, page("404 Not Found", "<p>no such scenario</p>"))

    def _integrated(self, scheme, token, anonymous_body):
        """IIS Windows authentication: anonymous → offer Negotiate and NTLM; an
        NTLM type 1 (bare or inside Negotiate) → type-2 challenge; a type 3 (or
        anything else) → refused with IIS 6's 401.1 page and the offers again."""
        offers = [("WWW-Authenticate", s) for s in INTEGRATED]
        if scheme in ("ntlm", "negotiate") and token:
            try:
                raw = base64.b64decode(token, validate=False)
            except ValueError:
                raw = b""
            mtype = ntlm_message_type(raw)
            if mtype == 1:
                word = "NTLM" if scheme == "ntlm" else "Negotiate"
                return self._send(401, DENIED, headers=[("WWW-Authenticate", f"{word} {b64(ntlm_type2())}")])
            return self._send(401, IIS6_401_1, headers=offers)
        return self._send(401, anonymous_body, headers=offers)

    def _kerberos(self, scheme, token, anonymous_body):
        """An IIS site whose SPN is on the wrong account: anonymous -> offer
        Negotiate; any Kerberos ticket -> 401 carrying the KRB-ERROR a real
        MIT acceptor sent for a ticket it could not decrypt (error 31, SPNEGO
        reject; tests/data/krb/spnego-badkey.resp)."""
        if scheme == "negotiate" and token:
            return self._send(401, IIS6_401_1, headers=[
                ("WWW-Authenticate", "Negotiate " + krb_token("spnego-badkey.resp"))])
        return self._send(401, anonymous_body, headers=[("WWW-Authenticate", "Negotiate")])


KRB_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "krb")


def krb_token(name):
    """A real MIT token of tests/data/krb (base64 text), e.g. 'spnego-badkey.resp'."""
    with open(os.path.join(KRB_DATA, name + ".b64")) as f:
        return "".join(f.read().split())


class Origin(ThreadingHTTPServer):
    """The server; .requests keeps (method, path, headers) of every request seen,
    so a test can check what Squid forwarded (Authorization passthrough)."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, verbose=False, site=None):
        super().__init__(addr, Handler)
        self.verbose = verbose
        self.site = os.path.realpath(site) if site else None
        self.requests = []
        self.lock = threading.Lock()

    def static_file(self, path):
        """(body, content type) of a file under --site, or None. Files there
        are public (200) pages; the 401 scenarios stay in code."""
        if self.site is None:
            return None
        if path.endswith("/"):
            path += "index.html"
        full = os.path.realpath(os.path.join(self.site, path.lstrip("/")))
        if not full.startswith(self.site + os.sep) or not os.path.isfile(full):
            return None
        ctype = {".html": "text/html", ".gif": "image/gif", ".css": "text/css",
                 ".js": "application/javascript"}.get(os.path.splitext(full)[1], "application/octet-stream")
        with open(full, "rb") as f:
            return f.read(), ctype

    def record(self, h):
        with self.lock:
            self.requests.append((h.command, h.path, dict(h.headers.items())))


def start_origin(port=0, bind="127.0.0.1", verbose=False, site=None):
    """Start an origin in a background thread; returns the server (.server_port,
    .shutdown()). site: a directory of public pages served before the scenarios."""
    srv = Origin((bind, port), verbose=verbose, site=site)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description="promptcause test origin (IIS/Apache-like 401s)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--site", help="directory of public pages, served before the scenarios")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = Origin((args.bind, args.port), verbose=args.verbose, site=args.site)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
