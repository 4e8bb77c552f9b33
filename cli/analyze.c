/* analyze.c -- `promptcause analyze [--format F] [--output PATH] FILE...`:
 * mine event logs and Squid access logs for prompts (SPEC §6).
 *
 * Each file is read through zlib (gzopen reads plain files unchanged and
 * gunzips by the magic bytes, whatever the name), split into lines in a
 * 1 MiB buffer, its format detected from its first parseable line, and every
 * line parsed in place (core/squidlog.h). Lines that carry a decision (event
 * logs, the X-Prompt logformat) go straight into the report; raw Squid lines
 * go through core/logcorr.h, which guesses cause and parent from what the log
 * has. Memory stays flat: nothing is kept per line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "analyze.h"
#include "cli.h"
#include "logcorr.h"
#include "rules_file.h"

#define READ_BUF (1u << 20) /* also the longest line; longer ones are unparsed */

static const char analyze_help[] =
    "usage: promptcause analyze [--format text|json|csv|html] [--output PATH]\n"
    "                           [--input auto|events|squid|xprompt|combined] [--top N]\n"
    "                           [--rules FILE] FILE...\n"
    "\n"
    "Read promptcause event logs or Squid access logs (native 'squid', 'combined',\n"
    "or the logformat of etc/squid-promptcause.conf carrying the X-Prompt-* fields;\n"
    "detected per file) and report: 401/407s by cause and prompt reason, the\n"
    "denied resources with their parent pages and distinct clients, the clients,\n"
    "the share of 401s that were NTLM/Negotiate handshake steps, prompt storms\n"
    "(the rules of 'watch') and a per-minute timeline. FILE '-' is standard input;\n"
    "gzip-compressed files are read directly.\n"
    "\n"
    "  --format F   text (default), json (SPEC section 6), csv, or html (one\n"
    "               self-contained page with a timeline chart and sortable tables)\n"
    "  --output P   write the report to P instead of standard output\n"
    "  --input F    force the input format of every file (default: auto)\n"
    "  --top N      resources and clients listed (default 100, 0 for all)\n"
    "  --rules F    storm rules file (as for 'watch'; default: SPEC section 6)\n"
    "  -h, --help   show this help\n"
    "\n"
    "Raw Squid logs do not record challenges or request headers: causes are\n"
    "inferred (docs/ANALYZE.md says how), prompt is 'unknown', and the parent's\n"
    "evidence is 'referer' or 'time'. Lines no format accepts are counted as\n"
    "'unparsed'. A progress bar is drawn on standard error when it is a terminal.\n"
    "Exit 0, or 2 on bad usage or unreadable input.\n";

struct progress {
    bool on;
    struct timespec last;
    unsigned long lines_total;
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Draw "\r path [#####.....]  45%  1234567 lines" at most 5 times a second. */
static void progress_draw(struct progress *p, const char *path, gzFile gz, off_t size,
                          unsigned long lines, bool final)
{
    static double last;
    double t = now_mono();
    if (!p->on || (!final && t - last < 0.2))
        return;
    last = t;
    char bar[31];
    int pct = -1;
    if (size > 0) {
        long off = gzoffset(gz);
        pct = final ? 100 : (int)(off >= 0 ? (100.0 * (double)off / (double)size) : 0);
        if (pct > 100)
            pct = 100;
        int fill = pct * 30 / 100;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(30 - fill));
        bar[30] = '\0';
        fprintf(stderr, "\r%-24.24s [%s] %3d%% %10lu lines", path, bar, pct, lines);
    } else {
        fprintf(stderr, "\r%-24.24s %10lu lines", path, lines);
    }
    if (final)
        fputs("\n", stderr);
    fflush(stderr);
}

struct run {
    struct report *rep;
    struct logcorr *corr;
    struct squidrec *rec;
    enum squidlog_format forced;
    bool oom;
};

