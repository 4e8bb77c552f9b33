/* sharedmem.h -- memory and locks shared by all c-icap child processes, for
 * the correlation store and the event-line ring: one place for the memfd
 * mapping and the robust process-shared mutex both need. */
#ifndef PROMPTCAUSE_SHAREDMEM_H
#define PROMPTCAUSE_SHAREDMEM_H

#include <pthread.h>
#include <stddef.h>

/* A zero-filled shared mapping of bytes, inherited by children forked after
 * it. A memfd rather than MAP_ANONYMOUS: the same memory, but named `name`
 * in /proc/PID/maps, so its size can be checked on a live server. Returns the
 * mapping (free with munmap), or NULL with a message in err. */
void *sharedmem_map(const char *name, size_t bytes, char *err, size_t errlen);

/* Initialise a process-shared robust mutex inside a shared mapping.
 * Returns 0, or -1. */
int sharedmem_mutex_init(pthread_mutex_t *m);

/* Take a robust mutex. A holder that died leaves it EOWNERDEAD: we mark it
 * consistent and go on (the callers' data stay usable after a torn update).
 * Returns 0, or -1 when the mutex is broken. */
int sharedmem_lock(pthread_mutex_t *m);

/* Try a robust mutex, as sharedmem_lock. Returns 0 taken, 1 busy, -1 broken. */
int sharedmem_trylock(pthread_mutex_t *m);

#endif
