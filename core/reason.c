/* reason.c -- SPEC §2a: the reason an integrated logon failed, and its hint.
 *
 * Each rule of the §2a table is one small predicate over what the wire
 * showed; reason_diagnose tries them in the table's order and the first that
 * holds wins, so the order here is the contract. What the wire cannot show
 * (a trust between domains, NTFS rights, the MIC, the password) is never
 * guessed: then the reason is null and the classifier keeps its generic hint.
 * Deviation from SPEC: KRB_AP_ERR_BAD_INTEGRITY (31) also counts as
 * kerberos-wrong-account, because MIT krb5 reports a ticket encrypted with
 * another key that way (docs/DIAGNOSIS.md). */
#include "reason.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"

/* Decoded tokens larger than this are left unknown: a KRB-ERROR or a type-2
 * is a few hundred bytes, and the buffer lives on a c-icap thread's stack. */
#define REASON_TOKEN_MAX 4096

/* RFC 4120 §7.5.9 codes the table names. */
enum {
    KRB_AP_ERR_TKT_EXPIRED = 32,
    KRB_AP_ERR_TKT_NYV = 33,
    KRB_AP_ERR_BAD_INTEGRITY = 31,
    KRB_AP_ERR_SKEW = 37,
    KRB_AP_ERR_MODIFIED = 41,
    KRB_AP_ERR_BADKEYVER = 44,
};

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void hint_set(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hint_set(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static bool same_name(const char *a, const char *b)
{
    return a[0] != '\0' && b[0] != '\0' && strcasecmp(a, b) == 0;
}

/* ---- the server's tokens ------------------------------------------------ */

/* Decode a base64 token into buf; returns its length, or 0 when it is absent,
 * not base64, or too long for buf. */
static size_t decode(const char *token, size_t len, uint8_t *buf, size_t cap)
{
    if (token == NULL || len == 0 || len / 4 * 3 > cap + 3)
        return 0;
    long n = base64_decode(token, len, buf, cap);
    return n > 0 ? (size_t)n : 0;
}

void reason_read_server(const struct challenge_set *set, struct reason_server *out)
{
    uint8_t buf[REASON_TOKEN_MAX];

    memset(out, 0, sizeof *out);
    for (size_t i = 0; set != NULL && i < set->count; i++) {
        const struct challenge *c = &set->items[i];
        size_t n;
        if (c->scheme == SCHEME_NTLM && !out->ntlm_challenge) {
            struct ntlm_info info;
            n = decode(c->token, c->token_len, buf, sizeof buf);
            bool whole = n > 0;
            if (!whole && c->token != NULL && c->token_len / 4 * 3 > sizeof buf + 3)
                n = decode(c->token, 64, buf, sizeof buf);
            memset(&info, 0, sizeof info);
            /* Cut, its fields may point past the bytes read: only the
             * signature and type are judged then. */
            if (n == 0 || (ntlm_inspect(buf, n, &info) != 0 && whole) || info.type != 2)
                continue;
            out->ntlm_challenge = true;
            if (whole && !out->has_type2) {
                out->type2 = info;
                out->has_type2 = true;
            }
        } else if (c->scheme == SCHEME_NEGOTIATE && !out->has_krb) {
            n = decode(c->token, c->token_len, buf, sizeof buf);
            if (n == 0)
                continue;
            out->has_krb = krb_inspect(buf, n, &out->krb) == 0;
            struct spnego_info sp;
            if (!out->has_type2 && spnego_inspect(buf, n, &sp) == 0 && sp.has_ntlm &&
                sp.ntlm.type == 2) {
                out->type2 = sp.ntlm;
                out->has_type2 = true;
            }
        }
    }
}

bool reason_server_refused(const struct reason_server *s)
{
    if (!s->has_krb)
        return false;
    return s->krb.kind == KRB_TOKEN_KRB_ERROR || s->krb.neg_state == KRB_NEG_REJECT ||
           s->krb.neg_state == KRB_NEG_ACCEPT_COMPLETED;
}

/* ---- names of the server ------------------------------------------------ */

/* The server's AV pairs: from the type-2 in this 401 when there is one, else
 * those the client copied into its NTLMv2 blob. NULL when neither. */
static const struct ntlm_av *server_av(const struct reason_input *in, const struct ntlm_av **other)
{
    const struct ntlm_av *t2 = in->server->has_type2 && in->server->type2.has_av ? &in->server->type2.av : NULL;
    const struct credentials *c = in->cred;
    const struct ntlm_av *blob = c->has_ntlm && c->ntlm.type == 3 && c->ntlm.has_av ? &c->ntlm.av : NULL;
    *other = t2 != NULL ? blob : NULL;
    return t2 != NULL ? t2 : blob;
}

/* The server's NetBIOS domain (SPEC §3 server_domain): MsvAvNbDomainName of
 * the type-2 or the blob, else a type-2 TargetName that names a domain. */
static void fill_server_domain(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_av *other, *av = server_av(in, &other);
    const struct reason_server *s = in->server;

    if (av != NULL && av->nb_domain[0] != '\0')
        copy_text(out->server_domain, sizeof out->server_domain, av->nb_domain);
    else if (other != NULL && other->nb_domain[0] != '\0')
        copy_text(out->server_domain, sizeof out->server_domain, other->nb_domain);
    else if (s->has_type2 && (s->type2.flags & NTLM_FLAG_TARGET_TYPE_DOMAIN) && s->type2.target_name[0])
        copy_text(out->server_domain, sizeof out->server_domain, s->type2.target_name);
}

/* True when name is one of the server's domain names (NetBIOS, DNS, tree). */
static bool is_server_domain(const struct ntlm_av *av, const char *name)
{
    return av != NULL && (same_name(av->nb_domain, name) || same_name(av->dns_domain, name) ||
                          same_name(av->dns_tree, name));
}

/* True when name is the server machine itself (its own local accounts). */
static bool is_server_computer(const struct ntlm_av *av, const char *name)
{
    return av != NULL && (same_name(av->nb_computer, name) || same_name(av->dns_computer, name));
}

static bool knows_domain(const struct ntlm_av *av)
{
    return av != NULL && (av->nb_domain[0] || av->dns_domain[0] || av->dns_tree[0]);
}

/* ---- the rules, in SPEC §2a order --------------------------------------- */

static const struct ntlm_info *type3_of(const struct reason_input *in)
{
    const struct credentials *c = in->cred;
    return c->has_ntlm && c->ntlm.type == 3 ? &c->ntlm : NULL;
}

static bool rule_split(const struct reason_input *in, struct reason_result *out)
{
    switch (in->handshake) {
    case HANDSHAKE_SPLIT_CLIENT:
        hint_set(out->hint, sizeof out->hint,
                 "handshake split on the client side: the legs of this NTLM handshake came on "
                 "different client connections (the browser, or something between it and the proxy, "
                 "reconnected); NTLM logs on a connection, so keep it open between browser and proxy "
                 "(client_persistent_connections on, no idle timeout shorter than the handshake)");
        return true;
    case HANDSHAKE_SPLIT_SERVER:
        hint_set(out->hint, sizeof out->hint,
                 "handshake split on the server side: Squid sent the legs of this handshake to %s on "
                 "different server connections; pin them with connection-auth=on (http_port) and "
                 "login=PASSTHRU connection-auth=on on the cache_peer, and give a load balancer in "
                 "front of several servers connection persistence",
                 in->host[0] ? in->host : "the server");
        return true;
    case HANDSHAKE_SPLIT_NO_MATCH:
        hint_set(out->hint, sizeof out->hint,
                 "handshake split: the type-3 answers none of the challenges this client was given for "
                 "%s within the correlation window, so the legs went through different connections or "
                 "servers: the client reconnected, Squid's server connection is not pinned "
                 "(connection-auth=on, login=PASSTHRU) or a load balancer has no persistence",
                 in->host[0] ? in->host : "this host");
        return true;
    case HANDSHAKE_UNKNOWN:
    case HANDSHAKE_MATCHED:
        break;
    }
    return false;
}

static bool rule_anonymous(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    if (t3 == NULL || !(t3->anonymous || (t3->user[0] == '\0' && t3->nt_len == 0)))
        return false;
    hint_set(out->hint, sizeof out->hint,
             "the client sent an anonymous NTLM logon (empty user, empty response): it has no logon "
             "session to offer (not logged on to Windows, or the browser runs without the user's "
             "credentials), and the server does not accept anonymous logons");
    return true;
}

static bool rule_local_account(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    if (t3 == NULL)
        return false;
    bool empty = t3->domain[0] == '\0';
    if (!empty && !same_name(t3->domain, t3->workstation))
        return false;
    if (empty || !in->names_ok)
        hint_set(out->hint, sizeof out->hint,
                 "the client logged on with a local account (%s): the machine is not joined to a "
                 "domain, or the user logged on locally; log on to the domain%s%s, or enter "
                 "DOMAIN\\user when asked",
                 empty ? "no domain in the type-3" : "its domain is its own workstation name",
                 out->server_domain[0] ? " " : "", out->server_domain);
    else
        hint_set(out->hint, sizeof out->hint,
                 "the client logged on with a local account of its workstation %s: the machine is not "
                 "joined to a domain, or the user logged on locally; log on to the domain%s%s, or "
                 "enter DOMAIN\\user when asked",
                 t3->workstation, out->server_domain[0] ? " " : "", out->server_domain);
    return true;
}

/* The server is not in a domain: its type-2 says target type server, or its
 * NetBIOS domain is its own computer name. */
static bool server_standalone(const struct reason_input *in, const char **name)
{
    const struct ntlm_av *other, *av = server_av(in, &other);
    const struct reason_server *s = in->server;

    *name = "";
    if (s->has_type2 && (s->type2.flags & NTLM_FLAG_TARGET_TYPE_SERVER) &&
        !(s->type2.flags & NTLM_FLAG_TARGET_TYPE_DOMAIN)) {
        *name = s->type2.target_name[0] ? s->type2.target_name : (av ? av->nb_computer : "");
        return true;
    }
    for (int k = 0; k < 2; k++) {
        const struct ntlm_av *a = k == 0 ? av : other;
        if (a != NULL && same_name(a->nb_domain, a->nb_computer)) {
            *name = a->nb_computer;
            return true;
        }
    }
    return false;
}

static bool rule_standalone(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    const struct ntlm_av *other, *av = server_av(in, &other);
    const char *server;

    if (t3 == NULL || t3->domain[0] == '\0' || !server_standalone(in, &server))
        return false;
    if (same_name(t3->domain, server) || is_server_computer(av, t3->domain) ||
        is_server_computer(other, t3->domain))
        return false; /* a local account of the server itself: nothing more to see */
    hint_set(out->hint, sizeof out->hint,
             "the server %s is not in a domain (its challenge names a server, not a domain) and the "
             "user logged on with the domain account %s\\...: it fails unless %s has a same-named "
             "local account with the same password; join %s to the domain or log on as %s\\user",
             server[0] ? server : "(unnamed)", t3->domain, server[0] ? server : "the server",
             server[0] ? server : "the server", server[0] ? server : "SERVER");
    return true;
}

static bool rule_foreign(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    const struct ntlm_av *other, *av = server_av(in, &other);

    if (t3 == NULL || t3->domain[0] == '\0' || (!knows_domain(av) && !knows_domain(other)))
        return false;
    if (is_server_domain(av, t3->domain) || is_server_domain(other, t3->domain) ||
        is_server_computer(av, t3->domain) || is_server_computer(other, t3->domain))
        return false;
    /* name the server's domain by its NetBIOS name, with the DNS name beside it */
    const struct ntlm_av *named = knows_domain(av) ? av : other;
    const char *dom = named->nb_domain[0] ? named->nb_domain
                      : named->dns_domain[0] ? named->dns_domain : named->dns_tree;
    bool dns_too = named->nb_domain[0] != '\0' && named->dns_domain[0] != '\0';
    hint_set(out->hint, sizeof out->hint,
             "the user's domain %s is not the server's domain %s%s%s%s: %s must trust %s (check the "
             "trust and that it allows NTLM), or log on with an account of %s",
             t3->domain, dom, dns_too ? " (" : "", dns_too ? named->dns_domain : "", dns_too ? ")" : "",
             dom, t3->domain, dom);
    return true;
}

static bool rule_ntlmv1(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    if (t3 == NULL || t3->nt_len != 24)
        return false;
    hint_set(out->hint, sizeof out->hint,
             "the client answered with NTLMv1 (24-byte NT response): a server or DC with "
             "LmCompatibilityLevel 5 refuses it (for domain accounts the DC's setting decides); set "
             "the client's \"LAN Manager authentication level\" policy to send NTLMv2 only");
    return true;
}

static bool url_is_https(const char *url)
{
    return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

static bool rule_channel_binding(const struct reason_input *in, struct reason_result *out)
{
    const struct ntlm_info *t3 = type3_of(in);
    if (t3 == NULL || !url_is_https(in->url) || !t3->has_av || !t3->av.channel_bindings_nonzero)
        return false;
    hint_set(out->hint, sizeof out->hint,
             "the client bound its logon to the TLS certificate it saw, which is the proxy's "
             "(SslBump), not %s's: an origin with Extended Protection rejects it; exempt %s from "
             "bumping (ssl_bump splice) or lower the site's tokenChecking (IIS Extended Protection)",
             in->host[0] ? in->host : "the origin", in->host[0] ? in->host : "the host");
    return true;
}

/* The KRB-ERROR of the 401, or NULL. */
static const struct krb_error *krb_error_of(const struct reason_input *in)
{
    const struct reason_server *s = in->server;
    return s->has_krb && s->krb.kind == KRB_TOKEN_KRB_ERROR ? &s->krb.error : NULL;
}

static const char *spn_or(const struct reason_result *out, const char *dflt)
{
    return out->spn[0] ? out->spn : dflt;
}

/* Kerberos rules: the 401 holds a KRB-ERROR. */
static bool rule_kerberos(const struct reason_input *in, struct reason_result *out)
{
    const struct krb_error *e = krb_error_of(in);
    char want[KRB_NAME_MAX + 64] = "";
    char spnq[EVENT_SHORT_MAX + 16];

    if (e == NULL)
        return false;
    const struct credentials *c = in->cred;
    const char *tsname = c->has_krb && c->krb.kind == KRB_TOKEN_AP_REQ ? c->krb.ticket.sname : "";
    if (e->sname[0] != '\0' && strcasecmp(e->sname, tsname) != 0)
        snprintf(want, sizeof want, " (the server answered as %s)", e->sname);
    /* the SPN to look up: the ticket's, else HTTP/<url host> */
    if (tsname[0] != '\0')
        snprintf(spnq, sizeof spnq, "%s", tsname);
    else
        snprintf(spnq, sizeof spnq, "HTTP/%s", in->host[0] ? in->host : "host");

    switch (e->error_code) {
    case KRB_AP_ERR_MODIFIED:
    case KRB_AP_ERR_BADKEYVER:
    case KRB_AP_ERR_BAD_INTEGRITY:
        out->reason = REASON_KERBEROS_WRONG_ACCOUNT;
        hint_set(out->hint, sizeof out->hint,
                 "the server could not decrypt the ticket for %s%s: the KDC encrypted it for another "
                 "account than the one serving the site (a duplicate SPN, the SPN on the wrong account, "
                 "an app-pool identity, or a stale keytab/kvno); `setspn -Q %s` lists its accounts",
                 spn_or(out, spnq), want, spnq);
        return true;
    case KRB_AP_ERR_SKEW:
        out->reason = REASON_CLOCK_SKEW;
        hint_set(out->hint, sizeof out->hint,
                 "client and server clocks differ by more than the allowed skew (5 minutes by default): "
                 "fix time synchronisation (NTP / w32time) on both");
        return true;
    case KRB_AP_ERR_TKT_EXPIRED:
    case KRB_AP_ERR_TKT_NYV:
        out->reason = REASON_TICKET_EXPIRED;
        hint_set(out->hint, sizeof out->hint,
                 "the ticket for %s is outside its lifetime (%s): the client should get a new one "
                 "(klist purge, log on again); check both clocks",
                 spn_or(out, spnq), out->krb_error[0] ? out->krb_error : "expired or not yet valid");
        return true;
    default:
        out->reason = REASON_KERBEROS_ERROR;
        if (out->krb_error[0])
            hint_set(out->hint, sizeof out->hint,
                     "the server refused the Kerberos ticket for %s%s with %s (code %d)",
                     spn_or(out, spnq), want, out->krb_error, (int)e->error_code);
        else
            hint_set(out->hint, sizeof out->hint,
                     "the server refused the Kerberos ticket for %s%s with KRB-ERROR code %d",
                     spn_or(out, spnq), want, (int)e->error_code);
        return true;
    }
}

static bool rule_fallback(const struct reason_input *in, struct reason_result *out)
{
    if (in->cred->sent != AUTH_SENT_NEGOTIATE_NTLM)
        return false;
    const char *h = in->host[0] ? in->host : "host";
    hint_set(out->hint, sizeof out->hint,
             "the client could get no Kerberos ticket for HTTP/%s and fell back to NTLM inside "
             "Negotiate: the SPN is missing (`setspn -Q HTTP/%s` finds no account; register it with "
             "setspn -S), the KDC is unreachable, or the client is not in the domain",
             h, h);
    return true;
}

/* Host part of a service principal "HTTP/host[:port]" into out; false when
 * it has no second component. */
static bool sname_host(const char *sname, char *out, size_t cap)
{
    const char *slash = strchr(sname, '/');
    if (slash == NULL || slash[1] == '\0')
        return false;
    size_t n = strcspn(slash + 1, "/:@");
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, slash + 1, n);
    if (out[n - 1] == '.' && n > 1) /* an absolute name "host." is the same host */
        n--;
    out[n] = '\0';
    return true;
}

static bool rule_spn_host(const struct reason_input *in, struct reason_result *out)
{
    const struct credentials *c = in->cred;
    char h[KRB_NAME_MAX];

    if (!c->has_krb || c->krb.kind != KRB_TOKEN_AP_REQ || in->host[0] == '\0' ||
        !sname_host(c->krb.ticket.sname, h, sizeof h) || strcasecmp(h, in->host) == 0)
        return false;
    hint_set(out->hint, sizeof out->hint,
             "the ticket is for %s but the URL's host is %s: browsers build the SPN from the canonical "
             "name (a CNAME is followed), so the alias %s needs its own SPN (`setspn -Q HTTP/%s`, "
             "setspn -S) on the account serving the site, or an A record instead of the CNAME",
             c->krb.ticket.sname, in->host, in->host, in->host);
    return true;
}

/* ---- diagnose ----------------------------------------------------------- */

/* Fields filled whatever the reason: server_domain, spn, krb_error. */
static void fill_fields(const struct reason_input *in, struct reason_result *out)
{
    const struct credentials *c = in->cred;
    const struct krb_error *e = krb_error_of(in);

    fill_server_domain(in, out);
    if (c->has_krb && c->krb.kind == KRB_TOKEN_AP_REQ && c->krb.ticket.sname[0] != '\0') {
        /* "sname@realm"; a name too long for the field is cut (names only, never parsed again) */
        int w = snprintf(out->spn, sizeof out->spn, "%s%s%s", c->krb.ticket.sname,
                         c->krb.ticket.realm[0] ? "@" : "", c->krb.ticket.realm);
        if (w < 0)
            out->spn[0] = '\0';
    }
    if (e != NULL)
        copy_text(out->krb_error, sizeof out->krb_error, krb_error_name(e->error_code));
}

void reason_diagnose(const struct reason_input *in, struct reason_result *out)
{
    static const struct {
        enum event_reason reason; /* REASON_NONE: the rule sets it (Kerberos) */
        bool (*applies)(const struct reason_input *, struct reason_result *);
    } rules[] = {
        {REASON_HANDSHAKE_SPLIT, rule_split},
        {REASON_ANONYMOUS_NTLM, rule_anonymous},
        {REASON_LOCAL_ACCOUNT, rule_local_account},
        {REASON_STANDALONE_SERVER, rule_standalone},
        {REASON_FOREIGN_DOMAIN, rule_foreign},
        {REASON_NTLMV1, rule_ntlmv1},
        {REASON_CHANNEL_BINDING, rule_channel_binding},
        {REASON_NONE, rule_kerberos}, /* wrong-account, clock-skew, ticket-expired, kerberos-error */
        {REASON_KERBEROS_FALLBACK, rule_fallback},
        {REASON_SPN_HOST_MISMATCH, rule_spn_host},
    };

    memset(out, 0, sizeof *out);
    fill_fields(in, out);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (rules[i].applies(in, out)) {
            if (rules[i].reason != REASON_NONE)
                out->reason = rules[i].reason;
            return;
        }
        out->hint[0] = '\0';
    }
}

void reason_diagnose_handshake(const struct reason_input *in, struct reason_result *out)
{
    memset(out, 0, sizeof *out);
    fill_fields(in, out);
    if (in->handshake == HANDSHAKE_SPLIT_CLIENT || in->handshake == HANDSHAKE_SPLIT_SERVER) {
        if (rule_split(in, out))
            out->reason = REASON_HANDSHAKE_SPLIT;
    }
}
