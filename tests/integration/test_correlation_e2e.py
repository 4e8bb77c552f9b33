"""test_correlation_e2e -- parent-page correlation (SPEC §2 rule 4-5) through the real chain.

client (http.client, Squid as its proxy) -> Squid 5 -> c-icap with
srv_promptcause.so (2 children) -> tests/integration/origin.py, plus a few
pages served by this file's handler (gzip/deflate bodies, a no-referrer page,
numbered pages). Proves:
- a page's HTML, scanned by the service, names the parent of a 401 image
  (evidence html) with and without Referer and Sec-Fetch-*, also for gzip and
  raw-deflate pages, and when page and image went through different c-icap
  children (c-icap's access log names the child of each transaction through
  the service's `promptcause` attribute);
- a cross-site image is suppressed; a 401 on a link (navigation) stays
  page-denied;
- a page larger than the preview is delivered byte for byte while the service
  reads it to MaxHtmlBytes (1 MiB here), finding an image at its very end; with
  MaxHtmlBytes at its default (the preview, SPEC §5) the same image is not found
  in the HTML;
- a flood of distinct pages keeps the store at StoreBytes of shared memory
  (/proc/PID/smaps of every child) and raises the eviction counter.

Exit status follows automake: 0 pass, 1 fail, 77 skip, 99 hard error.
"""
import concurrent.futures
import gzip
import http.client
import os
import re
import sys
import time
import traceback
import zlib
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402

HOSTS = ["intranet", "www.example.test", "other.example.org"]
I, W = "http://intranet", "http://www.example.test"

DOC = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
       "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"}
DOC_OLD = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # no fetch metadata
IMG_FETCH = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8",
             "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"}
IMG_OLD = {"Accept": "image/png,image/*;q=0.8,*/*;q=0.5"}  # no fetch metadata, like an old IE

STORE_BYTES = 256 * 1024
PREVIEW = 64512  # module/srv_promptcause.c PREVIEW_BYTES
ACCESS_FORMAT = "%huo %{promptcause}Sa"

NOREF = O.page("No referrer", '<meta name="referrer" content="no-referrer">\n'
               '<img src="/secure/noref.gif" alt="no referer sent for this one">')
GZ = O.page("Gzip page", '<link rel="stylesheet" href="css/site.css">\n'
            '<img src="/secure/gz.gif" alt="gz">' + "<p>filler text</p>\n" * 200)
DEFLATE = O.page("Deflate page", '<script src="/secure/df.js"></script>')


def numbered_page(i, images=1, tag="pair"):
    """Page /n/<tag>/<i>.html embedding /secure/<tag>/<i>-<j>.gif."""
    return O.page(f"{tag} {i}", "\n".join(f'<img src="/secure/{tag}/{i}-{j}.gif">' for j in range(images)))


class CorrHandler(O.Handler):
    """origin.py's handler plus the pages this test needs (no edit to origin.py)."""

    def do_GET(self):
        path = urlsplit(self.path).path
        page = None
        if path == "/corr/noref.html":
            page = (NOREF, [])
        elif path == "/corr/gz.html":
            page = (gzip.compress(GZ), [("Content-Encoding", "gzip")])
        elif path == "/corr/deflate.html":
            co = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as old IIS sends it
            page = (co.compress(DEFLATE) + co.flush(), [("Content-Encoding", "deflate")])
        else:
            m = re.match(r"^/n/(\w+)/(\d+)\.html$", path)
            if m:
                images = 20 if m.group(1) == "flood" else 1
                page = (numbered_page(int(m.group(2)), images, m.group(1)), [])
        if page is None:
            return super().do_GET()
        self.server.record(self)
        return self._send(200, page[0], "text/html; charset=utf-8", headers=page[1])


