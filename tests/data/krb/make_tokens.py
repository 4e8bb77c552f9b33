#!/usr/bin/python3
"""make_tokens.py -- capture Kerberos/SPNEGO tokens from a real MIT KDC and
MIT's GSSAPI, for tests/unit/test_kerberos.c and the kerberos fuzz corpus.

Run by hand (output is committed):  /usr/bin/python3 tests/data/krb/make_tokens.py
Needs krb5-kdc, krb5-admin-server (kdb5_util, kadmin.local), krb5-user (ktutil)
and python3-gssapi (scripts/install-deps.sh). Nothing outside a temp dir is
touched: the KDC (realm PC.TEST) gets its own krb5.conf/kdc.conf, database
and a free loopback port, runs in the foreground and is stopped at the end
(also on failure); no DNS is asked (dns_canonicalize_hostname = false).

Principals (test data): alice@PC.TEST (the client, from a keytab) and
HTTP/web.pc.test@PC.TEST (the service). Cases, each one client context to
HTTP@web.pc.test with mutual authentication, given to one acceptor:
  ok        the service keytab holds the current key         -> accepted
  badkey    the keytab holds the current kvno but another key -> refused
  badkvno   the keytab holds only the previous kvno           -> refused
  notus     the keytab holds only another service's key       -> refused
each once through SPNEGO (1.3.6.1.5.5.2) and once with the bare krb5 mech
(1.2.840.113554.1.2.2). Files: <mech>-<case>.init.b64 (the client's token)
and <mech>-<case>.resp.b64 (what the acceptor put in its output token, the
AP-REP or the KRB-ERROR; missing when MIT sent none). Then one real HTTP
exchange: `curl --negotiate` with a kinit ticket against a loopback server
of this script that runs the acceptor (curl-ok.init/.resp). Every token is printed
with what MIT said, for README.md's table, and copied (with the fuzzer's
selector-free layout: the raw token) to tests/fuzz/corpus/kerberos/real-*.
"""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "kerberos")
REALM = "PC.TEST"
SERVICE = "HTTP/web.pc.test"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, env, inp=None):
    r = subprocess.run(cmd, env=env, input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s failed: %s %s" % (cmd[0], r.stdout, r.stderr))
    return r.stdout


def kadmin(env, q):
    return run(["/usr/sbin/kadmin.local", "-r", REALM, "-q", q], env)


def kvno_of(env, princ):
    out = kadmin(env, "getprinc " + princ)
    for line in out.splitlines():
        if line.strip().startswith("Key: vno"):
            return int(line.split("vno", 1)[1].split(",")[0])
    sys.exit("no kvno for " + princ)


def setup(tmp, port):
    conf = os.path.join(tmp, "krb5.conf")
    kdcconf = os.path.join(tmp, "kdc.conf")
    with open(conf, "w") as f:
        f.write("""[libdefaults]
    default_realm = {r}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    allow_rc4 = true
[realms]
    {r} = {{
        kdc = 127.0.0.1:{p}
    }}
[domain_realm]
    .pc.test = {r}
    pc.test = {r}
""".format(r=REALM, p=port))
    with open(kdcconf, "w") as f:
        f.write("""[kdcdefaults]
    kdc_ports = {p}
    kdc_tcp_ports = {p}
[realms]
    {r} = {{
        database_name = {t}/principal
        key_stash_file = {t}/stash
        acl_file = {t}/kadm5.acl
        kdc_listen = 127.0.0.1:{p}
        kdc_tcp_listen = 127.0.0.1:{p}
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal rc4-hmac:normal
    }}
[logging]
    kdc = FILE:{t}/kdc.log
""".format(r=REALM, p=port, t=tmp))
    with open(os.path.join(tmp, "kadm5.acl"), "w") as f:
        f.write("")
    env = dict(os.environ, KRB5_CONFIG=conf, KRB5_KDC_PROFILE=kdcconf,
               KRB5CCNAME="FILE:" + os.path.join(tmp, "ccache"),
               KRB5RCACHEDIR=tmp, KRB5_TRACE=os.path.join(tmp, "trace.log"))
    run(["/usr/sbin/kdb5_util", "-r", REALM, "create", "-s", "-P", "master-test-only"], env)
    kadmin(env, "addprinc -randkey alice")
    kadmin(env, "ktadd -k %s/alice.keytab alice" % tmp)
    kadmin(env, "addprinc -randkey " + SERVICE)
    kadmin(env, "addprinc -randkey HTTP/other.pc.test")
    # the previous kvno's key, then the current one
    kadmin(env, "ktadd -k %s/old.keytab %s" % (tmp, SERVICE))
    kadmin(env, "ktadd -k %s/http.keytab %s" % (tmp, SERVICE))
    kadmin(env, "ktadd -k %s/other.keytab HTTP/other.pc.test" % tmp)
    # a service with only AES128 keys, and one with only RC4 (etype 23)
    kadmin(env, "addprinc -randkey -e aes128-cts-hmac-sha1-96:normal HTTP/aes128.pc.test")
    kadmin(env, "ktadd -k %s/aes128.keytab -e aes128-cts-hmac-sha1-96:normal HTTP/aes128.pc.test" % tmp)
    kadmin(env, "addprinc -randkey -e rc4-hmac:normal HTTP/legacy.pc.test")
    kadmin(env, "ktadd -k %s/legacy.keytab -e rc4-hmac:normal HTTP/legacy.pc.test" % tmp)
    cur = kvno_of(env, SERVICE)
    # the current kvno, but a key derived from a password nobody set
    run(["/usr/bin/ktutil"], env,
        "addent -password -p %s@%s -k %d -e aes256-cts-hmac-sha1-96\nnot-the-key\nwkt %s/badkey.keytab\nquit\n"
        % (SERVICE, REALM, cur, tmp))
    return env, cur


def start_kdc(env, tmp, port):
    kdc = subprocess.Popen(["/usr/sbin/krb5kdc", "-n", "-r", REALM, "-P", os.path.join(tmp, "kdc.pid")],
                           env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "kdc.err"), "w"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return kdc
        except OSError:
            if kdc.poll() is not None:
                sys.exit("krb5kdc exited: " + open(os.path.join(tmp, "kdc.err")).read())
            time.sleep(0.05)
    kdc.kill()
    sys.exit("krb5kdc did not listen")


def one_case(gssapi, tmp, mech, keytab, host="web.pc.test", mutual=True):
    """Returns (init token, acceptor output token or None, what happened);
    the init token is None when the client got no ticket."""
    target = gssapi.Name("HTTP@" + host, gssapi.NameType.hostbased_service)
    icred = gssapi.Credentials(usage="initiate", mechs=[mech],
                               store={"client_keytab": os.path.join(tmp, "alice.keytab"),
                                      "ccache": "FILE:" + os.path.join(tmp, "ccache")})
    # an explicit flag list: an empty one would mean the library defaults (mutual)
    flags = [gssapi.RequirementFlag.mutual_authentication if mutual else gssapi.RequirementFlag.integrity]
    ini = gssapi.SecurityContext(name=target, usage="initiate", mech=mech, creds=icred, flags=flags)
    try:
        tok = ini.step()
    except gssapi.exceptions.GSSError as e:
        return None, None, "the client got no ticket: " + e.gen_message().replace("\n", " ")
    acred = gssapi.Credentials(usage="accept", mechs=[mech], store={"keytab": os.path.join(tmp, keytab)})
    acc = gssapi.SecurityContext(usage="accept", creds=acred)
    try:
        out = acc.step(tok)
        if not acc.complete:
            what = "acceptor wants another round (GSS_S_CONTINUE_NEEDED)"
            if out is not None:
                try:
                    ini.step(out)
                    what += "; client: continues"
                except gssapi.exceptions.GSSError as e:
                    what += "; client: " + e.gen_message().replace("\n", " ")
            return tok, out, what
        what = "accepted as %s" % acc.initiator_name
        if out is not None:
            try:
                ini.step(out)
                what += "; the client accepted the server's token"
            except gssapi.exceptions.GSSError as e:
                what += "; client: " + e.gen_message().replace("\n", " ")
    except gssapi.exceptions.GSSError as e:
        out = getattr(e, "token", None)
        what = "refused: " + e.gen_message().replace("\n", " ")
    return tok, out, what


def curl_case(gssapi, tmp, env, keytab):
    """`curl --negotiate` (libcurl's SPNEGO through MIT GSSAPI, ticket from
    kinit) against a throw-away loopback HTTP server that answers 401
    Negotiate, hands the client's token to an MIT acceptor with keytab, and
    sends the acceptor's output token back on the 200. curl resolves
    web.pc.test itself (--resolve): no DNS. Returns (init, resp, what)."""
    import http.server
    import threading
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Negotiate "):
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Negotiate")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            tok = base64.b64decode(auth.split(None, 1)[1])
            seen["init"] = tok
            acred = gssapi.Credentials(usage="accept", store={"keytab": os.path.join(tmp, keytab)})
            acc = gssapi.SecurityContext(usage="accept", creds=acred)
            try:
                out = acc.step(tok)
                seen["what"] = "accepted as %s" % acc.initiator_name
                code = 200
            except gssapi.exceptions.GSSError as e:
                out = getattr(e, "token", None)
                seen["what"] = "refused: " + e.gen_message().replace("\n", " ")
                code = 401
            seen["resp"] = out
            self.send_response(code)
            if out:
                self.send_header("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode())
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        run(["/usr/bin/kinit", "-k", "-t", os.path.join(tmp, "alice.keytab"), "alice@" + REALM], env)
        r = subprocess.run(["curl", "-sS", "--negotiate", "-u", ":", "--noproxy", "*",
                            "--resolve", "web.pc.test:%d:127.0.0.1" % port, "-o", "/dev/null",
                            "-w", "%{http_code}", "http://web.pc.test:%d/" % port],
                           env=env, capture_output=True, text=True, timeout=30)
    finally:
        srv.shutdown()
        srv.server_close()
    what = seen.get("what", "no token") + "; curl: HTTP %s %s" % (r.stdout, r.stderr.strip())
    return seen.get("init"), seen.get("resp"), what


def main():
    tmp = tempfile.mkdtemp(prefix="pc-krb-")
    port = free_port()
    kdc = None
    try:
        env, cur = setup(tmp, port)
        kdc = start_kdc(env, tmp, port)
        os.environ.update({k: env[k] for k in ("KRB5_CONFIG", "KRB5CCNAME", "KRB5RCACHEDIR", "KRB5_TRACE")})
        import gssapi  # after KRB5_CONFIG is set
        mechs = {"spnego": gssapi.OID.from_int_seq("1.3.6.1.5.5.2"),
                 "krb5": gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")}
        # case: (keytab, service host, mutual authentication)
        cases = {"ok": ("http.keytab", "web.pc.test", True),
                 "badkey": ("badkey.keytab", "web.pc.test", True),
                 "badkvno": ("old.keytab", "web.pc.test", True),
                 "notus": ("other.keytab", "web.pc.test", True),
                 "nomutual": ("http.keytab", "web.pc.test", False),
                 "aes128": ("aes128.keytab", "aes128.pc.test", True),
                 "rc4": ("legacy.keytab", "legacy.pc.test", True),
                 "nospn": ("http.keytab", "alias.pc.test", True)}
        os.makedirs(CORPUS, exist_ok=True)
        for old in os.listdir(HERE):
            if old.endswith(".b64"):
                os.unlink(os.path.join(HERE, old))
        for old in os.listdir(CORPUS):
            if old.startswith("real-"):
                os.unlink(os.path.join(CORPUS, old))
        print("service %s@%s current kvno %d (old.keytab holds %d)" % (SERVICE, REALM, cur, cur - 1))
        for mname, mech in mechs.items():
            for case, (keytab, host, mutual) in cases.items():
                tok, out, what = one_case(gssapi, tmp, mech, keytab, host, mutual)
                print("%s-%s: %s" % (mname, case, what))
                for part, data in (("init", tok), ("resp", out)):
                    if data is None:
                        print("  %s: (none)" % part)
                        continue
                    name = "%s-%s.%s" % (mname, case, part)
                    with open(os.path.join(HERE, name + ".b64"), "w") as f:
                        f.write(base64.b64encode(data).decode())
                    with open(os.path.join(CORPUS, "real-" + name), "wb") as f:
                        f.write(data)
                    print("  %s: %d bytes" % (part, len(data)))
        tok, out, what = curl_case(gssapi, tmp, env, "http.keytab")
        print("curl-ok: %s" % what)
        for part, data in (("init", tok), ("resp", out)):
            if data is None:
                sys.exit("curl-ok: no %s token" % part)
            name = "curl-ok." + part
            with open(os.path.join(HERE, name + ".b64"), "w") as f:
                f.write(base64.b64encode(data).decode())
            with open(os.path.join(CORPUS, "real-" + name), "wb") as f:
                f.write(data)
            print("  %s: %d bytes" % (part, len(data)))
    finally:
        if kdc is not None:
            kdc.terminate()
            try:
                kdc.wait(5)
            except subprocess.TimeoutExpired:
                kdc.kill()
        if os.environ.get("KEEP_TMP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
