"""bump -- a throw-away SslBump chain for tests: CA, HTTPS origin, bumping Squid.

SPEC §7 makes SslBump a supported deployment, so the tests need https:
transactions that Squid decrypts and hands to the service like http: ones,
without touching the machine's DNS, CAs or network. This file adds, on top of
squid.py and origin.py:
- make_pki(): a CA and a server certificate for the test host names (and
  127.0.0.1), made with the openssl command in the test's temp dir;
- start_tls_origin(): origin.py's server (all its 401/NTLM scenarios) behind
  python's ssl with that server certificate;
- start_bump_squid(): Squid with the lines of etc/squid-promptcause-sslbump.conf
  (paths and port replaced; so the shipped snippet is what runs), its own
  security_file_certgen database, and a second originserver cache_peer with
  `tls` so bumped https: requests reach the TLS origin, never DNS;
- https_connection() / connect_raw(): clients through Squid's CONNECT that
  trust only the test CA.
Needs a Squid built with OpenSSL (Debian's squid-openssl): have_sslbump().
"""
import os
import pwd
import socket
import ssl
import subprocess

import pcharness as H
import origin as O
import squid as S

CERTGEN = "/usr/lib/squid/security_file_certgen"
SNIPPET = os.path.join(H.TOP_SRCDIR, "etc", "squid-promptcause-sslbump.conf")
# What the shipped snippet names, replaced by the test's own files.
SNIPPET_CA_CRT = "/etc/squid/bump-ca.crt"
SNIPPET_CA_KEY = "/etc/squid/bump-ca.key"
SNIPPET_DB = "/var/lib/squid/ssl_db"


def have_sslbump():
    """None when Squid can bump here, else why not (for a SKIP line)."""
    squid = H.find_binary("squid")
    if squid is None:
        return "squid not installed"
    if not os.access(CERTGEN, os.X_OK):
        return f"{CERTGEN} missing (install squid-openssl)"
    v = subprocess.run([squid, "-v"], capture_output=True, text=True).stdout
    if "--with-openssl" not in v or "--enable-ssl-crtd" not in v:
        return "this squid has no OpenSSL/ssl-crtd (install squid-openssl)"
    if H.find_binary("openssl") is None:
        return "openssl command missing"
    return None


class PKI:
    """Paths of the test CA (.ca_crt, .ca_key) and the origin's certificate
    (.srv_crt, .srv_key), and the origin certificate's DER (.srv_der)."""

    def __init__(self, ca_crt, ca_key, srv_crt, srv_key):
        self.ca_crt, self.ca_key, self.srv_crt, self.srv_key = ca_crt, ca_key, srv_crt, srv_key
        with open(srv_crt) as f:
            self.srv_der = ssl.PEM_cert_to_DER_cert(f.read())


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr[-2000:]}")


def make_pki(tmp, hosts):
    """A CA and a server certificate for hosts + 127.0.0.1 signed by it, in
    tmp. Keys are world-readable: the temp dir is the test's own, and Squid's
    certgen helper runs as `proxy`. Raises RuntimeError when openssl fails."""
    d = tmp.join("pki")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"),
             "-out", p("ca.crt"), "-days", "2", "-subj", "/CN=promptcause test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("srv.key"), "-out", p("srv.csr"),
             "-subj", f"/CN={hosts[0]}")
    with open(p("srv.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName="
                + ",".join([f"DNS:{h}" for h in hosts] + ["IP:127.0.0.1"]) + "\n")
    _openssl("x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-out", p("srv.crt"), "-days", "2", "-extfile", p("srv.ext"))
    for n in ("ca.crt", "ca.key", "srv.crt", "srv.key"):
        os.chmod(p(n), 0o644)
    return PKI(p("ca.crt"), p("ca.key"), p("srv.crt"), p("srv.key"))


class TLSOrigin(O.Origin):
    """origin.py's server speaking TLS. The handshake runs in the request's
    thread (finish_request), not in accept(), so one slow client cannot stall
    the others."""

    def __init__(self, addr, pki, **kw):
        super().__init__(addr, **kw)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(pki.srv_crt, pki.srv_key)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(15)
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)