class Chain:
    """origin + c-icap (promptcause, 2 children) + Squid, in one temp dir."""

    def __init__(self, cicap, directives):
        self.tmp = H.TempDir(prefix="pc-corr-")
        self.procs = H.Processes()
        self.origin = None
        try:
            self.origin = O.start_origin()
            self.origin.RequestHandlerClass = CorrHandler
            self.icap_log = self.tmp.join("icap-access.log")
            extra = f'LogFormat pcfmt "{ACCESS_FORMAT}"\nAccessLog {self.icap_log} pcfmt'
            # Two children of three threads each, and Squid allowed exactly four
            # ICAP connections (waiting, never bypassing, at the limit): Squid
            # keeps its ICAP connections open and each holds a c-icap thread, so
            # one child can take at most three of them and the fourth must be
            # accepted by the other child. Concurrent requests therefore always
            # reach both children, which cross_children() relies on; the two
            # threads left over serve the test's own `info` queries.
            self.icap = cicap.start_cicap(self.tmp, self.procs, directives, extra_conf=extra,
                                          children=2, threads=3)
            self.squid = S.start_squid(self.tmp, self.procs, self.icap.port,
                                       self.origin.server_port, HOSTS, max_conn=4,
                                       service_options="on-overload=wait")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.procs.stop_all()
        if self.origin is not None:
            self.origin.shutdown()
        self.tmp.cleanup()

    def get(self, url, headers, conn=None):
        """GET url through Squid; returns (status, body). A fresh connection
        unless conn is given."""
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.squid.port, timeout=20)
        try:
            host = urlsplit(url).netloc
            conn.request("GET", url, headers={"Host": host, "User-Agent": "Mozilla/5.0 (promptcause corr)",
                                              **headers})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            if own:
                conn.close()

    def events(self, n=None, timeout=8.0):
        import cicap
        if n is None:
            return cicap.read_events(self.icap.event_log)
        return H.wait_for(lambda: (lambda e: e if len(e) >= n else None)(
            cicap.read_events(self.icap.event_log)), timeout=timeout) or cicap.read_events(self.icap.event_log)

    def event_for(self, url, timeout=8.0):
        """The last event for url (waiting for it), or None."""
        def find():
            evs = [e for e in self.events() if e.get("url") == url]
            return evs[-1] if evs else None
        return H.wait_for(find, timeout=timeout)

    def child_of(self):
        """{url: [pid, ...]} from c-icap's access log (the service's attribute)."""
        out = {}
        try:
            with open(self.icap_log, errors="replace") as f:
                for line in f:
                    m = re.match(r"^(\S+) pid=(\d+) ", line)
                    if m:
                        out.setdefault(m.group(1), []).append(int(m.group(2)))
        except FileNotFoundError:
            pass
        return out

    def children(self):
        """PIDs of c-icap's child processes."""
        return H.children_of(self.icap.proc.pid)


class Results:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, fn):
        try:
            problems = fn() or []
        except Exception:
            problems = [traceback.format_exc()]
        if problems:
            self.failed.append(name)
            print(f"FAIL: {name}")
            for p in problems:
                print(f"    {p}")
        else:
            self.passed += 1
            print(f"ok: {name}")


def expect(ev, want, label):
    if ev is None:
        return [f"{label}: no event"]
    return [f"{label}: {k}={ev.get(k)!r}, want {v!r}" for k, v in want.items() if ev.get(k) != v]


def info_stats(port):
    import cicap
    return cicap.info_stats(port)


def store_mappings(pid):
    """(Size kB, Rss kB) of the promptcause-corrstore mapping in pid's smaps, or None."""
    try:
        with open(f"/proc/{pid}/smaps") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for i, line in enumerate(lines):
        if "promptcause-corrstore" in line:
            vals = {}
            for l2 in lines[i + 1:i + 25]:
                m = re.match(r"^(\w+):\s+(\d+) kB", l2)
                if m:
                    vals[m.group(1)] = int(m.group(2))
                elif re.match(r"^[0-9a-f]+-[0-9a-f]+ ", l2):
                    break
            return vals.get("Size"), vals.get("Rss")
    return None


# ---- scenarios on the main chain (MaxHtmlBytes 1 MiB) ---------------------

