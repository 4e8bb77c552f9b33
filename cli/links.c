/* links.c -- `promptcause links [--base URL] [--manifest FILE] [FILE]...`:
 * the embedded objects of HTML documents, one "TYPE URL" line each (SPEC §6).
 *
 * Each document is streamed through the same core scanner the service uses,
 * in 64 KiB reads, so what this prints is what the service would correlate.
 * Several documents in one run (FILE arguments, or a manifest giving each
 * its own base URL) spare a process start per document; each is scanned and
 * de-duplicated on its own, and its lines carry its path. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "htmlscan.h"
#include "linkset.h"
#include "urlres.h"

static const char links_help[] =
    "usage: promptcause links [--base URL] [--manifest FILE] [FILE]...\n"
    "\n"
    "Print the objects an HTML page makes the browser fetch (images, scripts,\n"
    "stylesheets, frames, media, plugin objects, CSS url()), one 'TYPE URL' line\n"
    "each, in document order, each (TYPE, URL) once per document. TYPE is image,\n"
    "script, style, frame, media, font, object or other. Reads each FILE, or\n"
    "standard input when there is no FILE and no manifest ('-' is standard input).\n"
    "\n"
    "  --base URL       the page's own URL: relative URLs are resolved against it\n"
    "                   and against the page's <base href>; without it they are\n"
    "                   printed as written. Applies to every FILE argument\n"
    "  --manifest FILE  read documents from FILE, one 'BASE<TAB>PATH' line each\n"
    "                   (BASE an absolute URL, or '-' for none; '#' lines and\n"
    "                   blank lines are skipped); scanned after the FILE arguments\n"
    "  -h, --help       show this help\n"
    "\n"
    "With more than one document (or a manifest), each line starts with the\n"
    "document's PATH and a tab: 'PATH<TAB>TYPE URL'.\n"
    "\n"
    "URLs are normalised (lower-case scheme and host, no default port, no\n"
    "fragment, dot segments removed); data:, javascript: and other non-HTTP URLs\n"
    "are left out. Exit 0; 2 on bad usage, a bad manifest line, or a document\n"
    "that cannot be read (the others are still printed).\n";

struct links_ctx {
    struct linkset *ls;
    int oom;
};

static void on_ref(void *arg, enum htmlscan_ref ref, enum event_object type, const char *url,
                   size_t len)
{
    struct links_ctx *c = arg;
    int rc = ref == HTMLSCAN_BASE ? linkset_base(c->ls, url, len)
                                  : linkset_add(c->ls, type, url, len);
    if (rc < 0)
        c->oom = 1;
}

/* Scan one document and print its lines, prefixed by path when prefixed.
 * Returns 0, or CLI_EXIT_USAGE after a message (unreadable, out of memory). */
static int links_one(const char *path, const char *base, int prefixed)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in == NULL)
        return cli_fail("links", "cannot read %s: %s", path, strerror(errno));

    int rc = CLI_EXIT_USAGE;
    struct links_ctx ctx = {0};
    struct htmlscan *s = NULL;
    ctx.ls = linkset_new(base, base ? strlen(base) : 0, stdout);
    if (ctx.ls == NULL) {
        cli_fail("links", "out of memory");
        goto out;
    }
    if (prefixed)
        linkset_prefix(ctx.ls, path);
    s = htmlscan_new(on_ref, &ctx);
    if (s == NULL) {
        cli_fail("links", "out of memory");
        goto out;
    }
    static char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && !ctx.oom)
        htmlscan_feed(s, buf, n);
    if (ferror(in)) {
        cli_fail("links", "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    htmlscan_finish(s);
    if (ctx.oom) {
        cli_fail("links", "out of memory");
        goto out;
    }
    rc = 0;
out:
    htmlscan_free(s);
    linkset_free(ctx.ls);
    if (in != stdin)
        fclose(in);
    else
        clearerr(stdin);
    return rc;
}

/* Split a manifest line "BASE\tPATH" in place. Returns 0 with *base (NULL
 * for "-") and *path set, 1 for a line to skip, -1 for a malformed line. */
static int manifest_line(char *line, const char **base, const char **path)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n == 0 || line[0] == '#')
        return 1;
    char *tab = strchr(line, '\t');
    if (tab == NULL || tab == line || tab[1] == '\0')
        return -1;
    *tab = '\0';
    *base = strcmp(line, "-") == 0 ? NULL : line;
    *path = tab + 1;
    return 0;
}

/* Scan every document a manifest names. Returns 0, or CLI_EXIT_USAGE when the
 * manifest cannot be read or holds a bad line (scanning stops there) or a
 * document could not be read (scanning goes on). */
static int links_manifest(const char *mpath)
{
    FILE *m = strcmp(mpath, "-") == 0 ? stdin : fopen(mpath, "r");
    if (m == NULL)
        return cli_fail("links", "cannot read manifest %s: %s", mpath, strerror(errno));
    int rc = 0;
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    while (getline(&line, &cap, m) != -1) {
        lineno++;
        const char *base = NULL, *path = NULL;
        int k = manifest_line(line, &base, &path);
        if (k == 1)
            continue;
        if (k < 0) {
            rc = cli_fail("links", "%s:%lu: expected 'BASE<TAB>PATH'", mpath, lineno);
            break;
        }
        if (base != NULL && !urlres_is_absolute(base, strlen(base))) {
            rc = cli_fail("links", "%s:%lu: BASE must be an absolute URL or '-': %s", mpath,
                          lineno, base);
            break;
        }
        if (links_one(path, base, 1) != 0)
            rc = CLI_EXIT_USAGE;
    }
    if (ferror(m))
        rc = cli_fail("links", "cannot read manifest %s: %s", mpath, strerror(errno));
    free(line);
    if (m != stdin)
        fclose(m);
    return rc;
}

int links_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"base", required_argument, NULL, 'b'},
        {"manifest", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *base = NULL, *manifest = NULL;
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case 'b':
            base = optarg;
            break;
        case 'm':
            manifest = optarg;
            break;
        case 'h':
            fputs(links_help, stdout);
            return 0;
        default:
            if (optopt == 'b')
                return cli_fail("links", "--base needs a URL");
            if (optopt == 'm')
                return cli_fail("links", "--manifest needs a FILE");
            return cli_fail("links", "unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (base != NULL && !urlres_is_absolute(base, strlen(base)))
        return cli_fail("links", "--base must be an absolute URL: %s", base);

    int files = argc - optind;
    int prefixed = files > 1 || manifest != NULL;
    int rc = 0;
    if (files == 0 && manifest == NULL)
        rc = links_one("-", base, 0);
    for (int i = optind; i < argc; i++)
        if (links_one(argv[i], base, prefixed) != 0)
            rc = CLI_EXIT_USAGE;
    if (manifest != NULL && links_manifest(manifest) != 0)
        rc = CLI_EXIT_USAGE;
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("links", "cannot write output: %s", strerror(errno));
    return rc;
}
