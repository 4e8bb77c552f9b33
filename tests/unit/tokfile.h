/* tokfile.h -- load the captured protocol tokens of tests/data/ (made by real
 * implementations, see tests/data/{ntlm,krb}/README.md) for the unit tests. */
#ifndef PROMPTCAUSE_TOKFILE_H
#define PROMPTCAUSE_TOKFILE_H

#include <stddef.h>
#include <stdint.h>

/* Load tests/data/<rel> below $PC_TOP_SRCDIR (set by make check; else the
 * source dir compiled in, else "."): a .b64 file is base64-decoded, anything
 * else read raw. Returns a malloc'd block of exactly *n bytes (so ASan sees
 * any read past it); fails the running cmocka test when the file is missing
 * or does not decode. */
uint8_t *tokfile_load(const char *rel, size_t *n);

#endif
