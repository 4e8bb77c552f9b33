#!/usr/bin/python3
"""make_tokens.py -- capture NTLMSSP tokens from implementations we did not
write, for tests/unit/test_ntlm.c and the ntlm fuzz corpus.

Run by hand (output is committed):  /usr/bin/python3 tests/data/ntlm/make_tokens.py
Needs Debian's gss-ntlmssp, python3-gssapi and python3-impacket
(scripts/install-deps.sh). Writes tests/data/ntlm/*.b64 (one base64 token per
file, no newline inside) and refreshes tests/fuzz/corpus/ntlm/real-*.

Two implementations:
  - gss-ntlmssp 1.2 (through MIT's GSSAPI, mech 1.3.6.1.4.1.311.2.2.10, and
    wrapped by MIT's SPNEGO 1.3.6.1.5.5.2) as the server: every type-2 here is
    its challenge, with NETBIOS_COMPUTER_NAME=WEB01 NETBIOS_DOMAIN_NAME=CORP and
    a users file (NTLM_USER_FILE) holding CORP\\alice. It is also a client:
    NTLMv2 with and without channel bindings, NTLMv1 (LM_COMPAT_LEVEL=0).
  - impacket 0.10 (impacket.ntlm getNTLMSSPType1/getNTLMSSPType3) as a client
    answering a gss-ntlmssp type-2: NTLMv2 with a domain, a foreign domain, a
    local account (no domain), a wrong password, NTLMv1, anonymous.
Each type-3 is fed back to the gss-ntlmssp acceptor that issued its type-2, and
whether it accepted is recorded in tests/data/ntlm/README.md's table (printed
here), so a test knows which tokens were a real successful logon.

The accounts and passwords are test data (alice / Secret123), nothing real.
Every (type-2, type-3) pair shares a file prefix: <case>.type2.b64 and
<case>.type3.b64; the type-3's blob copies the type-2's MsvAvTimestamp, which
the unit test checks without hard-coding it.
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "ntlm")


def child():
    """One case, run in a child process so that each has its own gss-ntlmssp
    environment (LM_COMPAT_LEVEL is read once per process)."""
    import gssapi
    from gssapi.raw import ChannelBindings
    from impacket import ntlm

    case, client = sys.argv[2], sys.argv[3]
    NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
    SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
    spnego = case.startswith("spnego")
    cb = None
    if "cb" in case.split("-"):
        # what a client bound to a TLS server certificate (RFC 5929) sends
        cb = ChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(b"proxy cert").digest())
    acc = gssapi.SecurityContext(usage="accept", channel_bindings=cb,
                                 creds=gssapi.Credentials(usage="accept", mechs=[NTLM, SPNEGO] if spnego else [NTLM]))
    name = gssapi.Name("alice@CORP", gssapi.NameType.user)
    target = gssapi.Name("HTTP@www.corp.example", gssapi.NameType.hostbased_service)
    ini = gssapi.SecurityContext(name=target, usage="initiate", mech=SPNEGO if spnego else NTLM,
                                 channel_bindings=cb,
                                 creds=gssapi.Credentials(name=name, usage="initiate", mechs=[NTLM]))
    t1 = ini.step()
    t2 = acc.step(t1)
    if client == "gss":
        t3 = ini.step(t2)
    else:
        # impacket answers the gss-ntlmssp challenge; its own type-1 is kept
        # for the record (gss-ntlmssp refuses to decode it: no version field)
        user, password, domain, v2 = {
            "v2-domain": ("alice", "Secret123", "CORP", True),
            "v2-foreign": ("bob", "Secret123", "OTHERDOM", True),
            "v2-local": ("alice", "Secret123", "", True),
            "v2-wrongpw": ("alice", "wrong", "CORP", True),
            "v1": ("alice", "Secret123", "CORP", False),
            "anon": ("", "", "", True),
        }[case.split(".", 1)[1]]
        it1 = ntlm.getNTLMSSPType1("WS01", domain, use_ntlmv2=v2)
        t1 = it1.getData()
        t3 = ntlm.getNTLMSSPType3(it1, t2, user, password, domain, use_ntlmv2=v2)[0].getData()
    try:
        acc.step(t3)
        verdict = "accepted as %s" % acc.initiator_name if acc.complete else "incomplete"
    except gssapi.exceptions.GSSError as e:
        verdict = "refused (%s)" % str(e).split(",")[0]
    for leg, tok in (("type1", t1), ("type2", t2), ("type3", t3)):
        with open(os.path.join(HERE, "%s.%s.b64" % (case, leg)), "w") as f:
            f.write(base64.b64encode(tok).decode())
    print("| %s | %s | %s |" % (case, client, verdict))


CASES = [
    # case, client, extra environment
    ("gss-v2", "gss", {}),
    ("gss-v2-cb", "gss", {}),
    ("gss-v1", "gss", {"LM_COMPAT_LEVEL": "0"}),
    ("spnego-gss-v2-cb", "gss", {}),
    ("impacket.v2-domain", "impacket", {}),
    ("impacket.v2-foreign", "impacket", {}),
    ("impacket.v2-local", "impacket", {}),
    ("impacket.v2-wrongpw", "impacket", {}),
    ("impacket.v1", "impacket", {"LM_COMPAT_LEVEL": "0"}),
    ("impacket.anon", "impacket", {}),
]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        users = os.path.join(tmp, "users")
        with open(users, "w") as f:
            f.write("CORP:alice:Secret123\n")
        print("| case | client | gss-ntlmssp acceptor |\n| --- | --- | --- |")
        for case, client, extra in CASES:
            env = dict(os.environ, NTLM_USER_FILE=users, NETBIOS_COMPUTER_NAME="WEB01",
                       NETBIOS_DOMAIN_NAME="CORP", NTLMUSER="alice")
            env.update(extra)
            subprocess.run([sys.executable, __file__, "--child", case, client], env=env, check=True)
    # fuzz seeds: first byte even = ntlm_inspect, odd = spnego_inspect
    os.makedirs(CORPUS, exist_ok=True)
    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".b64"):
            continue
        with open(os.path.join(HERE, name)) as f:
            raw = base64.b64decode(f.read())
        sel = b"\1" if name.startswith("spnego") else b"\0"
        with open(os.path.join(CORPUS, "real-" + name[:-4]), "wb") as f:
            f.write(sel + raw)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child()
    else:
        main()
