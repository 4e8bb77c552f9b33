#!/usr/bin/env python3
"""test_links_differential.py -- `promptcause links` against a libgumbo
reference (tests/oracle/gumbo_links.c) on real HTML.

The corpus is the HTML that Debian documentation packages install
(python3.11-doc, debian-reference-en, ...; anything under /usr/share/doc and
/usr/share/debian-reference), or the directories in PC_LINKS_CORPUS
(colon-separated). Both extractors print through the same resolution code,
so a difference is a difference in which URLs were found. At least 99% of
the files must give the same set of "TYPE URL" lines; the differing files
are listed with what each side found alone.

A second part feeds both extractors random documents glued from tricky
fragments (comments, script escapes, raw text, quotes, references, NULs):
real pages rarely exercise the tokenizer's corners. Fragments that only a
tree builder handles (select, svg/math, frameset) are left out; they are
listed in docs/SCANNER.md as known differences.

Skips (exit 77) when libgumbo's header or a C compiler is missing, or when
the corpus has fewer than MIN_FILES files.
"""
import concurrent.futures
import os
import random
import tempfile
import shutil
import subprocess
import sys

MIN_FILES = 20
REQUIRED = 0.99
TIMEOUT = 60


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def corpus():
    dirs = os.environ.get("PC_LINKS_CORPUS")
    roots = dirs.split(":") if dirs else ["/usr/share/doc", "/usr/share/debian-reference"]
    files = []
    for root in roots:
        for d, _, names in os.walk(root):
            for n in names:
                if n.endswith((".html", ".htm", ".xhtml")):
                    p = os.path.join(d, n)
                    if os.path.isfile(p) and not os.path.islink(p):
                        files.append(p)
    return sorted(files)


def build_oracle(top_src, top_build):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        skip("no C compiler for the libgumbo oracle")
    if not os.path.exists("/usr/include/gumbo.h"):
        skip("libgumbo-dev is not installed (apt-get install libgumbo-dev)")
    out_dir = os.path.join(top_build, "tests", "oracle")
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "gumbo_links")
    srcs = [os.path.join(top_src, p) for p in (
        "tests/oracle/gumbo_links.c", "cli/linkset.c", "core/urlres.c", "core/event_names.c")]
    cmd = [cc, "-std=gnu11", "-O2", "-I" + os.path.join(top_src, "core"),
           "-I" + os.path.join(top_src, "cli"), "-o", exe] + srcs + ["-lgumbo", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    return exe


def lines(cmd):
    r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (cmd[0], r.returncode, r.stderr[:300]))
    return set(r.stdout.splitlines())


def compare(args):
    cli, oracle, path = args
    base = "http://corpus.test" + path
    mine = lines([cli, "links", "--base", base, path])
    ref = lines([oracle, "--base", base, path])
    return path, mine - ref, ref - mine, len(ref)


FRAGMENTS = [
    '<img src=a.gif>', '<img src="b c.gif">', "<img src='d&amp;e'>", '<img src=f&ampg>',
    '<IMG SRC=G>', '<!--', '-->', '--!>', '<!-->', '<!--->', '<!', '<?', '</', '>', '<', '-',
    '--', '!', '"', "'", '=', ' ', '\n', '/', '<script>', '</script>', '<script src=s.js>',
    '<SCRIPT>', '</script ', '<!--<script>', '<style>', '</style>', 'a{b:url(u.png)}',
    '@import "i.css";', 'url(', ')', '<title>', '</title>', '<textarea>', '</textarea>',
    '<iframe src=fr>', '</iframe>', '<noscript>', '</noscript>', '<template>', '</template>',
    '<xmp>', '</xmp>', '<link rel=stylesheet href=c.css>', '<video poster=p src=v>',
    '<img srcset="x 1x, y 2x">', '<div style="background:url(bg)">',
    '<base href=http://b.test/d/>', '<input type=image src=in>', '<img src=', 'src=h', ' alt=',
    '<p>', 'text', '&lt;', '&#x41;', '<object data=o>', '<embed src=e>', '<source src=m>',
    '<img src=i1 src=i2>', '<!DOCTYPE html>', '<img/src=sl>', '\0', '<img src=n\0ul>',
    '<noembed>', '</noembed>', '&notin;', '&not', 'it', '&#x80;', '&#0;', '</SCRIPT>',
    '</script/>', '<!--!>', '<!-- -->', '--!', '<script><!--', '<head>', '<table>',
    '<td background=td>', '</table>', '<![CDATA[', ']]>', '<image src=im>', '<html>', '</html>',
    '</body>', '<noframes>', '\r\n', '\t', '<br/>', '<img src="">', '<track src=tr>',
    '<audio src=au>', '<link rel="preload" as=font href=fo>', '<link rel=icon href=ic>',
    '<plaintext>', '<a href=x>', 'script', 'style', '<img alt="', '">', "'>", '<img src="q',
    '&', '#', ';',
]
RANDOM_DOCS = 400


def random_docs(cli, oracle):
    """Share of random fragment documents on which both agree."""
    rng = random.Random(20261125)
    same = 0
    with tempfile.TemporaryDirectory() as tmp:
        def one(i):
            doc = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 25)))
            path = os.path.join(tmp, "r%d.html" % i)
            with open(path, "wb") as f:
                f.write(doc.encode())
            return compare((cli, oracle, path)), doc
        docs = [one(i) for i in range(RANDOM_DOCS)]
    for (path, only_mine, only_ref, n), doc in docs:
        if only_mine or only_ref:
            print("RANDOM DIFF %r" % doc)
            print("  scanner only: %s" % sorted(only_mine)[:3])
            print("  gumbo only:   %s" % sorted(only_ref)[:3])
        else:
            same += 1
    print("%d random documents, %d identical (%.2f%%)" % (RANDOM_DOCS, same, 100.0 * same / RANDOM_DOCS))
    return same / RANDOM_DOCS


def main():
    top_build = os.environ.get("PC_TOP_BUILDDIR", ".")
    top_src = os.environ.get("PC_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    cli = os.path.join(top_build, "cli", "promptcause")
    if not os.access(cli, os.X_OK):
        print("FAIL: %s not built" % cli)
        return 1
    files = corpus()
    if len(files) < MIN_FILES:
        skip("only %d HTML files in the corpus; install python3.11-doc debian-reference-en"
             % len(files))
    oracle = build_oracle(top_src, top_build)

    same = 0
    objects = 0
    differing = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, only_mine, only_ref, n in pool.map(
                compare, [(cli, oracle, f) for f in files]):
            objects += n
            if only_mine or only_ref:
                differing.append((path, only_mine, only_ref))
            else:
                same += 1
    share = same / len(files)
    for path, only_mine, only_ref in differing:
        print("DIFF %s" % path)
        for l in sorted(only_mine)[:5]:
            print("  scanner only: %s" % l.decode("utf-8", "replace"))
        for l in sorted(only_ref)[:5]:
            print("  gumbo only:   %s" % l.decode("utf-8", "replace"))
    print("%d files, %d objects (gumbo), %d identical (%.2f%%), %d differ; need %.0f%%"
          % (len(files), objects, same, 100 * share, len(differing), 100 * REQUIRED))
    rshare = random_docs(cli, oracle)
    return 0 if share >= REQUIRED and rshare >= REQUIRED else 1


if __name__ == "__main__":
    sys.exit(main())
