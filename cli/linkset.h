/* linkset.h -- resolve, filter, de-duplicate and print the URLs a scanner
 * reports, as `promptcause links` prints them ("TYPE URL" lines).
 *
 * Kept apart from the scanner front end so the libgumbo oracle
 * (tests/oracle/gumbo_links.c) prints through exactly the same code: the
 * differential test then compares extraction only. */
#ifndef PROMPTCAUSE_LINKSET_H
#define PROMPTCAUSE_LINKSET_H

#include <stddef.h>
#include <stdio.h>

#include "event.h"

struct linkset;

/* doc_base: the document's URL (--base), absolute, or NULL when unknown.
 * Lines go to out. Returns NULL when out of memory or when doc_base is not
 * an absolute URL. */
struct linkset *linkset_new(const char *doc_base, size_t n, FILE *out);

/* The page's first <base href>: later URLs resolve against it (after it is
 * itself resolved against the document URL). A relative href without a
 * document URL is ignored. Returns 0, or -1 when out of memory. */
int linkset_base(struct linkset *ls, const char *href, size_t n);

/* One embedded object: resolved against the current base, kept when it is
 * http(s) (or relative with no base to resolve it), printed the first time
 * its (type, URL) pair is seen. Returns 0, or -1 when out of memory. */
int linkset_add(struct linkset *ls, enum event_object type, const char *url, size_t n);

/* Print prefix and a tab before every line (the document's path when
 * several are scanned); NULL for none. prefix must outlive ls. */
void linkset_prefix(struct linkset *ls, const char *prefix);

/* Number of lines printed so far. */
size_t linkset_count(const struct linkset *ls);

void linkset_free(struct linkset *ls);

#endif
