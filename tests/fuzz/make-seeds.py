#!/usr/bin/env python3
"""make-seeds.py -- write the seed corpora of tests/fuzz/corpus/ (run by hand
when seeds change; the output is checked in). Seeds are small valid and
near-valid inputs per target, laid out as each fuzz_*.c reads its input."""
import base64
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- NTLMSSP (MS-NLMP 2.2.1) and SPNEGO (RFC 4178) -------------------------
def secbuf(length, offset):
    return struct.pack("<HHI", length, length, offset)


def type1():
    return b"NTLMSSP\0" + struct.pack("<II", 1, 0xE2088297) + secbuf(0, 0) + secbuf(0, 0)


def type2(target="CORP"):
    t = target.encode("utf-16-le")
    head = b"NTLMSSP\0" + struct.pack("<I", 2) + secbuf(len(t), 56) + struct.pack("<I", 0xE2898215)
    head += b"\x01\x23\x45\x67\x89\xab\xcd\xef" + b"\0" * 8 + secbuf(0, 56 + len(t)) + b"\x0a\x00\x63\x45\x00\x00\x00\x0f"
    return head + t


def type3(domain, user, ws, unicode=True):
    enc = (lambda s: s.encode("utf-16-le")) if unicode else (lambda s: s.encode("latin-1"))
    d, u, w = enc(domain), enc(user), enc(ws)
    lm, nt = b"\0" * 24, b"\x11" * 24
    off = 72
    fields = [lm, nt, d, u, w, b""]
    bufs, payload = [], b""
    for f in fields:
        bufs.append(secbuf(len(f), off + len(payload)))
        payload += f
    flags = 0xA2888205 | (1 if unicode else 2)
    msg = b"NTLMSSP\0" + struct.pack("<I", 3) + b"".join(bufs) + struct.pack("<I", flags) + b"\0" * 8
    return msg + payload


def der(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    elif n < 256:
        ln = b"\x81" + bytes([n])
    else:
        ln = b"\x82" + struct.pack(">H", n)
    return bytes([tag]) + ln + body


OID_SPNEGO = bytes.fromhex("2b0601050502")
OID_KRB5 = bytes.fromhex("2a864886f712010202")
OID_MSKRB5 = bytes.fromhex("2a864882f712010202")
OID_NTLM = bytes.fromhex("2b06010401823702020a")


def spnego_init(mechs, token=None):
    mt = der(0xA0, der(0x30, b"".join(der(0x06, m) for m in mechs)))
    body = mt + (der(0xA2, der(0x04, token)) if token is not None else b"")
    return der(0x60, der(0x06, OID_SPNEGO) + der(0xA0, der(0x30, body)))


def spnego_resp(state, mech, token):
    body = der(0xA0, der(0x0A, bytes([state])))
    if mech:
        body += der(0xA1, der(0x06, mech))
    if token is not None:
        body += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, body))


def krb_gss():
    return der(0x60, der(0x06, OID_KRB5) + b"\x01\x00" + der(0x6E, b"\x30\x03\x02\x01\x05"))


def b64(b):
    return base64.b64encode(b).decode()


t1, t2 = type1(), type2()
t3 = type3("CORP", "alice", "WS01")
t3o = type3("CORP", "bob", "WS02", unicode=False)
t3u = type3("KÖRP", "jürgen\U0001F600", "ПК")
sp_ntlm = spnego_init([OID_NTLM], t1)
sp_krb = spnego_init([OID_MSKRB5, OID_KRB5, OID_NTLM], krb_gss())
sp_resp3 = spnego_resp(1, OID_NTLM, t3)
sp_resp_only = spnego_resp(0, OID_KRB5, None)

# ntlm target: first byte even = ntlm_inspect, odd = spnego_inspect
for i, m in enumerate([t1, t2, t3, t3o, t3u, t3[:40], t1[:12]]):
    put("ntlm", "ntlm-%d" % i, b"\0" + m)
