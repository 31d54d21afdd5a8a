/*  gateway_statement.h: an account's history as of a time, over account.query
    (issue 21): GET /api/accounts/{id}/balance?at= and
    GET /api/accounts/{id}/statement?from=&to=&format=json|csv.

    What it does: turns the query values into the accounts node's query
    (op balance_at, op statement) or a 400; pages through op statement
    (PROTO_PAGE_MAX entries a page, the cursor the seq of the last entry)
    until the interval is read, and answers the statement in JSON or CSV;
    answers a balance_at reply. The accounts node reads each page in one
    read transaction; its ledger is append-only and `to` is clamped to now
    at the first page, so the pages concatenate into one statement that
    later entries cannot change.

    Shapes:
      balance   {"account","currency","at","balance","held","available"}
      statement {"account","currency","from","to","opening_balance",
                 "closing_balance","entries":[{"seq","at","kind","transfer",
                 "amount","balance_after","held_after","memo"}]}
      csv       a header row (seq,at,kind,transfer,amount,balance_after,
                held_after,memo), one row per entry, RFC 4180: CRLF line
                ends, a field holding , " CR or LF quoted with its quotes
                doubled; Content-Disposition: attachment;
                filename="statement-<id>-<from>-<to>.csv" (times as
                YYYYMMDDTHHMMSSZ). The opening and closing balances are in
                the response headers X-Opening-Balance / X-Closing-Balance.
    closing_balance is the balance after the last entry (the opening
    balance when there is none): opening + the sum of the amounts.

    Errors (answered): 400 invalid_query (at, from, to, format; from not
    before to after the clamp), 400 missing_query (at, from), 422
    statement_too_large (more than GATEWAY_STATEMENT_MAX_ENTRIES entries:
    narrow the interval); the query's own (404, 502, 503) are answered by
    gateway_account_api_statement_next.

    What it owns: a statement's state while it pages (gateway_statement_t,
    malloc'd by gateway_statement_build, freed by gateway_statement_free).
    Threads: MHD worker threads (the connection's handler).
*/
#ifndef LEDGER_GATEWAY_STATEMENT_H
#define LEDGER_GATEWAY_STATEMENT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define GATEWAY_STATEMENT_MAX_ENTRIES 5000 /* entries of one statement at most */

typedef struct gateway_statement_t gateway_statement_t;

/*  GET .../balance: the balance_at query of `account` into q: true; else
    answered (400) with MHD's verdict in *answered. */
bool gateway_statement_build_balance(struct MHD_Connection *conn, const char *account,
                                     proto_query_t *q, enum MHD_Result *answered);

/* Answers a 200 balance_at reply (the `at` of the request, checked when the query was built). */
enum MHD_Result gateway_statement_answer_balance(struct MHD_Connection *conn,
                                                 const proto_account_reply_t *rep);

/*  GET .../statement: the first statement query of `account` into q and the
    state into *out (malloc'd): true. Else answered (400, 503 on no memory). */
bool gateway_statement_build(struct MHD_Connection *conn, const char *account, uint64_t now_ms,
                             proto_query_t *q, gateway_statement_t **out,
                             enum MHD_Result *answered);

/*  After a page came back 200 with its account (gateway_account_api_statement_next
    answers anything else): true with the next page's query in q; false when
    answered (the whole statement, 422 statement_too_large, 502 on a cursor
    that is not the page's last seq). */
bool gateway_statement_next(struct MHD_Connection *conn, gateway_statement_t *st,
                            const proto_account_reply_t *rep, proto_query_t *q,
                            enum MHD_Result *answered);

/*  Appends text as one RFC 4180 CSV field to out[*len..cap) (quoted when it
    holds , " CR or LF, its quotes doubled): false if it does not fit. Pure. */
bool gateway_statement_csv_field(char *out, size_t cap, size_t *len, const char *text);

/* Frees a statement's state; sets *st_p to NULL. Safe on NULL. */
void gateway_statement_free(gateway_statement_t **st_p);

#endif
