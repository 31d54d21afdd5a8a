/*  accounts_kinds.h: the kinds of the accounts node's ledger entries (what each does to a
    balance: the table in accounts_book.h). A header of its own so that the balance cache's
    start-up replay (accounts_cache.c) can name them without the book, which uses the cache. */
#ifndef LEDGER_ACCOUNTS_KINDS_H
#define LEDGER_ACCOUNTS_KINDS_H

#define ACCOUNTS_KIND_HOLD "hold"
#define ACCOUNTS_KIND_RELEASE "release"
#define ACCOUNTS_KIND_DEBIT "debit"
#define ACCOUNTS_KIND_CREDIT "credit"
#define ACCOUNTS_KIND_OPEN "open"
#define ACCOUNTS_KIND_CAPTURE "capture"
#define ACCOUNTS_KIND_VOID "void"
#define ACCOUNTS_KIND_EXPIRE "expire"
#define ACCOUNTS_KIND_STATUS "status"       /* an audit entry: the status changed */
#define ACCOUNTS_KIND_OVERDRAFT "overdraft" /* an audit entry: the overdraft limit changed */

#endif
