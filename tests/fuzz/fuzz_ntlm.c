/* fuzz_ntlm.c -- the NTLMSSP and SPNEGO decoders on raw bytes. The first byte
 * picks the decoder (so one corpus serves both); the rest is the message, in
 * an exact-size heap buffer so that any read past it is caught. */
#include <assert.h>
#include <string.h>

#include "fuzz_util.h"
#include "ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_names(const struct ntlm_info *info)
{
    assert(memchr(info->domain, '\0', sizeof info->domain) != NULL);
    assert(memchr(info->user, '\0', sizeof info->user) != NULL);
    assert(memchr(info->workstation, '\0', sizeof info->workstation) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t which = data[0];
    uint8_t *msg = (uint8_t *)fuzz_dup(data + 1, size - 1);

    if (which & 1) {
        struct spnego_info si;
        memset(&si, 0xa5, sizeof si);
        int rc = spnego_inspect(msg, size - 1, &si);
        assert(rc == 0 || si.mech == SPNEGO_UNKNOWN);
        if (rc == 0 && si.has_ntlm) {
            assert(si.ntlm.type >= 1 && si.ntlm.type <= 3);
            check_names(&si.ntlm);
        }
    } else {
        struct ntlm_info ni;
        memset(&ni, 0xa5, sizeof ni);
        int rc = ntlm_inspect(msg, size - 1, &ni);
        if (rc == 0) {
            assert(ni.type >= 1 && ni.type <= 3);
            if (ni.type == 3) {
                check_names(&ni);
            }
        }
    }
    free(msg);
    return 0;
}
