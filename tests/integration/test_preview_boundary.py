#!/usr/bin/env python3
"""test_preview_boundary.py -- bodies around Squid's 64 KiB preview window pass
through Squid 5.7 + c-icap unchanged and without delay.

The preview size the service advertises (PREVIEW_BYTES in
module/srv_promptcause.c) sits just under Squid's 65535-byte body pipe: at
65536 every body over 64 KiB hung until c-icap's Timeout, at 65535 every
transaction the service reads past the preview hung (annotated 401s, HTML pages
read on). This sweeps 401 bodies and HTML pages from just under 64 KiB to 1 MB,
with AnnotateResponse off (204 in preview) and on (the 401 is echoed back), and
requires each to arrive byte-identical within a few seconds -- c-icap's Timeout
is 10 s here, so a hang shows as a 5xx after 10 s. Exit 0 pass, 1 fail, 77 skip.
"""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcharness as H  # noqa: E402
import origin as O  # noqa: E402
import squid as S  # noqa: E402

# malformed_body(n) is n + 16 bytes: 65,016 .. 70,016 B around the window, 100 KB, 1 MB.
SIZES_401 = [65000, 65500, 65519, 65520, 65536, 66000, 70000, 100000, 1000000]
SIZES_PAGE = [64000, 65536, 70000, 100000, 1000000]
MAX_SECONDS = 3.0


def fetch(port, url):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    t = time.time()
    try:
        c.request("GET", url, headers={"Host": "intranet", "User-Agent": "Mozilla/5.0 (promptcause preview)"})
        r = c.getresponse()
        return r.status, r.read(), time.time() - t
    finally:
        c.close()


def main():
    if H.find_binary("squid") is None or H.find_binary("c-icap") is None:
        print("SKIP: squid or c-icap not installed")
        return H.SKIP
    if not os.path.exists(H.MODULE):
        print(f"SKIP: module not built ({H.MODULE})")
        return H.SKIP
    import cicap

    failures, count = [], 0
    for annotate in ("off", "on"):
        tmp = H.TempDir(prefix="pc-preview-")
        procs = H.Processes()
        origin = O.start_origin()
        try:
            icap = cicap.start_cicap(tmp, procs, [("AnnotateResponse", annotate), ("MaxHtmlBytes", "1M")], extra_conf="Timeout 10",
                                     children=2)
            sq = S.start_squid(tmp, procs, icap.port, origin.server_port, ["intranet"])
            cases = [(f"http://intranet/malformed/b{n}.html?size={n}", 401, O.malformed_body(n)) for n in SIZES_401]
            cases += [(f"http://intranet/big.html?size={n}", 200, O.big_page(n)) for n in SIZES_PAGE]
            for url, want_status, want_body in cases:
                count += 1
                status, body, secs = fetch(sq.port, url)
                label = f"AnnotateResponse {annotate}: {want_status} of {len(want_body)} B"
                if status != want_status:
                    failures.append(f"{label}: status {status} after {secs:.1f} s")
                elif body != want_body:
                    failures.append(f"{label}: body differs ({len(body)} B)")
                elif secs > MAX_SECONDS:
                    failures.append(f"{label}: took {secs:.1f} s")
            if failures:
                sys.stderr.write("--- c-icap log ---\n" + H.tail(icap.server_log, 20))
        finally:
            procs.stop_all()
            origin.shutdown()
            tmp.cleanup()
    for f in failures:
        print("FAIL: " + f)
    print(f"{'FAIL' if failures else 'PASS'}: {count} responses around the 64 KiB preview window, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
