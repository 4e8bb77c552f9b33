"""test_kerberos_e2e -- real Kerberos through the real chain (issue 10, SPEC §2a).

curl --negotiate (MIT GSSAPI, a ticket from kinit) -> Squid 5 -> c-icap with
srv_promptcause.so -> Apache with mod_auth_gssapi, whose keytabs come from a
throw-away MIT KDC (tests/integration/krb.py). All on loopback, in one temp
dir, started once for the file. Cases:
  - web.pc.test: the ticket is accepted (200, Apache names alice@PC.TEST); no
    event follows the anonymous 401, if curl sent one.
  - wrongkey.pc.test: the keytab holds the SPN at the right kvno but with
    another account's key (ktutil from a password): MIT answers a KRB-ERROR.
  - oldkvno.pc.test: the SPN was re-keyed after its keytab was written: the
    keytab holds only an older kvno (KRB_AP_ERR_BADKEYVER).
  - alias.pc.test: served by the same vhost as web, but no SPN exists in the
    KDC: the client cannot get a ticket, sends no token, the 401 stays anonymous.
  - alias.pc.test from a client that also holds NTLM credentials (gss-ntlmssp):
    SPNEGO falls back to NTLMSSP, Apache (Kerberos only) rejects it:
    kerberos-fallback.
For each case the test decodes what the real stack put on the wire (the
ticket's SPN and kvno in the Authorization curl sent, the error code in the
401's WWW-Authenticate) and checks the event's spn / krb_error / reason and
Apache's access log against it.

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import stacks as K  # noqa: E402

HOSTS = ["web.pc.test", "wrongkey.pc.test", "oldkvno.pc.test", "alias.pc.test"]
URL = "http://{}/secure/index.html"


class Stack:
    """KDC, Apache, c-icap, Squid: started once, stopped by stop()."""

    def __init__(self):
        import apache
        import cicap
        import krb
        import squid
        self.tmp = H.TempDir(prefix="pc-krb-")
        self.procs = H.Processes()
        try:
            t = self.tmp
            self.kdc = kdc = krb.start_kdc(t, self.procs)
            kdc.add_user("alice", "Secret123")
            web = kdc.add_service("HTTP/web.pc.test", t.join("web.keytab"))
            # the right name and kvno, another account's key
            kdc.add_service("HTTP/wrongkey.pc.test", t.join("wrongkey-real.keytab"))
            wrong = kdc.password_keytab("HTTP/wrongkey.pc.test", "SomeOtherAccount1", 2,
                                        t.join("wrongkey.keytab"))
            # a keytab left behind by a re-key
            old = kdc.add_service("HTTP/oldkvno.pc.test", t.join("oldkvno.keytab"))
            kdc.rekey("HTTP/oldkvno.pc.test")
            sites = [apache.Site("web.pc.test", keytab=web, aliases=["alias.pc.test"]),
                     apache.Site("wrongkey.pc.test", keytab=wrong),
                     apache.Site("oldkvno.pc.test", keytab=old)]
            self.apache = apache.start_apache(t, self.procs, sites, env=kdc.env)
            self.icap = cicap.start_cicap(t, self.procs, children=2, threads=4)
            self.squid = squid.start_squid(t, self.procs, self.icap.port, self.apache.port, HOSTS,
                                           extra=K.SQUID_CONNECTION_META)
            self.client_env = kdc.kinit("alice", "Secret123", t.join("alice.ccache"))
            users = t.write("ntlm-client-users", "CORP:alice:Secret123\n")
            self.ntlm_client_env = dict(self.client_env, NTLM_USER_FILE=users, NTLMUSER="alice",
                                        NTLMDOMAIN="CORP")
            self.read_events = cicap.read_events
        except BaseException:
            self.stop()
            raise

    def squid_rows(self):
        import squid
        return squid.read_access_log(self.squid.access_log)

    def events(self):
        return self.read_events(self.icap.event_log)

    def stop(self):
        self.procs.stop_all()
        self.tmp.cleanup()


def check(cond, failures, msg):
    if not cond:
        failures.append(msg)
    return cond


def run_case(st, host, failures):
    """curl one URL; returns (exchanges, events for it, Apache log rows)."""
    url = URL.format(host)
    before_ev = len(st.events())
    before_log = len(st.apache.log())
    before_sq = len(st.squid_rows())
    rc, body, ex = K.curl(url, st.client_env, proxy=st.squid.proxy_url)
    check(ex, failures, f"{host}: curl printed no exchange (rc {rc})")
    K.wait_events(st, url, before_sq, before_ev, len(ex))
    evs = [e for e in st.events()[before_ev:] if e.get("url") == url]
    rows = [r for r in st.apache.wait_log(before_log, len(ex)) if r["host"] == host]
    return ex, evs, rows, body


def test_ticket_accepted(st, failures):
    ex, evs, rows, body = run_case(st, "web.pc.test", failures)
    last = ex[-1] if ex else None
    if not check(last is not None and last.status == 200, failures,
                 f"web: final status {last and last.status}, want 200"):
        return
    check(b"secret" in body, failures, "web: body of the protected page not delivered")
    tokens = [a for e in ex for a in e.req("Authorization") if a.startswith("Negotiate ")]
    if check(tokens, failures, "web: curl sent no Negotiate token"):
        spn, kvno = K.negotiate_ticket(tokens[-1].split(None, 1)[1])
        check(spn == "HTTP/web.pc.test@PC.TEST", failures, f"web: ticket for {spn}")
    check(any(r["status"] == 200 and r["user"] == "alice@PC.TEST" and r["auth"] == "Negotiate"
              for r in rows), failures, f"web: Apache did not log alice@PC.TEST: {rows}")
    # an anonymous 401 before the token is a page-denied event; nothing after it
    for e in evs:
        check(e.get("auth_sent") == "none" and e.get("cause") != "credentials-rejected", failures,
              f"web: event after the accepted ticket: {e}")
    anon = [x for x in ex if x.status == 401 and not x.req("Authorization")]
    check(len(evs) == len(anon), failures,
          f"web: {len(evs)} events for {len(anon)} anonymous 401s: {evs}")


def test_rejected_ticket(st, host, want_code, want_reason, failures):
    """A ticket the server cannot decrypt: the 401 carries a KRB-ERROR."""
    ex, evs, rows, _ = run_case(st, host, failures)
    sent = [x for x in ex if any(a.startswith("Negotiate ") for a in x.req("Authorization"))]
    if not check(sent, failures, f"{host}: curl sent no Negotiate token"):
        return
    x = sent[-1]
    check(x.status == 401, failures, f"{host}: status {x.status} to the token, want 401")
    spn, kvno = K.negotiate_ticket(x.req("Authorization")[-1].split(None, 1)[1])
    check(spn == f"HTTP/{host}@PC.TEST", failures, f"{host}: ticket for {spn}")
    errs = [K.negotiate_krb_error(v.split(None, 1)[1]) for v in x.resp("WWW-Authenticate")
            if v.startswith("Negotiate ")]
    errs = [e for e in errs if e]
    if not check(errs, failures, f"{host}: the 401 carries no KRB-ERROR: {x.resp('WWW-Authenticate')}"):
        return
    code, sname = errs[0]
    check(code in want_code, failures, f"{host}: MIT sent error {code}, expected one of {want_code}")
    check(any(r["status"] == 401 and r["auth"] == "Negotiate" for r in rows), failures,
          f"{host}: Apache did not log the Negotiate 401: {rows}")
    rejected = [e for e in evs if e.get("auth_sent") == "negotiate-kerberos"]
    if not check(rejected, failures, f"{host}: no event for the rejected ticket: {evs}"):
        return
    e = rejected[-1]
    want = {"status": 401, "cause": "credentials-rejected", "prompt": "rejected",
            "spn": spn, "krb_error": K.KRB_ERRORS.get(code), "reason": want_reason,
            "browser": "other/other"}
    for k, v in want.items():
        check(e.get(k) == v, failures, f"{host}: event {k}={e.get(k)!r}, want {v!r}")
    check(e.get("connection"), failures, f"{host}: event has no connection (X-Client-Connection)")
    check(sname and sname.split("/")[-1].startswith(host), failures,
          f"{host}: KRB-ERROR sname {sname}")
    if want_reason == "kerberos-wrong-account":
        check(spn in (e.get("hint") or ""), failures, f"{host}: hint does not name the SPN: {e.get('hint')}")


def test_alias_without_spn(st, failures):
    ex, evs, rows, _ = run_case(st, "alias.pc.test", failures)
    check(ex and ex[-1].status == 401, failures, "alias: final status is not 401")
    toks = [a for x in ex for a in x.req("Authorization")]
    # MIT cannot get HTTP/alias.pc.test: curl sends nothing (no NTLM fallback
    # either: gss-ntlmssp has no credentials for alice)
    check(not toks, failures, f"alias: curl sent a token anyway: {toks}")
    check(rows and all(r["auth"] == "-" for r in rows), failures,
          f"alias: Apache saw credentials: {rows}")
    if check(evs, failures, "alias: no event for the anonymous 401"):
        e = evs[-1]
        want = {"cause": "page-denied", "auth_sent": "none", "spn": None, "krb_error": None,
                "reason": None, "schemes": ["Negotiate", "NTLM"], "prompt": "not-intranet"}
        for k, v in want.items():
            check(e.get(k) == v, failures, f"alias: event {k}={e.get(k)!r}, want {v!r}")
    offered = [v for x in ex if x.status == 401 for v in x.resp("WWW-Authenticate")]
    check("Negotiate" in offered, failures, f"alias: the 401 offers {offered}")


def test_alias_ntlm_fallback(st, failures):
    """The same alias, from a client that also holds NTLM credentials
    (gss-ntlmssp's NTLM_USER_FILE): MIT's SPNEGO finds no ticket and falls
    back to NTLMSSP; Apache, Kerberos only, rejects the mechanism."""
    host = "alias.pc.test"
    url = URL.format(host)
    before_ev, before_log, before_sq = len(st.events()), len(st.apache.log()), len(st.squid_rows())
    rc, _, ex = K.curl(url, st.ntlm_client_env, proxy=st.squid.proxy_url)
    K.wait_events(st, url, before_sq, before_ev, len(ex))
    evs = [e for e in st.events()[before_ev:] if e.get("url") == url]
    rows = [r for r in st.apache.wait_log(before_log, len(ex)) if r["host"] == host]
    sent = [x for x in ex if any(a.startswith("Negotiate ") for a in x.req("Authorization"))]
    if not check(sent, failures, f"alias/ntlm: curl sent no Negotiate token (rc {rc})"):
        return
    x = sent[-1]
    tok = x.req("Authorization")[-1].split(None, 1)[1]
    check(K.negotiate_ticket(tok) is None and K.negotiate_ntlmssp_type(tok) == 1, failures,
          "alias/ntlm: the token is not SPNEGO around an NTLMSSP type-1")
    check(x.status == 401, failures, f"alias/ntlm: status {x.status}, want 401")
    states = [K.negotiate_neg_state(v.split(None, 1)[1]) for v in x.resp("WWW-Authenticate")
              if v.startswith("Negotiate ")]
    check(2 in states, failures, f"alias/ntlm: no SPNEGO reject in {x.resp('WWW-Authenticate')}")
    check(any(r["auth"] == "Negotiate" and r["status"] == 401 for r in rows), failures,
          f"alias/ntlm: Apache did not log the Negotiate 401: {rows}")
    rej = [e for e in evs if e.get("auth_sent") == "negotiate-ntlm"]
    if check(rej, failures, f"alias/ntlm: no negotiate-ntlm event: {evs}"):
        e = rej[-1]
        want = {"cause": "credentials-rejected", "prompt": "rejected", "reason": "kerberos-fallback",
                "spn": None, "krb_error": None}
        for k, v in want.items():
            check(e.get(k) == v, failures, f"alias/ntlm: event {k}={e.get(k)!r}, want {v!r}")
        check(f"HTTP/{host}" in (e.get("hint") or ""), failures,
              f"alias/ntlm: hint does not name HTTP/{host}: {e.get('hint')}")


def main():
    for tool in ("squid", "c-icap", "krb5kdc", "apache2", "curl"):
        if H.find_binary(tool) is None:
            print(f"SKIP: {tool} not installed")
            return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    failures = []
    st = Stack()
    try:
        test_ticket_accepted(st, failures)
        # MIT's acceptor: a key that does not decrypt is BAD_INTEGRITY (31)
        # (Windows says MODIFIED, 41); an absent kvno is BADKEYVER (44).
        test_rejected_ticket(st, "wrongkey.pc.test", (31, 41), "kerberos-wrong-account", failures)
        test_rejected_ticket(st, "oldkvno.pc.test", (44,), "kerberos-wrong-account", failures)
        test_alias_without_spn(st, failures)
        test_alias_ntlm_fallback(st, failures)
        if failures:
            import json
            sys.stderr.write("--- events ---\n" + "".join(json.dumps(e) + "\n" for e in st.events()))
            sys.stderr.write("--- squid access.log ---\n" + H.tail(st.squid.access_log, 30))
            sys.stderr.write("--- apache access log ---\n" + H.tail(st.apache.access_log, 30))
            sys.stderr.write("--- apache error log ---\n" + H.tail(st.apache.error_log, 20))
    finally:
        st.stop()
    for f in failures:
        print("FAIL:", f)
    print(f"{'FAIL' if failures else 'PASS'}: 5 Kerberos cases, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    H.run_main(main)
