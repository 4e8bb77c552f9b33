"""stacks -- shared pieces of the real-stack tests (Kerberos, NTLM, browsers).

What the tests need besides starting daemons: a curl run whose verbose
output is split into the requests and responses that crossed the wire, a
small DER walk that reads the fields SPEC §2a names out of a Negotiate token
(so a test checks the event against what it decoded itself, not against a
constant), the Squid lines that send Squid's connection identities (SPEC §7),
and the re-exec under Debian's python3 when the running interpreter lacks the
distribution's modules (impacket, gssapi).
"""
import base64
import os
import subprocess
import sys

import pcharness as H

# SPEC §7: Squid sends the client and server connection of each transaction.
SQUID_CONNECTION_META = ('adaptation_meta X-Client-Connection "%>a:%>p"\n'
                         'adaptation_meta X-Server-Connection "%<la:%<lp"\n')

# RFC 4120 §7.5.9 error codes a server's KRB-ERROR may carry.
KRB_ERRORS = {
    31: "KRB_AP_ERR_BAD_INTEGRITY", 32: "KRB_AP_ERR_TKT_EXPIRED", 33: "KRB_AP_ERR_TKT_NYV",
    34: "KRB_AP_ERR_REPEAT", 35: "KRB_AP_ERR_NOT_US", 36: "KRB_AP_ERR_BADMATCH",
    37: "KRB_AP_ERR_SKEW", 38: "KRB_AP_ERR_BADADDR", 39: "KRB_AP_ERR_BADVERSION",
    40: "KRB_AP_ERR_MSG_TYPE", 41: "KRB_AP_ERR_MODIFIED", 42: "KRB_AP_ERR_BADORDER",
    44: "KRB_AP_ERR_BADKEYVER", 45: "KRB_AP_ERR_NOKEY", 60: "KRB_ERR_GENERIC",
}


def reexec_with_system_python(modules):
    """Re-run this script under /usr/bin/python3 when one of modules cannot be
    imported here (a pyenv python3 on the PATH has no Debian packages).
    Returns only when the modules import, or when no other interpreter exists."""
    try:
        for m in modules:
            __import__(m)
        return True
    except ImportError:
        pass
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK) \
            and not os.environ.get("PC_REEXECED"):
        os.environ["PC_REEXECED"] = "1"
        os.execv(system, [system] + sys.argv)
    return False


# ---- curl ----------------------------------------------------------------

class Exchange:
    """One request/response pair as curl -v printed it."""

    def __init__(self):
        self.request_line = None
        self.request = []   # [(name, value)]
        self.status = None
        self.response = []

    def req(self, name):
        return [v for n, v in self.request if n.lower() == name.lower()]

    def resp(self, name):
        return [v for n, v in self.response if n.lower() == name.lower()]


def curl(url, env, proxy=None, negotiate=True, extra=()):
    """Run curl -sv on url (through proxy), with --negotiate -u : when asked.
    Returns (exit code, body, [Exchange]) from what crossed the wire."""
    argv = [H.find_binary("curl") or "curl", "-sv", "--max-time", "20", "-o", "-"]
    if negotiate:
        argv += ["--negotiate", "-u", ":"]
    if proxy:
        argv += ["--proxy", proxy]
    argv += list(extra) + [url]
    r = subprocess.run(argv, env=env, capture_output=True, timeout=30)
    exchanges = []
    cur = None
    for raw in r.stderr.decode("latin-1").splitlines():
        if raw.startswith("> "):
            line = raw[2:]
            if cur is None or cur.status is not None:
                cur = Exchange()
                exchanges.append(cur)
            if cur.request_line is None:
                cur.request_line = line
            elif ":" in line:
                n, v = line.split(":", 1)
                cur.request.append((n.strip(), v.strip()))
        elif raw.startswith("< ") and cur is not None:
            line = raw[2:]
            if line.startswith("HTTP/"):
                cur.status = int(line.split()[1])
            elif ":" in line:
                n, v = line.split(":", 1)
                cur.response.append((n.strip(), v.strip()))
    return r.returncode, r.stdout, exchanges


# ---- DER (just enough of RFC 4120 / RFC 4178 to check an event) -----------

def der_items(buf):
    """Split buf into [(tag byte, content bytes)]; raises ValueError on a
    malformed length (a test wants to know)."""
    out, i = [], 0
    while i < len(buf):
        tag = buf[i]
        if i + 1 >= len(buf):
            raise ValueError("truncated DER")
        n = buf[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[i:i + k], "big")
            i += k
        if i + n > len(buf):
            raise ValueError("DER length past the end")
        out.append((tag, buf[i:i + n]))
        i += n
    return out


def _field(items, tag):
    for t, c in items:
        if t == tag:
            return c
    return None


def _gss_inner(tok):
    """The mechanism token inside a [APPLICATION 0] GSS framing: (tok_id, rest)."""
    (t, c), = der_items(tok)[:1]
    if t != 0x60:
        raise ValueError("not a GSS InitialContextToken")
    items = der_items(c[:2 + c[1]])  # the mech OID
    rest = c[2 + c[1]:]
    return items[0][1], rest[:2], rest[2:]


