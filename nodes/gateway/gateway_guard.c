/* gateway_guard.c: the checks and refusals of gateway_guard.h. */
#include "gateway_guard.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "gateway_reply.h"

#define RETRY_AFTER_TEXT 24 /* digits of a Retry-After value */

static enum MHD_Result unauthenticated(struct MHD_Connection *conn, const char *message)
{
    gateway_reply_header_t h = {"WWW-Authenticate", "Bearer"};
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_UNAUTHORIZED, "unauthenticated", NULL, "%s", message);
    return gateway_reply_error(conn, &err, &h, 1);
}

enum MHD_Result gateway_guard_refuse_revoked(struct MHD_Connection *conn)
{
    assert(conn);
    return unauthenticated(conn, "this API key was revoked while the request was under way");
}

bool gateway_guard_recheck(gateway_auth_t *auth, store_t *store, struct MHD_Connection *conn,
                           gateway_auth_caller_t *caller, enum MHD_Result *answered)
{
    assert(auth && store && conn && caller && answered);
    if (gateway_auth_caller_live(auth, store, caller))
        return true;
    *answered = gateway_guard_refuse_revoked(conn);
    return false;
}

static enum MHD_Result rate_limited(struct MHD_Connection *conn, uint64_t retry_s, const char *who)
{
    char value[RETRY_AFTER_TEXT];
    snprintf(value, sizeof value, "%" PRIu64, retry_s);
    gateway_reply_header_t h = {"Retry-After", value};
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", NULL,
                         "too many %s: retry after %s s", who, value);
    return gateway_reply_error(conn, &err, &h, 1);
}

static const struct sockaddr *client_address(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/* The caller of a ?token= stream token, redeemed now; it takes a rate token as any request. */
static bool redeem_token(gateway_auth_t *auth, struct MHD_Connection *conn, const char *token,
                         gateway_auth_caller_t *caller, enum MHD_Result *answered)
{
    uint64_t retry_s = 0;
    if (gateway_auth_stream_token_redeem(auth, token, strlen(token), caller)) {
        if (gateway_auth_take_rate(auth, caller, &retry_s))
            return true;
        *answered = rate_limited(conn, retry_s, "requests from this principal");
        return false;
    }
    gateway_authfail_note(gateway_auth_failures(auth), client_address(conn));
    *answered = unauthenticated(conn, "the stream token is unknown, used or expired: "
                                      "POST /api/stream-tokens for a new one");
    return false;
}

bool gateway_guard_check(gateway_auth_t *auth, store_t *store, struct MHD_Connection *conn,
                         uint32_t scope, bool token_ok, gateway_auth_caller_t *caller_out,
                         enum MHD_Result *answered)
{
    assert(auth && store && conn && caller_out && answered);
    const char *header =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token =
        token_ok ? MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token") : NULL;
    uint64_t retry_s = 0;
    /* Before any key is looked at: a throttled address learns nothing of the key it sent. */
    if (!gateway_authfail_allowed(gateway_auth_failures(auth), client_address(conn), &retry_s)) {
        *answered = rate_limited(conn, retry_s, "failed authentications from this address");
        return false;
    }
    if (!header && token)
        return redeem_token(auth, conn, token, caller_out, answered);
    switch (gateway_auth_check(auth, store, header, scope, caller_out, &retry_s)) {
    case GATEWAY_AUTH_OK:
        return true;
    case GATEWAY_AUTH_UNAUTHENTICATED:
        gateway_authfail_note(gateway_auth_failures(auth), client_address(conn));
        *answered = unauthenticated(conn, "send a valid API key: Authorization: Bearer lk_...");
        return false;
    case GATEWAY_AUTH_FORBIDDEN:
        *answered = gateway_reply_errorf(conn, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                         "this key's principal lacks the scope %s",
                                         gateway_scope_name(scope));
        return false;
    case GATEWAY_AUTH_RATE_LIMITED:
        *answered = rate_limited(conn, retry_s, "requests from this principal");
        return false;
    case GATEWAY_AUTH_UNAVAILABLE:
        break;
    }
    *answered = gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
                                     NULL, "the gateway could not read its key records");
    return false;
}

enum MHD_Result gateway_guard_refuse_faulted(struct MHD_Connection *conn)
{
    assert(conn);
    gateway_reply_header_t retry = {MHD_HTTP_HEADER_RETRY_AFTER, GATEWAY_GUARD_FAULT_RETRY_S};
    gateway_request_error_t err;
    gateway_request_fail(&err, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable", NULL,
                         "the gateway's storage is faulted: it takes no writes until an operator "
                         "restores it; reads still work");
    return gateway_reply_error(conn, &err, &retry, 1);
}

enum MHD_Result gateway_guard_issue_stream_token(gateway_auth_t *auth, store_t *store,
                                                 struct MHD_Connection *conn,
                                                 gateway_auth_caller_t *caller)
{
    assert(auth && store && conn && caller);
    char token[GATEWAY_AUTH_STREAM_TOKEN_LEN + 1];
    uint64_t expires_ms;
    gateway_auth_result_t res =
        gateway_auth_stream_token_issue(auth, store, caller, token, &expires_ms);
    if (res == GATEWAY_AUTH_UNAUTHENTICATED)
        return gateway_guard_refuse_revoked(conn);
    if (res != GATEWAY_AUTH_OK)
        return gateway_reply_errorf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "overloaded", NULL,
                                    "too many stream tokens are out: retry in a minute");
    char at[CLOCK_UTC_TEXT_SIZE];
    clock_format_utc(clock_wall_ms() + GATEWAY_AUTH_STREAM_TOKEN_TTL_MS, at);
    return gateway_reply_json(conn, MHD_HTTP_CREATED,
                              json_pack("{s:s,s:s}", "token", token, "expires_at", at), NULL, 0);
}
