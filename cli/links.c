/* links.c -- `promptcause links [--base URL] [FILE]`: the embedded objects of
 * an HTML document, one "TYPE URL" line each (SPEC §6).
 *
 * The document is streamed through the same core scanner the service uses,
 * in 64 KiB reads, so what this prints is what the service would correlate. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "htmlscan.h"
#include "linkset.h"
#include "urlres.h"

static const char links_help[] =
    "usage: promptcause links [--base URL] [FILE]\n"
    "\n"
    "Print the objects an HTML page makes the browser fetch (images, scripts,\n"
    "stylesheets, frames, media, plugin objects, CSS url()), one 'TYPE URL' line\n"
    "each, in document order, each (TYPE, URL) once. TYPE is image, script, style,\n"
    "frame, media, font, object or other. Reads FILE, or standard input when FILE\n"
    "is absent or '-'.\n"
    "\n"
    "  --base URL   the page's own URL: relative URLs are resolved against it and\n"
    "               against the page's <base href>; without it they are printed\n"
    "               as written\n"
    "  -h, --help   show this help\n"
    "\n"
    "URLs are normalised (lower-case scheme and host, no default port, no\n"
    "fragment, dot segments removed); data:, javascript: and other non-HTTP URLs\n"
    "are left out. Exit 0, or 2 on bad usage or unreadable input.\n";

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

int links_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"base", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *base = NULL;
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case 'b':
            base = optarg;
            break;
        case 'h':
            fputs(links_help, stdout);
            return 0;
        default:
            if (optopt == 'b')
                return cli_fail("links", "--base needs a URL");
            return cli_fail("links", "unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return cli_fail("links", "one FILE at most (try --help)");
    if (base != NULL && !urlres_is_absolute(base, strlen(base)))
        return cli_fail("links", "--base must be an absolute URL: %s", base);

    const char *path = optind < argc ? argv[optind] : "-";
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
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_fail("links", "cannot write output: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    htmlscan_free(s);
    linkset_free(ctx.ls);
    if (in != stdin)
        fclose(in);
    return rc;
}
