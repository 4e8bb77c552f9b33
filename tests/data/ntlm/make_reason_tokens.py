#!/usr/bin/python3
"""make_reason_tokens.py -- the NTLM tokens tests/unit/test_reason.c needs
beyond make_tokens.py's: a server that is not in a domain (SPEC §2a
standalone-server).

Run by hand (output is committed):  /usr/bin/python3 tests/data/ntlm/make_reason_tokens.py
Needs gss-ntlmssp, python3-gssapi, python3-impacket (scripts/install-deps.sh).

gss-ntlmssp 1.2 as the acceptor with NETBIOS_COMPUTER_NAME=WEB01 and
NETBIOS_DOMAIN_NAME=WEB01 (what a workgroup server announces: its NetBIOS
domain is its own name); impacket 0.10 answers as the domain account
CORP\\alice. Writes standalone.type2.b64 and standalone.type3.b64. Test data
only (alice / Secret123).
"""
import base64
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def child():
    import gssapi
    from impacket import ntlm

    mech = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
    acc = gssapi.SecurityContext(usage="accept", creds=gssapi.Credentials(usage="accept", mechs=[mech]))
    name = gssapi.Name("alice@CORP", gssapi.NameType.user)
    target = gssapi.Name("HTTP@www.corp.example", gssapi.NameType.hostbased_service)
    ini = gssapi.SecurityContext(name=target, usage="initiate", mech=mech,
                                 creds=gssapi.Credentials(name=name, usage="initiate", mechs=[mech]))
    t2 = acc.step(ini.step())
    it1 = ntlm.getNTLMSSPType1("WS01", "CORP", use_ntlmv2=True)
    t3 = ntlm.getNTLMSSPType3(it1, t2, "alice", "Secret123", "CORP", use_ntlmv2=True)[0].getData()
    for leg, tok in (("type2", t2), ("type3", t3)):
        with open(os.path.join(HERE, "standalone.%s.b64" % leg), "w") as f:
            f.write(base64.b64encode(tok).decode())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        users = os.path.join(tmp, "users")
        with open(users, "w") as f:
            f.write("CORP:alice:Secret123\n")  # the initiator's own credentials
        env = dict(os.environ, NTLM_USER_FILE=users, NETBIOS_COMPUTER_NAME="WEB01",
                   NETBIOS_DOMAIN_NAME="WEB01", NTLMUSER="alice")
        subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child()
    else:
        main()
