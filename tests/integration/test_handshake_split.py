"""test_handshake_split -- the handshake memory (SPEC §2a handshake-split, §7
connection identities) in a real c-icap, and through a real Squid.

Part 1, our ICAP client plays Squid against c-icap (2 children) with the
module: real type-2s and type-3s of tests/data/ntlm (gss-ntlmssp, impacket)
are replayed with and without Squid's connection headers. A type-3 answering
its own type-2 is matched; one answering another challenge, or its own on
another client or server connection, is a split of that side; without the
connection headers the NTLMv2 blob alone decides. What the module does is
proven through c-icap's statistics (`info`): fingerprints remembered, answers
compared and how each compared. Also: two proxy users on one address do not
get each other's parent page (correlation keyed by client and proxy user).

Part 2, the real chain: http.client -> Squid 5.7 -> c-icap -> origin.py's
IIS-like NTLM scenario, the type-1 and type-3 made by python3-impacket from
the origin's type-2. Squid's conf carries SPEC §7's
`adaptation_meta X-Client-Connection "%>a:%>p"` and
`adaptation_meta X-Server-Connection "%<la:%<lp"`; c-icap's access log and the
event prove Squid expands them (the client's own port, and Squid's port
towards the origin as the origin saw it). Cases: a whole handshake on one
connection (matched), the type-3 sent on a new client connection (split,
client side), and a Squid with `server_persistent_connections off` that sends
the type-3 on a new server connection (split, server side).

The `reason` of each split event (handshake-split, with the side named in
the hint) is checked last, in reason_tests().

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import base64
import http.client
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402

try:
    from impacket import ntlm as impacket_ntlm
except ImportError:  # make check's python may be a virtualenv without Debian's packages
    impacket_ntlm = None
    if os.path.realpath(sys.executable) != "/usr/bin/python3" and os.access("/usr/bin/python3", os.X_OK) \
            and not os.environ.get("PC_HS_REEXEC"):
        os.environ["PC_HS_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__)] + sys.argv[1:])

import cicap  # noqa: E402
import icapclient as C  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402

CLIENT_IP = "10.1.2.3"
URL = "http://intranet.corp.example/app/default.aspx"
DOC = "Accept: text/html,application/xhtml+xml,*/*;q=0.8\nSec-Fetch-Dest: document\nSec-Fetch-Mode: navigate\n"
C1, C2 = f"{CLIENT_IP}:50001", f"{CLIENT_IP}:50002"
S1, S2 = "127.0.0.1:40001", "127.0.0.1:40002"
IMPACKET_TYPE1 = None  # set in main when impacket is there

HS_COUNTERS = ("handshake challenges remembered", "handshake answers compared", "handshake answers matched",
               "handshake splits client", "handshake splits server", "handshake splits no-match",
               "handshake evictions")

# Events kept for reason_tests: (label, event, side).
SPLIT_EVENTS = []


def token(name):
    """The base64 text of tests/data/ntlm/<name>.b64."""
    with open(os.path.join(H.TOP_SRCDIR, "tests", "data", "ntlm", name + ".b64")) as f:
        return f.read().strip()


class Results:
    def __init__(self):
        self.run = 0
        self.failed = []

    def check(self, name, fn):
        self.run += 1
        try:
            problems = fn() or []
        except Exception as e:  # one broken case must not hide the others
            problems = [f"exception: {e!r}\n{traceback.format_exc()}"]
        if problems:
            self.failed.append((name, problems))
            print(f"FAIL {name}")
            for p in problems:
                print(f"     {p}")
        else:
            print(f"ok   {name}")


def hs_stats(port):
    s = cicap.info_stats(port)
    return {k: s.get(k, 0) for k in HS_COUNTERS + ("store errors", "internal errors", "parents found in store")}


def delta(before, after):
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


# ---- part 1: our ICAP client plays Squid ------------------------------------

def icap_headers(conn, sconn, user=None):
    h = {"X-Client-IP": CLIENT_IP}
    if conn:
        h["X-Client-Connection"] = conn
    if sconn:
        h["X-Server-Connection"] = sconn
    if user:
        h["X-Authenticated-User"] = user
    return h


def give_type2(srv, case, conn=C1, sconn=S1, scheme="NTLM", url=URL, user=None):
    """The 401 with case's type-2, answering a type-1 (as IIS does)."""
    req = (f"GET {url} HTTP/1.1\nHost: {url.split('/')[2]}\nUser-Agent: Mozilla/5.0\n{DOC}"
           f"Authorization: {scheme} {token(case + '.type1')}\n")
    res = f"HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: {scheme} {token(case + '.type2')}\n"
    r = C.respmod(srv.port, req, res, b"<html>401</html>", preview=64512, icap_headers=icap_headers(conn, sconn, user))
    return r


