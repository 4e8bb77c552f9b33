"""test_sslbump_channel_binding -- why no_bump exists: SPEC §2a `channel-binding` through SslBump.

A client with Extended Protection binds its NTLM logon to the TLS certificate
it sees (MsvAvChannelBindings in the type-3). Behind SslBump that is Squid's
generated certificate, and an origin that checks the binding refuses the
logon. Through the same chain as test_sslbump_e2e.py (daemons once), a real
gss-ntlmssp type-3 with channel bindings (tests/data/ntlm/gss-v2-cb) sent on
a bumped https: connection must be reported as credentials-rejected with
reason channel-binding and a hint that says to splice the host; the same
token on http:, and a type-3 without bindings on https:, must not; and the
remedy the snippet documents (the host in no_bump) makes the exchange pass
Squid untouched: the client sees the origin's own certificate and the
service sees nothing.

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import bump as B  # noqa: E402
from test_sslbump_e2e import Chain, send, peer_cert, DOC  # noqa: E402

DATA = os.path.join(H.TOP_SRCDIR, "tests", "data", "ntlm")


def token(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read().strip()


def main():
    why = B.have_sslbump()
    if why is not None:
        print(f"SKIP: {why}")
        return H.SKIP
    if H.find_binary("c-icap") is None or not os.path.exists(H.MODULE):
        print("SKIP: c-icap not installed or module not built")
        return H.SKIP
    import cicap

    cb, plain = token("gss-v2-cb.type3.b64"), token("gss-v2.type3.b64")
    failures = []
    t0 = time.monotonic()
    chain = Chain(cicap, [])
    try:
        tp = chain.tls_origin.server_port
        bumped = f"https://intranet:{tp}/ntlm/ews.html"
        over_http = "http://intranet/ntlm/ews.html"
        no_cb = f"https://intranet:{tp}/ntlm/ews-nocb.html"
        for url, tok in [(bumped, cb), (over_http, cb), (no_cb, plain)]:
            conn = chain.connection(url)
            try:
                status, _, _ = send(conn, url, {**DOC, "Authorization": f"NTLM {tok}"})
                if status != 401:
                    failures.append(f"{url}: HTTP {status}, want 401 (the origin refuses the type-3)")
            except (OSError, http.client.HTTPException) as e:
                failures.append(f"{url}: no answer through Squid: {e!r}")
            finally:
                conn.close()

        def event(url):
            return H.wait_for(lambda: next((e for e in cicap.read_events(chain.icap.event_log)
                                            if e.get("url") == url), None), timeout=8.0)
        ev = event(bumped)
        if ev is None:
            failures.append(f"{bumped}: no event")
        else:
            want = {"cause": "credentials-rejected", "prompt": "rejected", "reason": "channel-binding",
                    "auth_sent": "ntlm", "user": "CORP\\alice"}
            failures += [f"bumped type-3 with bindings: {k}={ev.get(k)!r}, want {v!r}"
                         for k, v in want.items() if ev.get(k) != v]
            if "splice" not in (ev.get("hint") or ""):
                failures.append(f"bumped type-3 with bindings: hint does not say to splice: {ev.get('hint')!r}")
        for url, what in [(over_http, "the same token on http:"), (no_cb, "a type-3 without bindings")]:
            ev = event(url)
            if ev is None:
                failures.append(f"{url}: no event")
            elif ev.get("cause") != "credentials-rejected" or ev.get("reason") == "channel-binding":
                failures.append(f"{what}: cause {ev.get('cause')!r} reason {ev.get('reason')!r}, "
                                f"want credentials-rejected and not channel-binding")

        # The remedy: splice.example.test is in no_bump (bump.py adds it to the
        # snippet's list), so the client sees the origin's certificate and
        # promptcause sees nothing of the exchange.
        before = len(cicap.read_events(chain.icap.event_log))
        der, status = peer_cert(chain, f"splice.example.test:{tp}", "splice.example.test",
                                "/ntlm/ews-spliced.html")
        if der != chain.pki.srv_der:
            failures.append("splice.example.test (no_bump) was bumped")
        time.sleep(0.5)
        seen = [e.get("url") for e in cicap.read_events(chain.icap.event_log)[before:]]
        if seen:
            failures.append(f"the service saw spliced traffic: {seen}")
        if failures:
            sys.stderr.write("--- events ---\n" + "".join(
                json.dumps(e) + "\n" for e in cicap.read_events(chain.icap.event_log)))
    finally:
        chain.stop()
    for f in failures:
        print("FAIL:", f)
    print(f"{'FAIL' if failures else 'PASS'}: channel binding through SslBump, {len(failures)} failures "
          f"in {time.monotonic() - t0:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    H.run_main(main)