/* One line (line[n] writable). */
static void do_line(struct run *run, struct analyze_input *in, char *line, size_t n)
{
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    if (n == 0)
        return;
    line[n] = '\0';
    in->lines++;
    if (in->format == SQUIDLOG_UNKNOWN) {
        in->format = squidlog_detect(line, n);
        if (in->format == SQUIDLOG_UNKNOWN) {
            in->unparsed++;
            report_line(run->rep, false);
            return;
        }
    }
    struct squidrec *r = run->rec;
    if (squidlog_parse(in->format, line, n, r) != 0) {
        in->unparsed++;
        report_line(run->rep, false);
        return;
    }
    report_line(run->rep, true);
    bool decided = in->format == SQUIDLOG_EVENTS ||
                   (in->format == SQUIDLOG_XPROMPT && r->cause[0] != '\0');
    if (!decided) {
        if (logcorr_feed(run->corr, r, run->rep) != 0)
            run->oom = true;
        return;
    }
    if (r->status != 401 && r->status != 407)
        return;
    struct report_event ev = {
        .ts = r->ts, .status = r->status, .client = r->client, .user = r->user, .url = r->url,
        .host = r->host, .cause = r->cause, .prompt = r->prompt, .parent = r->parent,
        .evidence = r->evidence, .reason = r->reason,
    };
    if (report_add(run->rep, &ev) != 0)
        run->oom = true;
}

/* Read one file into the report. Returns 0, or -1 after printing why the
 * file cannot be read. */
static int do_file(struct run *run, struct analyze_input *in, char *buf, struct progress *prog)
{
    int fd = strcmp(in->path, "-") == 0 ? dup(STDIN_FILENO) : open(in->path, O_RDONLY);
    struct stat st;
    off_t size = 0;
    gzFile gz = NULL;
    int rc = -1;

    if (fd < 0) {
        cli_fail("analyze", "cannot open %s: %s", in->path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
        size = st.st_size;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_fail("analyze", "cannot read %s: is a directory", in->path);
        close(fd);
        return -1;
    }
    gz = gzdopen(fd, "rb");
    if (gz == NULL) {
        cli_fail("analyze", "cannot read %s: out of memory", in->path);
        close(fd);
        return -1;
    }
    gzbuffer(gz, 256 * 1024);
    in->format = run->forced;
    size_t have = 0;
    bool skipping = false; /* inside a line longer than the buffer */
    for (;;) {
        int got = gzread(gz, buf + have, (unsigned)(READ_BUF - have));
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            cli_fail("analyze", "cannot read %s: %s", in->path,
                     zerr == Z_ERRNO ? strerror(errno) : msg);
            goto err;
        }
        if (got == 0) {
            if (have > 0 && !skipping)
                do_line(run, in, buf, have);
            break;
        }
        in->gzip = !gzdirect(gz);
        size_t end = have + (size_t)got;
        char *p = buf, *lim = buf + end;
        for (;;) {
            char *nl = memchr(p, '\n', (size_t)(lim - p));
            if (nl == NULL)
                break;
            if (skipping) {
                skipping = false;
            } else {
                do_line(run, in, p, (size_t)(nl - p));
            }
            p = nl + 1;
        }
        have = (size_t)(lim - p);
        if (have == READ_BUF) { /* one line fills the buffer: count it, drop it */
            if (!skipping) {
                in->lines++;
                in->unparsed++;
                report_line(run->rep, false);
            }
            skipping = true;
            have = 0;
        } else if (have > 0) {
            memmove(buf, p, have);
        }
        progress_draw(prog, in->path, gz, size, in->lines, false);
    }
    /* a gzip stream cut short reads as a clean end with an error set */
    int zerr;
    const char *msg = gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        cli_fail("analyze", "cannot read %s: %s", in->path, msg);
        goto err;
    }
    progress_draw(prog, in->path, gz, size, in->lines, true);
    if (logcorr_flush(run->corr, run->rep) != 0)
        run->oom = true;
    rc = 0;
err:
    gzclose(gz);
    return rc;
}

static int read_rules(const char *path, struct storm_rules *rules)
{
    char err[600];
    struct rules_extra unused; /* watch's delivery keys: checked, not needed here */
    if (rules_file_load(path, rules, &unused, err, sizeof err) != 0)
        return cli_fail("analyze", "%s", err);
    return 0;
}