for i, m in enumerate([sp_ntlm, sp_krb, sp_resp3, sp_resp_only, krb_gss(), t3, sp_krb[:20]]):
    put("ntlm", "spnego-%d" % i, b"\1" + m)

# credentials target: an Authorization value
creds = {
    "ntlm1": "NTLM " + b64(t1), "ntlm3": "NTLM " + b64(t3), "ntlm3-oem": "NTLM " + b64(t3o),
    "ntlm3-utf16": "NTLM " + b64(t3u), "neg-ntlm": "Negotiate " + b64(sp_ntlm),
    "neg-krb": "Negotiate " + b64(sp_krb), "neg-resp3": "Negotiate " + b64(sp_resp3),
    "neg-raw-ntlm": "Negotiate " + b64(t3), "basic": "Basic " + b64(b"alice:secret"),
    "basic-nocolon": "Basic " + b64(b"alice"), "digest": 'Digest username="CORP\\\\alice", realm="x", nonce="abc", uri="/", response="0123"',
    "bearer": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "other": "AWS4-HMAC-SHA256 Credential=abc",
    "ntlm-badb64": "NTLM TlRMTVNTUAAB*", "ntlm-unpadded": "NTLM " + b64(t1).rstrip("="),
    "empty-scheme": "NTLM", "blank": "   ",
}
for k, v in creds.items():
    put("credentials", k, v)

# challenge target: header lines separated by \n
chal = {
    "basic": 'Basic realm="intranet"',
    "basic-charset": 'Basic realm="Zugang \\"Süd\\"", charset="UTF-8"',
    "ntlm-negotiate": "Negotiate\nNTLM",
    "ntlm-type2": "NTLM " + b64(t2),
    "negotiate-token": "Negotiate " + b64(sp_resp_only),
    "digest": 'Digest realm="x@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    "multi": 'Bearer realm="api", error="invalid_token", Basic realm="b", Negotiate, NTLM',
    "many": ", ".join("Scheme%d realm=\"r%d\"" % (i, i) for i in range(20)),
    "token68": "Custom abc==, Basic realm=x",
    "broken": 'Basic realm="unterminated, NTLM',
    "commas": ", , ,Basic realm=a,, ,",
}
for k, v in chal.items():
    put("challenge", k, v)

# htmlscan target: 8 chunk-size bytes, then the document
html = {
    "page": '<!doctype html><html><head><base href="/app/"><link rel=stylesheet href="s.css">'
            '<script src="a.js"></script><style>body{background:url(\'bg.png\')} @import "i.css";</style></head>'
            '<body><img src="x.gif" srcset="a.png 1x, b.png 2x"><iframe src="/f"></iframe>'
            '<video poster=p.jpg><source src=v.mp4></video><object data=o.swf></object>'
            '<div style="background-image:url(d.png)"></div></body></html>',
    "comments": "<!-- <img src=no> --><!--><img src=yes1><!-- a --!><img src=yes2><? bogus <img src=no2> >",
    "script": "<script><!-- <script> </script> <img src=no> </script><img src=yes>",
    "rawtext": "<textarea><img src=no></textarea><title><img src=no></title><xmp><img src=no></xmp><img src=yes>",
    "entities": "<img src='&amp;a&lt;&#x41;&#65;&notin;&notit;&#0;&#xD800;&#x110000;'>",
    "svg": '<svg><image href="i.svg"/><use xlink:href="#x"/></svg><math><mi><img src=m></mi></math>',
    "unterminated": '<img src="long',
    "plaintext": "<plaintext><img src=no>",
    "template": "<template><img src=t></template><noscript><img src=n></noscript>",
    "attrs": "<img/src=a/><img src = b alt=c src=d><IMG SRC=E><img\tsrc\n=\"f\"\x00>",
}
for k, v in html.items():
    put("htmlscan", k, bytes([7, 1, 33, 2, 64, 5, 3, 11]) + v.encode())
put("htmlscan", "big-value", bytes([63] * 8) + b"<img src='" + b"a" * 9000 + b"'><img src=after>")

