/*  ledger_err.h: the project's error codes.

    Every function in this project that can fail returns a ledger_err_t and
    fills its out-parameters only on LEDGER_OK. The codes are a small, named,
    stable set: ledger_err_name() gives the stable snake_case name that reaches
    peers (nack reasons) and people (logs, HTTP error codes); it never returns
    NULL. Functions never print and never exit: only main decides that.
*/
#ifndef LEDGER_ERR_H
#define LEDGER_ERR_H

typedef enum {
    LEDGER_OK = 0,
    LEDGER_E_INVALID,      /* bad input: a value out of range, a malformed string */
    LEDGER_E_OVERFLOW,     /* arithmetic on money would overflow int64 */
    LEDGER_E_TOO_LARGE,    /* input larger than a documented limit */
    LEDGER_E_DECODE,       /* bytes are not a valid message of the wire protocol */
    LEDGER_E_VERSION,      /* message of an unknown protocol version */
    LEDGER_E_UNKNOWN_TYPE, /* message of an unknown type */
    LEDGER_E_NOT_FOUND,    /* no such key / entry */
    LEDGER_E_EXISTS,       /* key already present where it must not be */
    LEDGER_E_MAP_FULL,     /* LMDB map is full even after growing to the limit */
    LEDGER_E_STORE,        /* any other storage error (I/O, corruption, LMDB error) */
    LEDGER_E_CORRUPT,      /* integrity check failed (ledger hash chain, bad record) */
    LEDGER_E_NOMEM,        /* allocation failed */
    LEDGER_E_IO,           /* socket / file error */
    LEDGER_E_TIMEOUT,      /* a peer did not answer in time */
    LEDGER_E__COUNT
} ledger_err_t;

/* Stable snake_case name of an error code ("invalid", "map_full", ...). */
const char *ledger_err_name(ledger_err_t err);

#endif
