#!/usr/bin/env python3
"""preview_coverage -- how many embedded objects of real pages the preview alone finds.

Run by hand (numbers go to docs/CORRELATION.md):

    python3 tests/bench/preview_coverage.py --promptcause BUILD/cli/promptcause [--preview 64512]

For every HTML file of the corpus test_links_differential.py uses (Debian
documentation under /usr/share/doc and /usr/share/debian-reference, or
PC_LINKS_CORPUS), `promptcause links` runs on the whole file and on its first
--preview bytes (what the service scans when it answers 204 in preview), with
the same --base. Prints: files, files larger than the preview, objects in
whole pages, objects found in the preview (overall and on the large pages),
and the share of large pages whose objects the preview finds completely. For
the objects the preview misses, it says which keep a parent anyway: today's
browsers send a full Referer to the same origin (the default policy
strict-origin-when-cross-origin), so a same-origin object keeps its page
(evidence referer) unless the page sets a stricter referrer policy
(<meta name="referrer">, a referrerpolicy attribute); a cross-origin one gets
only the origin in Referer, so Sec-Fetch-Dest gives its type and
Sec-Fetch-Site its cross-site-ness (evidence fetch-metadata), but no page.
Gzip is ignored: the service decodes the preview's compressed bytes, so a
compressed page shows more HTML in its preview than this (identity) figure.
"""
import argparse
import os
import re
import urllib.parse
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def links(binary, data, base):
    out = subprocess.run([binary, "links", "--base", base], input=data, capture_output=True, timeout=60)
    return set(out.stdout.decode("utf-8", "replace").splitlines()) if out.returncode == 0 else None


STRICT_POLICY = re.compile(rb"<meta[^>]+name\s*=\s*[\"']?referrer|referrerpolicy\s*=", re.I)


def origin(url):
    u = urllib.parse.urlsplit(url)
    return (u.scheme, u.hostname, u.port)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promptcause", required=True)
    ap.add_argument("--preview", type=int, default=64512)
    args = ap.parse_args()
    import test_links_differential as D
    files = D.corpus()
    n = big = whole = found = whole_big = found_big = complete_big = 0
    sizes = []
    missed_same = missed_cross = missed_strict = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        base = "http://corpus.test" + path
        all_links = links(args.promptcause, data, base)
        if all_links is None:
            continue
        n += 1
        sizes.append(len(data))
        if len(data) <= args.preview:
            whole += len(all_links)
            found += len(all_links)
            continue
        part = links(args.promptcause, data[:args.preview], base) or set()
        big += 1
        whole += len(all_links)
        found += len(all_links & part)
        whole_big += len(all_links)
        found_big += len(all_links & part)
        complete_big += all_links <= part
        strict = STRICT_POLICY.search(data) is not None
        for line in all_links - part:
            url = line.split(" ", 1)[-1]
            if strict:
                missed_strict += 1
            elif origin(url) == origin(base):
                missed_same += 1
            else:
                missed_cross += 1
    sizes.sort()
    print(f"files {n}, median {sizes[len(sizes) // 2]} B, larger than the preview ({args.preview} B): "
          f"{big} ({100.0 * big / n:.1f}%)")
    print(f"objects: {whole} in whole pages, {found} found in the preview ({100.0 * found / whole:.2f}%)")
    if big:
        print(f"large pages: {whole_big} objects, {found_big} in the preview ({100.0 * found_big / max(whole_big, 1):.1f}%); "
              f"all objects in the preview for {complete_big} of {big} ({100.0 * complete_big / big:.1f}%)")
        missed = whole_big - found_big
        if missed:
            print(f"missed by the preview: {missed}; same origin, full Referer (parent kept, evidence referer): "
                  f"{missed_same} ({100.0 * missed_same / missed:.1f}%); cross-origin, origin-only Referer "
                  f"(type and site from fetch metadata, no parent): {missed_cross}; page sets a referrer "
                  f"policy (no parent assumed): {missed_strict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