def basic_scenarios(chain, res):
    index = f"{I}/index.html"

    def with_referer():
        st, _ = chain.get(index, DOC)
        st2, _ = chain.get(f"{I}/secure/logo.gif", {**IMG_FETCH, "Referer": index})
        return ([] if (st, st2) == (200, 401) else [f"statuses {st}, {st2}"]) + expect(
            chain.event_for(f"{I}/secure/logo.gif"),
            dict(cause="embedded-denied", evidence="html", parent=index, object="image", prompt="basic"),
            "logo.gif")
    res.check("embedded-denied with Referer: evidence html", with_referer)

    def without_referer():
        page = f"{I}/corr/noref.html"
        chain.get(page, DOC)
        chain.get(f"{I}/secure/noref.gif", IMG_OLD)  # no Referer, no Sec-Fetch-*
        return expect(chain.event_for(f"{I}/secure/noref.gif"),
                      dict(cause="embedded-denied", evidence="html", parent=page, object="image"),
                      "noref.gif")
    res.check("embedded-denied without Referer or fetch metadata (meta no-referrer page)", without_referer)

    def gzip_page():
        page = f"{W}/corr/gz.html"
        st, body = chain.get(page, {**DOC, "Accept-Encoding": "gzip"})
        problems = [] if body == gzip.compress(GZ) or gzip.decompress(body) == GZ else ["gzip body changed"]
        chain.get(f"{W}/secure/gz.gif", IMG_OLD)
        chain.get(f"{W}/corr/css/site.css", {"Accept": "text/css,*/*;q=0.1"})  # 404, no event
        return problems + expect(chain.event_for(f"{W}/secure/gz.gif"),
                                 dict(cause="embedded-denied", evidence="html", parent=page,
                                      object="image", prompt="basic"), "gz.gif")
    res.check("gzip page: objects found in the decoded HTML", gzip_page)

    def deflate_page():
        page = f"{W}/corr/deflate.html"
        chain.get(page, {**DOC, "Accept-Encoding": "deflate"})
        chain.get(f"{W}/secure/df.js", {"Accept": "*/*"})
        return expect(chain.event_for(f"{W}/secure/df.js"),
                      dict(cause="embedded-denied", evidence="html", parent=page, object="script"),
                      "df.js")
    res.check("raw deflate page: script found", deflate_page)

    def cross_site():
        page = f"{W}/cross-site.html"
        chain.get(page, DOC)
        url = "http://other.example.org/secure/badge.gif"
        chain.get(url, IMG_OLD)
        return expect(chain.event_for(url), dict(cause="embedded-denied", evidence="html", parent=page,
                                                 prompt="suppressed", object="image"), "badge.gif")
    res.check("cross-site image: prompt suppressed (parent from HTML)", cross_site)

    def navigation():
        chain.get(index, DOC)
        url = f"{I}/secure/report.html"  # an <a href> of index.html: a link, not an embed
        chain.get(url, {**DOC, "Referer": index})
        p = expect(chain.event_for(url), dict(cause="page-denied", parent=None, evidence=None), "report (fetch)")
        n = len([e for e in chain.events() if e.get("url") == url])
        chain.get(url, {**DOC_OLD, "Referer": index})
        ev = H.wait_for(lambda: (lambda l: l[n] if len(l) > n else None)(
            [e for e in chain.events() if e.get("url") == url]))
        return p + expect(ev, dict(cause="page-denied", parent=None, evidence=None), "report (old browser)")
    res.check("navigation 401 (a link of the page) stays page-denied", navigation)

    def big_page():
        page = f"{I}/big.html?size=200000"
        st, body = chain.get(page, DOC)
        problems = [] if (st, body) == (200, O.big_page(200000)) else [
            f"big page: status {st}, {len(body)} bytes, identical={body == O.big_page(200000)}"]
        chain.get(f"{I}/secure/tail.gif", IMG_OLD)
        return problems + expect(chain.event_for(f"{I}/secure/tail.gif"),
                                 dict(cause="embedded-denied", evidence="html", parent=page, object="image"),
                                 "tail.gif")
    res.check("page > preview: byte-identical through Squid, image at its end found (MaxHtmlBytes 1 MiB)",
              big_page)


def cross_children(chain, res):
    """Pages and their images through concurrent connections until some page
    and its image were seen by different c-icap children; each such image
    must still have its page as parent from the HTML."""
    def run():
        kids = chain.children()
        if len(kids) < 2:
            return [f"c-icap runs {len(kids)} children, want 2"]
        crossed, problems, base = [], [], 0
        for rnd in range(5):
            n = 24
            ids = range(base, base + n)
            base += n
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                list(ex.map(lambda i: chain.get(f"{I}/n/pair/{i}.html", DOC), ids))
                list(ex.map(lambda i: chain.get(f"{I}/secure/pair/{i}-0.gif", IMG_OLD), ids))
            time.sleep(0.5)
            who = chain.child_of()
            for i in ids:
                pg = who.get(f"{I}/n/pair/{i}.html", [])
                im = who.get(f"{I}/secure/pair/{i}-0.gif", [])
                if len(pg) == 1 and len(im) == 1 and pg[0] != im[0]:
                    crossed.append(i)
                problems += expect(chain.event_for(f"{I}/secure/pair/{i}-0.gif"),
                                   dict(cause="embedded-denied", evidence="html",
                                        parent=f"{I}/n/pair/{i}.html"), f"pair {i}")
            if crossed:
                break
        if not crossed:
            problems.append(f"no page and its image went through different children in {base} pairs "
                            f"(children {kids}; access log {chain.child_of()!r:.300})")
        else:
            print(f"    {len(crossed)} of {base} pairs crossed children, e.g. pair {crossed[0]}")
        return problems
    res.check("page and image served by different c-icap children: evidence html still", run)


