/* bench_htmlscan.c -- throughput and memory of the streaming scanner against
 * libgumbo on the same documents, in one process.
 *
 * All files are read into memory first so only parsing is timed. The scanner
 * is fed in 16 KiB chunks (what a c-icap body callback typically hands over);
 * gumbo gets each whole document, which is the most favourable case for it,
 * and is timed for parsing alone (no tree walk). Peak memory: the scanner's is
 * its fixed struct, gumbo's is measured through its allocator hooks (largest
 * live heap while parsing one document).
 *
 * Usage: bench_htmlscan [--seconds S] DIR|FILE...   (only *.html, *.htm)
 * S is the least total time; whole rounds always run. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "htmlscan.h"

#define CHUNK 16384

struct doc {
    char *p;
    size_t n;
};

static struct doc *docs;
static size_t ndocs, capdocs, total_bytes;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    size_t len = strlen(path);
    if (flag != FTW_F || !((len > 5 && strcmp(path + len - 5, ".html") == 0) ||
                           (len > 4 && strcmp(path + len - 4, ".htm") == 0)))
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    char *p = malloc((size_t)st->st_size + 1);
    size_t n = p ? fread(p, 1, (size_t)st->st_size, f) : 0;
    fclose(f);
    if (p == NULL || n == 0) {
        free(p);
        return 0;
    }
    if (ndocs == capdocs) {
        capdocs = capdocs ? 2 * capdocs : 256;
        struct doc *d = realloc(docs, capdocs * sizeof *d);
        if (d == NULL) {
            fputs("out of memory\n", stderr);
            exit(1);
        }
        docs = d;
    }
    docs[ndocs].p = p;
    docs[ndocs].n = n;
    ndocs++;
    total_bytes += n;
    return 0;
}

/* ---- gumbo allocator accounting ---- */
static size_t live, peak;

static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    size_t *p = malloc(size + sizeof(size_t) * 2);
    if (p == NULL)
        return NULL;
    p[0] = size;
    live += size;
    if (live > peak)
        peak = live;
    return p + 2;
}

static void count_free(void *ud, void *ptr)
{
    (void)ud;
    if (ptr == NULL)
        return;
    size_t *p = (size_t *)ptr - 2;
    live -= p[0];
    free(p);
}

static unsigned long long objects;

static void count_cb(void *ctx, enum htmlscan_ref ref, enum event_object type, const char *url,
                     size_t len)
{
    (void)ctx;
    (void)ref;
    (void)type;
    (void)url;
    (void)len;
    objects++;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--seconds") == 0) {
        seconds = atof(argv[2]);
        i = 3;
    }
    if (i >= argc) {
        fputs("usage: bench_htmlscan [--seconds S] DIR|FILE...\n", stderr);
        return 2;
    }
    for (; i < argc; i++)
        if (nftw(argv[i], load, 32, FTW_PHYS) != 0)
            fprintf(stderr, "bench_htmlscan: %s: %s\n", argv[i], strerror(errno));
    if (ndocs == 0) {
        fputs("bench_htmlscan: no HTML files\n", stderr);
        return 77;
    }

    /* Rounds alternate the two parsers so that load from other processes
     * on the machine hits both alike; each round runs the scanner over the
     * corpus SCAN_PASSES times and gumbo once. */
    enum { SCAN_PASSES = 5 };
    struct htmlscan *s = htmlscan_new(count_cb, NULL);
    if (s == NULL)
        return 1;
    GumboOptions opt = kGumboDefaultOptions;
    opt.allocator = count_alloc;
    opt.deallocator = count_free;
    double scan_t = 0, gumbo_t = 0;
    unsigned rounds = 0;
    size_t gpeak = 0;
    do {
        double t0 = now();
        for (int k = 0; k < SCAN_PASSES; k++) {
            objects = 0;
            for (size_t d = 0; d < ndocs; d++) {
                htmlscan_reset(s);
                for (size_t off = 0; off < docs[d].n; off += CHUNK)
                    htmlscan_feed(s, docs[d].p + off,
                                  docs[d].n - off < CHUNK ? docs[d].n - off : CHUNK);
                htmlscan_finish(s);
            }
        }
        double t1 = now();
        for (size_t d = 0; d < ndocs; d++) {
            peak = live = 0;
            GumboOutput *out = gumbo_parse_with_options(&opt, docs[d].p, docs[d].n);
            gumbo_destroy_output(&opt, out);
            if (peak > gpeak)
                gpeak = peak;
        }
        double t2 = now();
        scan_t += t1 - t0;
        gumbo_t += t2 - t1;
        rounds++;
    } while (scan_t + gumbo_t < seconds);
    htmlscan_free(s);
    double scan_mbs = (double)total_bytes * SCAN_PASSES * rounds / scan_t / 1e6;
    double gumbo_mbs = (double)total_bytes * rounds / gumbo_t / 1e6;
    unsigned passes = SCAN_PASSES * rounds, gpasses = rounds;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("corpus: %zu files, %.1f MB, %llu objects per pass\n", ndocs, total_bytes / 1e6,
           objects);
    printf("htmlscan: %.1f MB/s (%u passes, %u-byte chunks), memory %zu bytes fixed\n", scan_mbs,
           passes, CHUNK, htmlscan_size());
    printf("gumbo:    %.1f MB/s (%u passes, whole documents), peak heap %.1f MB (largest document)\n",
           gumbo_mbs, gpasses, gpeak / 1e6);
    printf("speedup:  %.1fx\n", scan_mbs / gumbo_mbs);
    printf("process max RSS: %ld KiB (corpus in memory included)\n", ru.ru_maxrss);
    return 0;
}