int analyze_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"input", required_argument, NULL, 'i'},  {"top", required_argument, NULL, 't'},
        {"rules", required_argument, NULL, 'r'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum analyze_format fmt = ANALYZE_TEXT;
    const char *output = NULL, *rules_path = NULL;
    struct storm_rules rules;
    struct report_limits lim;
    struct run run = {0};
    struct progress prog = {0};
    struct analyze_input *inputs = NULL;
    char *buf = NULL;
    size_t top = 100;
    int o, rc = CLI_EXIT_USAGE;

    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+hf:o:", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            if (strcmp(optarg, "text") == 0)
                fmt = ANALYZE_TEXT;
            else if (strcmp(optarg, "json") == 0)
                fmt = ANALYZE_JSON;
            else if (strcmp(optarg, "csv") == 0)
                fmt = ANALYZE_CSV;
            else if (strcmp(optarg, "html") == 0)
                fmt = ANALYZE_HTML;
            else
                return cli_fail("analyze", "--format must be text, json, csv or html, not '%s'", optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'i':
            if (strcmp(optarg, "auto") == 0)
                run.forced = SQUIDLOG_UNKNOWN;
            else if ((run.forced = squidlog_format_by_name(optarg)) == SQUIDLOG_UNKNOWN)
                return cli_fail("analyze", "--input must be auto, events, squid, xprompt or combined, not '%s'",
                                optarg);
            break;
        case 't': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || end == optarg || optarg[0] == '-')
                return cli_fail("analyze", "--top needs a number, not '%s'", optarg);
            top = v;
            break;
        }
        case 'r':
            rules_path = optarg;
            break;
        case 'h':
            fputs(analyze_help, stdout);
            return 0;
        default:
            if (optopt != 0 && strchr("foitr", optopt) != NULL)
                return cli_fail("analyze", "%s needs a value", argv[optind - 1]);
            return cli_fail("analyze", "unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_fail("analyze", "no FILE given ('-' reads standard input; try --help)");
    if (rules_path != NULL && read_rules(rules_path, &rules) != 0)
        return CLI_EXIT_USAGE;

    size_t nfiles = (size_t)(argc - optind);
    report_limits_default(&lim);
    run.rep = report_new(&lim, rules_path ? &rules : NULL);
    run.corr = logcorr_new();
    run.rec = malloc(sizeof *run.rec);
    inputs = calloc(nfiles, sizeof *inputs);
    buf = malloc(READ_BUF + 1);
    if (run.rep == NULL || run.corr == NULL || run.rec == NULL || inputs == NULL || buf == NULL) {
        cli_fail("analyze", "out of memory");
        goto err;
    }
    prog.on = isatty(STDERR_FILENO) == 1;
    for (size_t i = 0; i < nfiles; i++) {
        inputs[i].path = argv[optind + (int)i];
        if (do_file(&run, &inputs[i], buf, &prog) != 0)
            goto err;
    }
    if (run.oom)
        fprintf(stderr, "promptcause analyze: warning: out of memory, some events are missing "
                        "from the tables\n");
    report_finish(run.rep);

    FILE *out = stdout;
    if (output != NULL && (out = fopen(output, "w")) == NULL) {
        cli_fail("analyze", "cannot write %s: %s", output, strerror(errno));
        goto err;
    }
    struct analyze_meta meta = {inputs, nfiles, top};
    int wr = analyze_write(out, fmt, run.rep, &meta);
    if (fflush(out) != 0)
        wr = -1;
    if (out != stdout && fclose(out) != 0)
        wr = -1;
    if (wr != 0) {
        cli_fail("analyze", "cannot write %s: %s", output ? output : "standard output",
                 strerror(errno));
        goto err;
    }
    rc = 0;
err:
    free(buf);
    free(inputs);
    free(run.rec);
    logcorr_free(run.corr);
    report_free(run.rep);
    return rc;
}