# urlres target: flags, out-size, base \n ref
refs = ["g", "./g", "g/", "/g", "//g", "?y", "g?y", "#s", "g#s", "g?y#s", ";x", "g;x", "", ".", "./",
        "..", "../", "../g", "../..", "../../g", "../../../g", "/./g", "/../g", "g.", ".g", "g..", "..g",
        "./../g", "g;x=1/../y", "g?y/../x", "g#s/./x", "http:g", " \t HTTP://EX.com:80/%7e%41/a b\x01 ",
        "https://[::1]:443/x", "http://user:pw@h/", "//h:/p", "mailto:x@y", "data:text/plain,é", "\\\\evil\\x"]
for i, r in enumerate(refs):
    put("urlres", "rfc-%02d" % i, bytes([i & 1, 0]) + b"http://a/b/c/d;p?q\n" + r.encode())
put("urlres", "small-out", bytes([0, 12]) + b"http://a/b/c/d;p?q\n../../../g/hhhhhhhhhhhhh")
put("urlres", "no-base", bytes([0, 0]) + b"HTTP://Host:80/img/../a.gif#x")

# evparse target: one event line
ev = ('{"v":1,"ts":"2025-11-25T12:00:00.500Z","client":"10.1.2.3","user":"CORP\\\\alice","method":"GET",'
      '"url":"http://intranet/secure/logo.gif","host":"intranet","status":401,"cause":"embedded-denied",'
      '"prompt":"basic","parent":"http://intranet/index.html","evidence":"html","object":"image","zone":"intranet",'
      '"handler":null,"substatus":null,"hint":"x"}')
put("evparse", "event", ev)
put("evparse", "event-offset", ev.replace("500Z", "5+00:00"))
put("evparse", "event-nofrac", ev.replace(".500Z", "Z"))
put("evparse", "event-v2", ev.replace('"v":1', '"v":2'))
put("evparse", "event-badts", ev.replace("2025-11-25T12", "2025-13-45T25"))
put("evparse", "event-unicode", ev.replace("alice", "\\u00e4\\ud83d\\ude00"))
put("evparse", "not-json", "GET http://x/ 401")
put("evparse", "array", "[1,2,3]")

# squidlog target: one log line
native = ("1764072000.123    45 10.1.2.3 TCP_MISS/401 345 GET http://intranet/secure/logo.gif - "
          "FIRSTUP_PARENT/127.0.0.1 text/html")
put("squidlog", "native", native)
put("squidlog", "native-user", native.replace(" - FIRST", " alice FIRST"))
put("squidlog", "xprompt", native + " embedded-denied basic http://intranet/index.html")
put("squidlog", "xprompt-dash", native + " - - -")
put("squidlog", "combined", '10.1.2.3 - alice [25/Nov/2025:12:00:00 +0100] "GET http://intranet/secure/logo.gif HTTP/1.1" '
                           '401 345 "http://intranet/index.html" "Mozilla/5.0 (X11; \\"quoted\\")" TCP_MISS:FIRSTUP_PARENT')
put("squidlog", "combined-nosquid", '::1 - - [01/Jan/1970:00:00:00 -1200] "GET / HTTP/1.0" 200 - "-" "-"')
put("squidlog", "event", ev)
put("squidlog", "clf-time", "25/Nov/2026:12:00:00 +0000")

# storm_rules target: a rules file
put("storm_rules", "example", "# rules\nresource_clients 10\nresource_window 60\nclient_prompts 5\nclient_window 60\n"
                              "overall_prompts 100\noverall_window 60\nquiet 120\nresend 60\nmax_resources 65536\n"
                              "max_clients 262144\nmax_active 1024\n")
put("storm_rules", "extra", "\x01syslog local0\nquiet 1.5e2 # trailing\n\tclient_prompts\t0\r\n")
put("storm_rules", "bad", "resource_clients 10001\n")
put("storm_rules", "bad2", "quiet -1\nresend nan\n")