def _principal(c):
    """PrincipalName (SEQUENCE {name-type [0], name-string [1] SEQUENCE OF GeneralString})."""
    seq = der_items(der_items(c)[0][1])
    names = der_items(der_items(_field(seq, 0xA1))[0][1])
    return "/".join(v.decode("latin-1") for _, v in names)


def negotiate_ticket(b64):
    """From a client's `Negotiate <b64>` (SPNEGO NegTokenInit around a krb5
    AP-REQ): (spn 'HTTP/host@REALM', kvno). None when it is not Kerberos."""
    tok = base64.b64decode(b64)
    (t, c), = der_items(tok)[:1]
    if t != 0x60:
        return None
    oid_len = c[1]
    rest = der_items(c[2 + oid_len:])  # [0] NegTokenInit
    init = der_items(der_items(_field(rest, 0xA0))[0][1])
    mech_tok = _field(init, 0xA2)
    if mech_tok is None:
        return None
    inner = der_items(mech_tok)[0][1]
    if inner[:4] == b"NTLM":
        return None
    _, tok_id, body = _gss_inner(inner)
    if tok_id != b"\x01\x00":
        return None
    ap_req = der_items(der_items(der_items(body)[0][1])[0][1])  # [APPLICATION 14] SEQUENCE
    ticket = der_items(der_items(der_items(_field(ap_req, 0xA3))[0][1])[0][1])
    realm = der_items(_field(ticket, 0xA1))[0][1].decode("latin-1")
    sname = _principal(_field(ticket, 0xA2))
    enc = der_items(der_items(_field(ticket, 0xA3))[0][1])
    kvno = _field(enc, 0xA1)
    kvno = int.from_bytes(der_items(kvno)[0][1], "big") if kvno else None
    return f"{sname}@{realm}", kvno


def negotiate_krb_error(b64):
    """From a server's `Negotiate <b64>` (SPNEGO NegTokenResp with a krb5
    KRB-ERROR as responseToken): (error code, sname). None when the token
    holds no KRB-ERROR."""
    tok = base64.b64decode(b64)
    (t, c), = der_items(tok)[:1]
    if t != 0xA1:
        return None
    resp = der_items(der_items(c)[0][1])
    rt = _field(resp, 0xA2)
    if rt is None:
        return None
    _, tok_id, body = _gss_inner(der_items(rt)[0][1])
    if tok_id != b"\x03\x00":
        return None
    err = der_items(der_items(der_items(body)[0][1])[0][1])  # [APPLICATION 30] SEQUENCE
    code = int.from_bytes(der_items(_field(err, 0xA6))[0][1], "big")
    sname = _field(err, 0xAA)
    realm = _field(err, 0xA9)
    name = None
    if sname is not None:
        name = _principal(sname)
        if realm is not None:
            name += "@" + der_items(realm)[0][1].decode("latin-1")
    return code, name


def wait_events(st, url, before_rows, before_events, n):
    """Wait until Squid logged n transactions for url after before_rows (the
    access log line follows the ICAP answer), then, if Squid logged an
    X-Prompt-Cause that is logged as an event (anything but '-' and
    'handshake', LogHandshakes being off), until those events are in the log.
    st: an object with squid_rows() and events(). No timing is asserted: the
    waits only end early."""
    def mine():
        return [r for r in st.squid_rows()[before_rows:] if r["url"] == url]
    rows = H.wait_for(lambda: len(mine()) >= n and mine(), timeout=5.0) or mine()
    want = sum(1 for r in rows if r["x_prompt_cause"] not in ("-", "handshake"))
    if want:
        H.wait_for(lambda: len([e for e in st.events()[before_events:] if e.get("url") == url]) >= want,
                   timeout=5.0)
    return rows


def negotiate_ntlmssp_type(b64):
    """The NTLMSSP message type (1, 2, 3) inside a client's SPNEGO NegTokenInit
    (or NegTokenResp), or None when the token carries no NTLMSSP message."""
    tok = base64.b64decode(b64)
    if tok.startswith(b"NTLMSSP\0"):
        return tok[8] if len(tok) > 8 else None
    (t, c), = der_items(tok)[:1]
    if t == 0x60:
        oid_len = c[1]
        inner = der_items(der_items(_field(der_items(c[2 + oid_len:]), 0xA0))[0][1])
        mech_tok = _field(inner, 0xA2)
    elif t == 0xA1:
        mech_tok = _field(der_items(der_items(c)[0][1]), 0xA2)
    else:
        return None
    if mech_tok is None:
        return None
    raw = der_items(mech_tok)[0][1]
    return raw[8] if raw.startswith(b"NTLMSSP\0") and len(raw) > 8 else None


def negotiate_neg_state(b64):
    """negState of a server's NegTokenResp (0 accept-completed, 1
    accept-incomplete, 2 reject, 3 request-mic), or None."""
    tok = base64.b64decode(b64)
    (t, c), = der_items(tok)[:1]
    if t != 0xA1:
        return None
    st = _field(der_items(der_items(c)[0][1]), 0xA0)
    return der_items(st)[0][1][0] if st else None
