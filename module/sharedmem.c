/* sharedmem.c -- shared mappings and robust process-shared mutexes (see
 * sharedmem.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sharedmem.h"

void *sharedmem_map(const char *name, size_t bytes, char *err, size_t errlen)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) {
        snprintf(err, errlen, "cannot make %zu bytes of shared memory: %s", bytes, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd); /* the mapping keeps the memory */
    if (mem == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %zu bytes of shared memory: %s", bytes, strerror(map_errno));
        return NULL;
    }
    return mem;
}

int sharedmem_mutex_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return -1;
    int rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
                     pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 || pthread_mutex_init(m, &attr) != 0
                 ? -1
                 : 0;
    pthread_mutexattr_destroy(&attr);
    return rc;
}

int sharedmem_lock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        rc = 0;
    }
    return rc == 0 ? 0 : -1;
}

int sharedmem_trylock(pthread_mutex_t *m)
{
    int rc = pthread_mutex_trylock(m);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(m);
        rc = 0;
    }
    return rc == 0 ? 0 : rc == EBUSY ? 1 : -1;
}