# zone target: patterns, empty line, hosts
put("zone", "globs", "*.corp.example\nintra?\n\nwww.corp.example\nintra1\nexample.com\nwebserver.\n")
put("zone", "regex", "/^(dev|test)[0-9]+\\.lab$/\n\ndev12.lab\nprod.lab\n")
put("zone", "cidr", "10.0.0.0/8\nfd00::/8\n192.168.1.7\n\n10.1.2.3\n[fd00::1]\n192.168.1.7\n::ffff:10.0.0.1\n")
put("zone", "psl", "\nwww.example.co.uk\nco.uk\nfoo.bar.github.io\nlocalhost\n127.0.0.1\nxn--80ak6aa92e.com\n")
put("zone", "bad", "/(unclosed/\n10.0.0.0/33\n\nhost\n")

# settings target: directive lines
put("settings", "full", "EventLog /var/log/promptcause/events.log\nSyslog local3\nIntranetHosts *.corp.example 10.0.0.0/8 /^lab/\n"
                        "HandlerExtensions .shtml .asp .aspx\nHandlerExtensions .cgi\nCorrelationWindow 300\n"
                        "StoreBytes 16M\nMaxHtmlBytes 64k\nAnnotateResponse off\nLogHandshakes on\nUserNames log\n"
                        "MaxConnections 32\n")
put("settings", "bad", "EventLog relative\nSyslog nope\nStoreBytes 2G0\nMaxHtmlBytes 99999999999999999999\n"
                       "CorrelationWindow 0\nUserNames hash\nHandlerExtensions shtml\nMaxConnections 100001\n")
put("settings", "edge", "StoreBytes 1024G\nStoreBytes 1025G\nCorrelationWindow 86400\nAnnotateResponse ON\nSyslog\n")
put("settings", "delay", "EventLogDelay 0\nEventLogDelay 10000\nEventLogDelay 10001\nEventLogDelay -1\nEventLogDelay 00\n"
                        "EventLogDelay 10 20\nEventLogDelay\n")

# classify target: status, UserNames mode, object; then fields (see fuzz_classify.c)
def cls(st, um, obj, fields):
    return bytes([st, um, obj]) + "\n".join(fields).encode("utf-8", "surrogateescape")

put("classify", "embedded-basic", cls(0, 0, 2, ["10.1.2.3", "", "GET", "http://intranet/secure/logo.gif",
    'Basic realm="intranet"', "", "http://intranet/index.html", "image", "no-cors", "image/*", "", "http://intranet/index.html", ""]))
put("classify", "ntlm-rejected", cls(0, 1, 1, ["10.1.2.3", "", "GET", "http://www.corp.example/app/",
    "Negotiate\x1fNTLM", "NTLM " + b64(t3), "", "document", "navigate", "text/html", "", "", "*.corp.example"]))
put("classify", "handshake", cls(0, 2, 0, ["10.1.2.3", "", "GET", "http://intranet/",
    "NTLM " + b64(t2), "NTLM " + b64(t1), "", "", "", "", "", "", ""]))
put("classify", "proxy", cls(1, 8, 0, ["10.1.2.3", "alice", "CONNECT", "https://example.com:443/",
    'Basic realm="proxy"', "Basic " + b64(b"alice:pw"), "", "", "", "", "", "", ""]))
put("classify", "iis-substatus", cls(0, 0, 0, ["10.1.2.3", "", "GET", "http://intranet/x.shtml",
    "Negotiate\x1fNTLM", "", "", "", "", "", "<h2>401.3 - Unauthorized: Access is denied due to an ACL</h2>", "", ""]))
put("classify", "hostile", cls(0, 0, 9, ["10.1.2.3\"\x00", "\xff\xfe", "G\"ET", "http://[::1]:8080/a\x7f\"\\\u2028?\xc3",
    'Digest realm="\\"\xe9"', "Digest username=\"\\\"x\"", "javascript:alert(1)", "iframe", "", "", "", "http://x/\n", "/(/"]))
put("classify", "not-401", cls(4, 0, 0, ["10.1.2.3", "", "GET", "http://intranet/"]))
print("seeds written to", OUT, file=sys.stderr)
