/* fuzz_promtext.c -- the Prometheus text writer and the parsers behind the
 * metrics of `watch --metrics`: any bytes as a label value must come out
 * escaped (no raw newline or quote, backslashes paired) and valid UTF-8,
 * and read back to the input with bad bytes as U+FFFD; /proc stat lines and
 * /proc/stat text of any shape parse or fail without reading past their
 * length; hosts of any bytes keep the host set within N + 1 series. */
#include <assert.h>
#include <string.h>

#include "fuzz_util.h"
#include "hostset.h"
#include "promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Length of a valid UTF-8 sequence at p (independent of promtext.c's). */
static size_t u8len(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t l = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (l == 0 || l > n || p[0] > 0xf4 || p[0] == 0xc0 || p[0] == 0xc1)
        return 0;
    unsigned cp = p[0] & (0x7f >> l);
    for (size_t i = 1; i < l; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[l] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return l;
}

static void check_label(const uint8_t *v, size_t n)
{
    char *in = fuzz_dup(v, n);
    struct promtext t;
    promtext_init(&t);
    promtext_label_value(&t, in, n);
    assert(!t.failed);
    const unsigned char *o = (const unsigned char *)t.buf;
    size_t on = t.len, i = 0, j = 0; /* i: output, j: input */
    while (i < on) {
        assert(o[i] != '\n' && o[i] != '"');
        if (o[i] == '\\') {
            assert(i + 1 < on);
            char want = o[i + 1] == 'n' ? '\n' : (char)o[i + 1];
            assert(o[i + 1] == 'n' || o[i + 1] == '\\' || o[i + 1] == '"');
            assert(j < n && in[j] == want);
            i += 2;
            j++;
            continue;
        }
        size_t l = u8len(o + i, on - i);
        assert(l > 0); /* output is valid UTF-8 */
        if (l == 3 && memcmp(o + i, "\xef\xbf\xbd", 3) == 0 &&
            !(j + 3 <= n && memcmp(in + j, "\xef\xbf\xbd", 3) == 0)) {
            j++; /* one bad input byte */
        } else {
            assert(j + l <= n && memcmp(o + i, in + j, l) == 0);
            j += l;
        }
        i += l;
    }
    assert(j == n);
    promtext_free(&t);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_label(data, size);

    char *line = fuzz_dup(data, size);
    struct promtext_procstat ps;
    (void)promtext_parse_procstat(line, size, &ps);
    unsigned long long btime;
    (void)promtext_parse_btime(line, size, &btime);
    free(line);

    /* Hosts: newline-separated fields into a set of 3. */
    struct hostset *h = hostset_new(3);
    assert(h != NULL);
    struct fuzz_in in = {data, size};
    const uint8_t *f;
    size_t len, count = 0;
    while ((f = fuzz_field(&in, '\n', &len)) != NULL) {
        char *host = fuzz_dup(f, len);
        hostset_add(h, host, len);
        free(host);
        count++;
    }
    assert(hostset_total(h) == count);
    assert(hostset_exported(h) <= 3);
    assert(hostset_other(h) <= count);
    hostset_free(h);
    return 0;
}
