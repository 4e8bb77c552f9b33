/* fuzz_ntlm.c -- the NTLMSSP and SPNEGO decoders on raw bytes. The first byte
 * picks the decoder (so one corpus serves both); the rest is the message, in
 * an exact-size heap buffer so that any read past it is caught. Seeds include
 * real gss-ntlmssp and impacket handshakes (corpus/ntlm/real-*, from
 * tests/data/ntlm/make_tokens.py). */
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

/* The type-2 / blob fields: every name terminated, an AV list only where
 * the message type has one, a blob only in a type-3 with an NTLMv2-sized
 * NT response, anonymous only with an empty NT response. */
static void check_fields(const struct ntlm_info *info, size_t n)
{
    const struct ntlm_av *av = &info->av;

    assert(memchr(info->target_name, '\0', sizeof info->target_name) != NULL);
    assert(memchr(av->nb_computer, '\0', sizeof av->nb_computer) != NULL);
    assert(memchr(av->nb_domain, '\0', sizeof av->nb_domain) != NULL);
    assert(memchr(av->dns_computer, '\0', sizeof av->dns_computer) != NULL);
    assert(memchr(av->dns_domain, '\0', sizeof av->dns_domain) != NULL);
    assert(memchr(av->dns_tree, '\0', sizeof av->dns_tree) != NULL);
    assert(memchr(av->target_name, '\0', sizeof av->target_name) != NULL);
    assert(!av->channel_bindings_nonzero || av->has_channel_bindings);
    assert(info->type != 1 || !info->has_av);
    assert(!info->has_blob || (info->type == 3 && info->nt_len >= 44));
    assert(!info->anonymous || info->nt_len == 0);
    assert(info->nt_len <= n && info->lm_len <= n);
    if (info->type == 3)
        check_names(info);
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
            check_fields(&si.ntlm, size - 1);
        }
    } else {
        struct ntlm_info ni;
        memset(&ni, 0xa5, sizeof ni);
        int rc = ntlm_inspect(msg, size - 1, &ni);
        if (rc == 0) {
            assert(ni.type >= 1 && ni.type <= 3);
            check_fields(&ni, size - 1);
        } else {
            /* only the type survives a failure */
            assert(ni.user[0] == '\0' && ni.target_name[0] == '\0' && !ni.has_av && !ni.has_blob);
        }
    }
    free(msg);
    return 0;
}
