/* fuzz_credentials.c -- an Authorization header value as the client sent it
 * ("NTLM <base64>", "Negotiate <base64>", "Basic ...", "Digest ...") through
 * credentials_inspect: scheme, base64, NTLMSSP/SPNEGO and the identity copy. */
#include <assert.h>
#include <string.h>

#include "credentials.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = fuzz_dup(data, size);
    struct credentials c;
    memset(&c, 0xa5, sizeof c);
    int rc = credentials_inspect(v, size, &c);
    assert(rc == 0 || rc == -1);
    assert(memchr(c.user, '\0', sizeof c.user) != NULL);
    assert(credentials_sent_name(c.sent) != NULL);
    assert(c.ntlm_type >= 0 && c.ntlm_type <= 3);
    if (size == 0) {
        assert(c.sent == AUTH_SENT_NONE);
    }
    free(v);
    return 0;
}