def start_tls_origin(pki, handler=None, site=None):
    """Start a TLS origin on a free loopback port in a background thread;
    returns the server (.server_port, .shutdown()). handler: a subclass of
    origin.Handler with more pages (defaults to origin.Handler)."""
    import threading
    srv = TLSOrigin(("127.0.0.1", 0), pki, site=site)
    if handler is not None:
        srv.RequestHandlerClass = handler
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def init_certdb(tmp):
    """Create security_file_certgen's database in tmp (owned by `proxy`, as
    Squid's helpers run); returns its path. Raises RuntimeError on failure."""
    db = tmp.join("ssl_db")
    r = subprocess.run([CERTGEN, "-c", "-s", db, "-M", "4MB"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{CERTGEN} -c failed: {r.stdout}{r.stderr}")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("proxy")
        for root, dirs, files in os.walk(db):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.chown(n, pw.pw_uid, pw.pw_gid)
    return db


def snippet(pki, db, path=SNIPPET):
    """(http_port options, other lines) of the shipped SslBump snippet with
    the test's CA and certgen database in place of the documented paths.
    Raises ValueError when the snippet has no ssl-bump http_port line."""
    with open(path) as f:
        text = f.read()
    text = (text.replace(SNIPPET_CA_CRT, pki.ca_crt).replace(SNIPPET_CA_KEY, pki.ca_key)
            .replace(SNIPPET_DB, db))
    port_options, lines = None, []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("http_port "):
            parts = s.split(None, 2)
            if len(parts) < 3 or "ssl-bump" not in parts[2]:
                raise ValueError(f"{path}: http_port line without ssl-bump: {s}")
            port_options = parts[2]
            continue
        lines.append(s)
    if port_options is None:
        raise ValueError(f"{path}: no http_port line")
    return port_options, lines


def bump_peers(tls_origin_port, ca_crt):
    """squid.py `peers` lines: https: requests (bumped) go to the TLS origin
    over TLS, verified with the test CA; http: stays on the plain origin."""
    return f"""cache_peer 127.0.0.1 parent {tls_origin_port} 0 no-query no-digest originserver tls tls-cafile={ca_crt} tls-domain=intranet login=PASSTHRU connection-auth=on name=origin_tls
acl pc_https proto HTTPS
acl pc_connect method CONNECT
cache_peer_access origin_tls allow pc_https
cache_peer_access origin_tls allow pc_connect
cache_peer_access origin_tls deny all
cache_peer_access origin deny pc_https
cache_peer_access origin deny pc_connect"""


def start_bump_squid(tmp, procs, icap_port, origin_port, tls_origin_port, pki, hosts,
                     before_snippet="", extra="", max_conn=10, service_options=""):
    """Squid with SslBump (the shipped snippet) in front of both origins.
    before_snippet: lines placed before the snippet's (e.g. more `acl no_bump`
    names, which add to the snippet's list). Returns squid.Squid with .db."""
    db = init_certdb(tmp)
    port_options, lines = snippet(pki, db)
    conf = "\n".join([
        "# SslBump (etc/squid-promptcause-sslbump.conf, paths replaced by bump.py)",
        before_snippet,
        *lines,
        f"tls_outgoing_options cafile={pki.ca_crt}",
        extra,
    ])
    sq = S.start_squid(tmp, procs, icap_port, origin_port, hosts, extra=conf, max_conn=max_conn,
                       service_options=service_options, port_options=port_options,
                       peers=bump_peers(tls_origin_port, pki.ca_crt))
    sq.db = db
    return sq


def client_context(pki):
    """A client TLS context that trusts only the test CA."""
    ctx = ssl.create_default_context(cafile=pki.ca_crt)
    return ctx


def https_connection(squid_port, pki, host, port=443, timeout=15):
    """An http.client connection to https://host:port through Squid's CONNECT
    (one TLS session, kept alive: NTLM handshakes stay on it)."""
    import http.client
    conn = http.client.HTTPSConnection("127.0.0.1", squid_port, timeout=timeout,
                                       context=client_context(pki))
    conn.set_tunnel(host, port)
    return conn


def connect_raw(squid_port, pki, connect_to, sni, timeout=15):
    """CONNECT connect_to ("host:port") through Squid, then a TLS handshake
    with SNI sni, trusting the test CA; returns the ssl socket. Raises
    OSError/ssl.SSLError when Squid refuses or the handshake fails."""
    sock = socket.create_connection(("127.0.0.1", squid_port), timeout=timeout)
    try:
        sock.sendall(f"CONNECT {connect_to} HTTP/1.1\r\nHost: {connect_to}\r\n\r\n".encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError("squid closed the CONNECT")
            resp += chunk
        if not resp.split(b"\r\n", 1)[0].split()[1:2] == [b"200"]:
            raise OSError(f"CONNECT refused: {resp.splitlines()[0]!r}")
        ctx = client_context(pki)
        return ctx.wrap_socket(sock, server_hostname=sni)
    except BaseException:
        sock.close()
        raise


def curl_get(squid_port, pki, url, headers=(), out=None):
    """GET url with curl through Squid, trusting only the test CA. Returns
    (HTTP status, body bytes); raises RuntimeError when curl fails."""
    argv = ["curl", "-sS", "--max-time", "15", "--proxy", f"http://127.0.0.1:{squid_port}",
            "--cacert", pki.ca_crt, "-o", "-", "-w", "\n%{http_code}", "--noproxy", ""]
    for h in headers:
        argv += ["-H", h]
    r = subprocess.run(argv + [url], capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"curl {url}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body