def flood(chain, res):
    """Distinct pages (20 images each) far beyond StoreBytes: evictions are
    counted, the store mapping stays StoreBytes in every child, and the
    newest page still correlates."""
    def run():
        problems = []
        before = info_stats(chain.icap.port)
        n = 1500  # 30,000 objects; a 256 KiB store holds about 8,000
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            statuses = list(ex.map(lambda i: chain.get(f"{I}/n/flood/{i}.html", DOC)[0], range(n)))
        dt = time.monotonic() - t0
        if statuses.count(200) != n:
            problems.append(f"flood: {n - statuses.count(200)} pages not 200")
        after = info_stats(chain.icap.port)
        ev = after.get("store evictions", 0) - before.get("store evictions", 0)
        rec = after.get("html objects recorded", 0) - before.get("html objects recorded", 0)
        print(f"    {n} pages in {dt:.1f}s; objects recorded +{rec}, store evictions +{ev}")
        if rec != 20 * n:
            problems.append(f"objects recorded +{rec}, want {20 * n}")
        if ev <= 0:
            problems.append(f"store evictions did not rise ({before.get('store evictions')} -> "
                            f"{after.get('store evictions')})")
        for pid in chain.children():
            m = store_mappings(pid)
            if m is None:
                problems.append(f"child {pid}: no promptcause-corrstore mapping")
                continue
            size, rss = m
            print(f"    child {pid}: store mapping Size {size} kB, Rss {rss} kB")
            if size != STORE_BYTES // 1024 or (rss or 0) > size:
                problems.append(f"child {pid}: store mapping Size {size} kB Rss {rss} kB, want {STORE_BYTES // 1024}")
        last = n - 1
        chain.get(f"{I}/secure/flood/{last}-19.gif", IMG_OLD)
        problems += expect(chain.event_for(f"{I}/secure/flood/{last}-19.gif"),
                           dict(evidence="html", parent=f"{I}/n/flood/{last}.html"), "newest flood page")
        chain.get(f"{I}/secure/flood/0-0.gif", IMG_OLD)
        ev0 = chain.event_for(f"{I}/secure/flood/0-0.gif")
        if ev0 is None or ev0.get("evidence") == "html":
            problems.append(f"oldest flood page still correlates after the flood: {ev0}")
        return problems
    res.check(f"flood of distinct pages: store stays at StoreBytes ({STORE_BYTES} B), evictions counted", run)


def preview_only(cicap, res):
    """MaxHtmlBytes at its default, the preview: the page is answered in preview, so the
    image past 64 KiB is not in the HTML the service saw."""
    def run():
        chain = Chain(cicap, [("StoreBytes", str(STORE_BYTES))])  # MaxHtmlBytes left at its default
        try:
            page = f"{I}/big.html?size=200000"
            st, body = chain.get(page, DOC)
            problems = [] if body == O.big_page(200000) else ["big page changed in transit"]
            chain.get(f"{I}/secure/tail.gif", {**IMG_FETCH, "Referer": page})
            problems += expect(chain.event_for(f"{I}/secure/tail.gif"),
                               dict(cause="embedded-denied", evidence="fetch-metadata", parent=page),
                               "tail.gif (preview only)")
            chain.get(f"{I}/index.html", DOC)
            chain.get(f"{I}/secure/logo.gif", IMG_OLD)
            problems += expect(chain.event_for(f"{I}/secure/logo.gif"), dict(evidence="html"),
                               "logo.gif (preview only)")
            stats = info_stats(chain.icap.port)
            if stats.get("html pages read past preview", -1) != 0:
                problems.append(f"pages read past preview: {stats.get('html pages read past preview')}, want 0")
            return problems
        finally:
            chain.stop()
    res.check("MaxHtmlBytes default (the preview): answered in preview, image past 64 KiB not in the HTML", run)


def main():
    if H.find_binary("squid") is None or H.find_binary("c-icap") is None:
        print("SKIP: squid or c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    import cicap
    res = Results()
    try:
        chain = Chain(cicap, [("StoreBytes", str(STORE_BYTES)), ("MaxHtmlBytes", "1M")])
    except Exception:
        traceback.print_exc()
        return H.HARD_ERROR
    try:
        basic_scenarios(chain, res)
        cross_children(chain, res)
        flood(chain, res)
        res.check("chain survived: no c-icap child crashed", lambda: [
            line.strip() for line in open(chain.icap.server_log, errors="replace")
            if "did not exit normally" in line or "signaled" in line])
        if res.failed:
            print("--- server.log:\n" + H.tail(chain.icap.server_log, 20))
    finally:
        chain.stop()
    preview_only(cicap, res)
    print(f"{res.passed} passed, {len(res.failed)} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