def refuse_type3(srv, case, conn=C1, sconn=S1, scheme="NTLM", url=URL, user=None):
    """The 401 refusing case's type-3 (IIS offers the schemes again)."""
    req = (f"GET {url} HTTP/1.1\nHost: {url.split('/')[2]}\nUser-Agent: Mozilla/5.0\n{DOC}"
           f"Authorization: {scheme} {token(case + '.type3')}\n")
    res = "HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: Negotiate\nWWW-Authenticate: NTLM\n"
    return C.respmod(srv.port, req, res, b"<html>401.1</html>", preview=64512,
                     icap_headers=icap_headers(conn, sconn, user))


def last_event(srv, before):
    evs = H.wait_for(lambda: cicap.read_events(srv.event_log)[before:], timeout=5.0)
    return evs[-1] if evs else None


# Each scenario: (label, [(leg, case, conn, sconn)], expected counter deltas,
# side for reason_tests or None). Counters start from what the scenario's own
# legs do; every scenario uses its own URL host so none sees another's type-2s.
SCENARIOS = [
    ("a type-3 answering its own type-2 is matched",
     [("give", "gss-v2", C1, S1), ("refuse", "gss-v2", C1, S1)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake answers matched": 1}, None),
    ("a real type-3 answering another challenge than the one given: split, no-match",
     [("give", "gss-v2", C1, S1), ("refuse", "impacket.v2-domain", C1, S1)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake splits no-match": 1},
     "no-match"),
    ("its own type-3 on another client connection: split, client",
     [("give", "impacket.v2-wrongpw", C1, S1), ("refuse", "impacket.v2-wrongpw", C2, S1)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake splits client": 1},
     "client"),
    ("its own type-3 on another server connection: split, server",
     [("give", "impacket.v2-foreign", C1, S1), ("refuse", "impacket.v2-foreign", C1, S2)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake splits server": 1},
     "server"),
    ("without connection headers the blob alone: its own type-2 matched",
     [("give", "gss-v2-cb", None, None), ("refuse", "gss-v2-cb", None, None)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake answers matched": 1}, None),
    ("without connection headers the blob alone: another server's challenge is no-match",
     [("give", "gss-v2-cb", None, None), ("refuse", "impacket.v2-local", None, None)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake splits no-match": 1},
     "no-match"),
    ("NTLMv1 without connection headers: nothing to compare",
     [("give", "gss-v1", None, None), ("refuse", "gss-v1", None, None)],
     {"handshake challenges remembered": 1}, None),
    ("NTLMv1 on another client connection: split, client (connections alone)",
     [("give", "impacket.v1", C1, S1), ("refuse", "impacket.v1", C2, S1)],
     {"handshake challenges remembered": 1, "handshake answers compared": 1, "handshake splits client": 1},
     "client"),
    ("a type-3 with no type-2 remembered for this host: compared, nothing found",
     [("refuse", "gss-v2", C1, S1)],
     {"handshake answers compared": 1}, None),
]


def icap_tests(res):
    tmp, procs = H.TempDir(prefix="pc-hs-"), H.Processes()
    try:
        srv = cicap.start_cicap(tmp, procs, [], children=2, threads=4)
        for i, (label, legs, want, side) in enumerate(SCENARIOS):
            def run(legs=legs, want=want, side=side, label=label, i=i):
                url = f"http://app{i}.corp.example/app/default.aspx"
                before = hs_stats(srv.port)
                nev = len(cicap.read_events(srv.event_log))
                p = []
                for leg, case, conn, sconn in legs:
                    fn = give_type2 if leg == "give" else refuse_type3
                    r = fn(srv, case, conn, sconn, url=url)
                    if r.status != 204:
                        p.append(f"{leg} {case}: ICAP {r.status}, want 204 (never a changed response)")
                got = delta(before, hs_stats(srv.port))
                if got != want:
                    p.append(f"counters moved {got}, want {want}")
                ev = last_event(srv, nev)
                if ev is None or ev.get("cause") != "credentials-rejected":
                    p.append(f"last event {ev}, want the credentials-rejected of the type-3")
                elif legs[-1][2] and ev.get("connection") != legs[-1][2]:
                    p.append(f"event connection {ev.get('connection')!r}, want {legs[-1][2]!r}")
                if side is not None and ev is not None:
                    SPLIT_EVENTS.append((label, ev, side))
                return p
            res.check(f"[icap] {label}", run)

        def spnego():
            url = "http://spnego.corp.example/"
            before = hs_stats(srv.port)
            give_type2(srv, "spnego-gss-v2-cb", C1, S1, scheme="Negotiate", url=url)
            refuse_type3(srv, "spnego-gss-v2-cb", C1, S1, scheme="Negotiate", url=url)
            refuse_type3(srv, "gss-v2", C1, S1, scheme="Negotiate", url=url)  # raw NTLMSSP in Negotiate
            want = {"handshake challenges remembered": 1, "handshake answers compared": 2,
                    "handshake answers matched": 1, "handshake splits no-match": 1}
            got = delta(before, hs_stats(srv.port))
            return [] if got == want else [f"counters moved {got}, want {want}"]
        res.check("[icap] NTLM inside Negotiate (SPNEGO both ways): remembered and matched", spnego)

        def per_user():
            url = "http://shared.corp.example/"
            before = hs_stats(srv.port)
            give_type2(srv, "gss-v2", C1, S1, url=url, user="alice")
            r = refuse_type3(srv, "gss-v2", C1, S1, url=url, user="bob")   # not bob's challenge
            r = refuse_type3(srv, "gss-v2", C1, S1, url=url, user="alice")
            want = {"handshake challenges remembered": 1, "handshake answers compared": 2,
                    "handshake answers matched": 1}
            got = delta(before, hs_stats(srv.port))
            return [] if got == want and r.status == 204 else [f"counters moved {got}, want {want}"]
        res.check("[icap] handshake memory is per proxy user on a shared address", per_user)

        def garbage():
            before = hs_stats(srv.port)
            p = []
            for auth in ("NTLM !!!!", "NTLM TlRMTVNTUAADAAAA", "Negotiate " + "A" * 60000, "NTLM"):
                req = f"GET http://junk.corp.example/ HTTP/1.1\nHost: junk.corp.example\nAuthorization: {auth}\n"
                res401 = "HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: NTLM\n"
                r = C.respmod(srv.port, req, res401, b"x", preview=64512, icap_headers=icap_headers(C1, S1))
                if r.status != 204:
                    p.append(f"{auth[:20]}: ICAP {r.status}")
            for chal in ("NTLM !!!!", "NTLM TlRMTVNTUAACAAAA", "Negotiate oYIBBTCCAQGgAwoBAaEMBgor"):
                res401 = f"HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: {chal}\n"
                r = C.respmod(srv.port, "GET http://junk.corp.example/ HTTP/1.1\nHost: junk.corp.example\n",
                              res401, b"x", preview=64512, icap_headers=icap_headers(C1, S1))
                if r.status != 204:
                    p.append(f"{chal[:20]}: ICAP {r.status}")
            got = delta(before, hs_stats(srv.port))
            if got:
                p.append(f"counters moved on garbage: {got}")
            return p
        res.check("[icap] garbage tokens both ways: answered 204, nothing remembered or compared", garbage)
    finally:
        procs.stop_all()
        tmp.cleanup()


def eviction_tests(res):
    """The smallest store: type-2s of many clients evict each other, counted in
    `info`; the client whose fingerprint went gets no false split."""
    tmp, procs = H.TempDir(prefix="pc-hs-ev-"), H.Processes()
    try:
        srv = cicap.start_cicap(tmp, procs, [("StoreBytes", "65536")], children=2, threads=4)

        def run():
            p = []
            url = "http://busy.corp.example/"
            before = hs_stats(srv.port)
            n = 40
            for i in range(n):
                req = (f"GET {url} HTTP/1.1\nHost: busy.corp.example\n"
                       f"Authorization: NTLM {token('gss-v2.type1')}\n")
                res401 = f"HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: NTLM {token('gss-v2.type2')}\n"
                C.respmod(srv.port, req, res401, b"x", preview=64512,
                          icap_headers={"X-Client-IP": f"10.9.0.{i + 1}", "X-Client-Connection": f"10.9.0.{i + 1}:5000"})
            r = C.respmod(srv.port, f"GET {url} HTTP/1.1\nHost: busy.corp.example\n"
                          f"Authorization: NTLM {token('impacket.v2-domain.type3')}\n",
                          "HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: NTLM\n", b"x",
                          preview=64512, icap_headers={"X-Client-IP": "10.9.0.1", "X-Client-Connection": "10.9.0.1:5000"})
            got = delta(before, hs_stats(srv.port))
            if got.get("handshake challenges remembered") != n:
                p.append(f"remembered {got}, want {n}")
            if got.get("handshake evictions", 0) < n - 8 or got.get("handshake evictions", 0) >= n:
                p.append(f"evictions {got.get('handshake evictions')}, want at least {n - 8} (a 64 KiB store "
                         f"holds 8 fingerprints) and fewer than {n}")
            if got.get("handshake answers compared") != 1 or any(k.startswith("handshake splits") for k in got):
                p.append(f"the evicted client's type-3: {got}, want compared and no split")
            if r.status != 204:
                p.append(f"ICAP {r.status}")
            return p
        res.check("[icap] 64 KiB store: fingerprints evicted and counted, no false split after", run)
    finally:
        procs.stop_all()
        tmp.cleanup()


def page_tests(res):
    """Two proxy users on one address: the page one loaded is not the other's parent."""
    tmp, procs = H.TempDir(prefix="pc-hs-page-"), H.Processes()
    try:
        srv = cicap.start_cicap(tmp, procs, [], children=1, threads=4)
        page = b'<html><body><img src="/secure/logo.gif"></body></html>'
        img = ("GET http://portal.corp.example/secure/logo.gif HTTP/1.1\nHost: portal.corp.example\n"
               "Accept: image/png,image/*;q=0.8,*/*;q=0.5\nUser-Agent: Mozilla/5.0\n")
        res401 = "HTTP/1.1 401 Unauthorized\nContent-Type: text/html\nWWW-Authenticate: Basic realm=\"x\"\n"

        def run():
            p = []
            C.respmod(srv.port, "GET http://portal.corp.example/alice.html HTTP/1.1\nHost: portal.corp.example\n"
                      f"{DOC}User-Agent: Mozilla/5.0\n",
                      f"HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: {len(page)}\n", page,
                      preview=64512, icap_headers={"X-Client-IP": CLIENT_IP, "X-Authenticated-User": "alice"})
            for user, want in (("bob", None), (None, None), ("alice", "http://portal.corp.example/alice.html")):
                h = {"X-Client-IP": CLIENT_IP}
                if user:
                    h["X-Authenticated-User"] = user
                r = C.respmod(srv.port, img, res401, b"denied", preview=64512, icap_headers=h)
                if r.header("X-Prompt-Parent") != want:
                    p.append(f"user {user}: X-Prompt-Parent {r.header('X-Prompt-Parent')!r}, want {want!r}")
            return p
        res.check("[page] two proxy users on one address do not get each other's parent", run)
    finally:
        procs.stop_all()
        tmp.cleanup()


# ---- part 2: through a real Squid --------------------------------------------

META = ('adaptation_meta X-Client-Connection "%>a:%>p"\n'
        'adaptation_meta X-Server-Connection "%<la:%<lp"\n')
ICAP_FORMAT = "%huo %{X-Client-Connection}>ih %{X-Server-Connection}>ih"
HOST = "intranet.corp.example"


class Chain:
    """origin + c-icap + Squid (conf with SPEC §7's adaptation_meta lines)."""

    def __init__(self, squid_extra=""):
        self.tmp = H.TempDir(prefix="pc-hs-squid-")
        self.procs = H.Processes()
        self.origin = None
        try:
            self.origin = O.start_origin()
            self.peers = []  # (path, Authorization scheme word, the origin's view of Squid's port)
            record = self.origin.record

            def record_peer(h, record=record):
                record(h)
                with self.origin.lock:
                    self.peers.append((h.path, h.client_address[1]))
            self.origin.record = record_peer
            self.icap_log = self.tmp.join("icap-access.log")
            extra = f'LogFormat hsfmt "{ICAP_FORMAT}"\nAccessLog {self.icap_log} hsfmt'
            self.icap = cicap.start_cicap(self.tmp, self.procs, [], extra_conf=extra, children=2, threads=4)
            self.squid = S.start_squid(self.tmp, self.procs, self.icap.port, self.origin.server_port, [HOST],
                                       extra=META + squid_extra)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.procs.stop_all()
        if self.origin is not None:
            self.origin.shutdown()
        self.tmp.cleanup()

    def connect(self):
        c = http.client.HTTPConnection("127.0.0.1", self.squid.port, timeout=20)
        c.connect()
        return c

    def get(self, conn, path, auth=None):
        """GET through Squid on conn; returns (status, WWW-Authenticate values)."""
        headers = {"Host": HOST, "Accept": "text/html", "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}
        if auth:
            headers["Authorization"] = auth
        conn.request("GET", f"http://{HOST}{path}", headers=headers)
        r = conn.getresponse()
        r.read()
        return r.status, r.msg.get_all("WWW-Authenticate") or []

    def icap_lines(self, path):
        """(client connection, server connection) that c-icap's log shows for path."""
        out = []
        try:
            with open(self.icap_log, errors="replace") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3 and parts[0] == f"http://{HOST}{path}":
                        out.append((parts[1], parts[2]))
        except OSError:
            pass
        return out


def type2_of(challenges):
    for v in challenges:
        word, _, tok = v.partition(" ")
        if word.upper() == "NTLM" and tok:
            return base64.b64decode(tok)
    return None


def handshake(chain, path, type3_conn=None):
    """type-1 on a new connection, the origin's type-2, then impacket's type-3
    for it on type3_conn ("same" or "new"). Returns (problems, conns used,
    last event)."""
    p = []
    c1 = chain.connect()
    t1 = impacket_ntlm.getNTLMSSPType1("WS01", "CORP", signingRequired=False, use_ntlmv2=True)
    status, chal = chain.get(c1, path, "NTLM " + base64.b64encode(t1.getData()).decode())
    t2 = type2_of(chal)
    if status != 401 or t2 is None:
        return [f"type-1 got {status} {chal}, want a 401 with a type-2"], None, None
    t3, _ = impacket_ntlm.getNTLMSSPType3(t1, t2, "alice", "Secret123", "CORP", use_ntlmv2=True)
    c3 = c1 if type3_conn == "same" else chain.connect()
    nev = len(cicap.read_events(chain.icap.event_log))
    status, _ = chain.get(c3, path, "NTLM " + base64.b64encode(t3.getData()).decode())
    if status != 401:
        p.append(f"type-3 got {status}, want the origin's 401.1")
    ev = last_event(chain.icap, nev)
    ports = (c1.sock.getsockname()[1], c3.sock.getsockname()[1])
    c1.close()
    if c3 is not c1:
        c3.close()
    return p, ports, ev


def squid_tests(res):
    if impacket_ntlm is None:
        print("skip [squid] cases: python3-impacket not importable")
        return
    chain = Chain()
    try:
        def meta():
            p = []
            conn = chain.connect()
            port = conn.sock.getsockname()[1]
            nev = len(cicap.read_events(chain.icap.event_log))
            status, _ = chain.get(conn, "/ntlm/meta.aspx")
            conn.close()
            if status != 401:
                p.append(f"anonymous GET got {status}, want 401")
            ev = last_event(chain.icap, nev)
            want_c = f"127.0.0.1:{port}"
            if ev is None or ev.get("connection") != want_c:
                p.append(f"event connection {ev and ev.get('connection')!r}, want {want_c!r}")
            lines = H.wait_for(lambda: chain.icap_lines("/ntlm/meta.aspx"), timeout=5.0)
            peer = [pp for path, pp in chain.peers if path.endswith("/ntlm/meta.aspx")]
            if not lines or not peer:
                p.append(f"c-icap log lines {lines}, origin peers {peer}")
            else:
                want = (want_c, f"127.0.0.1:{peer[-1]}")
                if lines[-1] != want:
                    p.append(f"X-Client-Connection / X-Server-Connection {lines[-1]}, want {want} "
                             "(the client's port; Squid's port towards the origin)")
            return p
        res.check('[squid] Squid 5.7 sends X-Client-Connection "%>a:%>p" and X-Server-Connection '
                  '"%<la:%<lp" expanded', meta)

        def one_connection():
            before = hs_stats(chain.icap.port)
            p, ports, ev = handshake(chain, "/ntlm/one.aspx", "same")
            got = delta(before, hs_stats(chain.icap.port))
            want = {"handshake challenges remembered": 1, "handshake answers compared": 1,
                    "handshake answers matched": 1}
            if got != want:
                p.append(f"counters moved {got}, want {want}")
            peers = {pp for path, pp in chain.peers if path.endswith("/ntlm/one.aspx")}
            if len(peers) != 1:
                p.append(f"Squid used server connections {peers}: not pinned, the case proves nothing")
            return p
        res.check("[squid] impacket handshake on one connection, pinned by Squid: matched", one_connection)

        def new_client_connection():
            before = hs_stats(chain.icap.port)
            p, ports, ev = handshake(chain, "/ntlm/reconnect.aspx", "new")
            got = delta(before, hs_stats(chain.icap.port))
            want = {"handshake challenges remembered": 1, "handshake answers compared": 1,
                    "handshake splits client": 1}
            if got != want:
                p.append(f"counters moved {got}, want {want} (client ports {ports})")
            if ev is not None:
                SPLIT_EVENTS.append(("squid: type-3 on a new client connection", ev, "client"))
            return p
        res.check("[squid] the type-3 on a new client connection: split, client", new_client_connection)
    finally:
        chain.stop()

    chain = Chain("server_persistent_connections off\n")
    try:
        def unpinned():
            before = hs_stats(chain.icap.port)
            p, ports, ev = handshake(chain, "/ntlm/unpinned.aspx", "same")
            got = delta(before, hs_stats(chain.icap.port))
            peers = [pp for path, pp in chain.peers if path.endswith("/ntlm/unpinned.aspx")]
            if len(set(peers)) != 2:
                p.append(f"the origin saw Squid's ports {peers}: want two server connections")
            want = {"handshake challenges remembered": 1, "handshake answers compared": 1,
                    "handshake splits server": 1}
            if got != want:
                p.append(f"counters moved {got}, want {want}")
            if ev is not None:
                SPLIT_EVENTS.append(("squid: server_persistent_connections off", ev, "server"))
            return p
        res.check("[squid] server_persistent_connections off: type-3 on a new server connection: split, server",
                  unpinned)
    finally:
        chain.stop()


def reason_tests(res):
    """SPEC §2a: the events of the splits above carry reason handshake-split
    and a hint naming the side that broke."""
    for label, ev, side in SPLIT_EVENTS:
        def check(ev=ev, side=side):
            p = []
            if ev.get("reason") != "handshake-split":
                p.append(f"reason {ev.get('reason')!r}, want 'handshake-split'")
            hint = (ev.get("hint") or "").lower()
            words = {"client": ("client",), "server": ("server", "pinned"), "no-match": ()}[side]
            if words and not any(w in hint for w in words):
                p.append(f"hint {hint!r} does not name the {side} side")
            return p
        res.check(f"[reason] {label}: reason handshake-split ({side})", check)


def main():
    if H.find_binary("c-icap") is None:
        print("SKIP: c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    blocks = [icap_tests, eviction_tests, page_tests]
    if H.find_binary("squid") is not None:
        blocks.append(squid_tests)
    else:
        print("skip [squid] cases: squid not installed")
    blocks.append(reason_tests)
    res = Results()
    for block in blocks:
        try:
            block(res)
        except Exception as e:
            res.run += 1
            res.failed.append((block.__name__, [repr(e)]))
            print(f"FAIL {block.__name__}: {e!r}\n{traceback.format_exc()}")
    passed = res.run - len(res.failed)
    print(f"\ntest_handshake_split: {res.run} cases run, {passed} passed, {len(res.failed)} failed")
    for name, _ in res.failed:
        print(f"  failed: {name}")
    return 0 if not res.failed else 1


if __name__ == "__main__":
    sys.exit(main())
