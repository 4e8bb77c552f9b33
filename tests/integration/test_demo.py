#!/usr/bin/env python3
"""test_demo.py -- the README's demo command keeps working.

Runs demo/run-demo.sh on the build under test (the same origin, c-icap with
the module, Squid with SslBump where squid-openssl is installed) and checks
that it exits 0, which it does only when every SPEC-table cause and every
§2a-§2b finding it stages was reported, and that the printed report names
the §2a findings with their evidence. The demo itself asserts the events;
this test makes sure nobody breaks it unnoticed.
"""
import os
import subprocess
import sys

SRC = os.environ.get("PC_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PC_TOP_BUILDDIR", SRC)


def main():
    p = subprocess.run(["sh", os.path.join(SRC, "demo", "run-demo.sh"), BUILD],
                       capture_output=True, text=True, timeout=180)
    out = p.stdout
    failures = []
    checks = [
        (p.returncode == 0, f"demo exits 0 (got {p.returncode}; stderr: {p.stderr[-600:]})"),
        ("every cause of SPEC's table was reported" in out, "demo reports full coverage"),
        ("reason=foreign-domain, server_domain=CORP" in out, "foreign-domain names the server's domain"),
        ("user=PARTNER\\bob" in out, "foreign-domain names the user"),
        ("reason=handshake-split" in out and "client side" in out, "handshake-split names the client side"),
        ("reason=kerberos-wrong-account" in out and "krb_error=KRB_AP_ERR_BAD_INTEGRITY" in out,
         "kerberos-wrong-account with the KRB-ERROR name"),
        ("spn=HTTP/web.pc.test@PC.TEST" in out, "the ticket's SPN is shown"),
        ("not-allowli" in out and "chrome/linux" in out, "Chrome on Linux is not-allowlisted"),
        (" kerberos-fallback" in out, "Squid's log carries X-Prompt-Detail"),
    ]
    for ok, what in checks:
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)
    if failures:
        print(out[-4000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
