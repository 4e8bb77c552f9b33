/* srv_null.c -- a do-nothing c-icap RESPMOD service, the benchmarks' floor.
 *
 * It advertises the same OPTIONS as promptcause (preview 64512 bytes,
 * Transfer-Preview "*", 204 allowed, X-Include of the client address and
 * user) and answers 204 in preview to every
 * transaction without looking at it. Whatever a real service costs beyond
 * this is its own work; what this costs is c-icap's and the transport's.
 * Built only by `make bench` / `make bench-squid` (mk/bench.am), never
 * installed. */
#include <c_icap/c-icap.h>
#include <c_icap/request.h>
#include <c_icap/service.h>
#include <c_icap/simple_api.h>

/* Same value and reason as module/srv_promptcause.c's PREVIEW_BYTES. */
#define NULL_PREVIEW_BYTES 64512

static int null_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf);
static void *null_init_request_data(ci_request_t *req);
static void null_release_request_data(void *data);
static int null_check_preview(char *data, int len, ci_request_t *req);
static int null_end_of_data(ci_request_t *req);
static int null_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req);

CI_DECLARE_MOD_DATA ci_service_module_t service = {
    "null",
    "Does nothing: 204 at preview for every response (benchmark floor)",
    ICAP_RESPMOD,
    null_init_service,
    NULL,
    NULL,
    null_init_request_data,
    null_release_request_data,
    null_check_preview,
    null_end_of_data,
    null_io,
    NULL,
    NULL,
};

/* OPTIONS capabilities, the same as promptcause's. */
static int null_init_service(ci_service_xdata_t *xd, struct ci_server_conf *conf)
{
    (void)conf;
    ci_service_set_preview(xd, NULL_PREVIEW_BYTES);
    ci_service_enable_204(xd);
    ci_service_set_transfer_preview(xd, "*");
    ci_service_set_xopts(xd, CI_XCLIENTIP | CI_XAUTHENTICATEDUSER);
    return CI_OK;
}

/* No per-request state. */
static void *null_init_request_data(ci_request_t *req)
{
    (void)req;
    return NULL;
}

static void null_release_request_data(void *data)
{
    (void)data;
}

/* The whole service: 204 at preview. */
static int null_check_preview(char *data, int len, ci_request_t *req)
{
    (void)data;
    (void)len;
    (void)req;
    return CI_MOD_ALLOW204;
}

static int null_end_of_data(ci_request_t *req)
{
    (void)req;
    return CI_MOD_DONE;
}

/* Never reached after a 204 at preview; refuse rather than echo, so a
 * transaction that somehow gets here shows up as an error in the bench. */
static int null_io(char *wbuf, int *wlen, char *rbuf, int *rlen, int iseof, ci_request_t *req)
{
    (void)wbuf;
    (void)wlen;
    (void)rbuf;
    (void)rlen;
    (void)iseof;
    (void)req;
    return CI_ERROR;
}
