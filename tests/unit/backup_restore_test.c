/*  backup_restore_test.c: ledger-backup's restore (tools/backup,
    backup_restore.c): the message seq is raised past each peer's highest
    seen id of the node OR its floor for it (ids pruned by time leave a
    floor and no highest), every peer must be given, and the data directory
    gets a data.mdb only when it is raised (nothing is left behind).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <string.h>

#include "backup_file.h"
#include "backup_manifest.h"
#include "backup_restore.h"
#include "test_main.h"
#include "test_store.h"

#define NODE "accounts"
#define BACKUP_SEQ 5 /* the backup's msg seq */
#define WHY_BYTES 512

typedef struct {
    char root[TEST_DIR_BYTES];
    char from[128], data[128], gateway[128], fraud[128];
} fx_t;

static ledger_err_t set_seq(store_txn_t *txn, void *ctx)
{
    return store_seq_raise(txn, "msg", *(uint64_t *)ctx, NULL);
}

/* A backup of NODE in fx->from: a store whose msg seq is BACKUP_SEQ, and its manifest. */
static void make_backup(fx_t *fx)
{
    store_t *store = NULL;
    uint64_t seq = BACKUP_SEQ;
    assert_int_equal(mkdir(fx->from, 0700), 0);
    assert_int_equal(store_open(fx->from, NULL, &store), LEDGER_OK);
    assert_int_equal(store_write(store, set_seq, &seq), LEDGER_OK);
    store_destroy(&store);
    char path[256], why[WHY_BYTES] = "";
    snprintf(path, sizeof path, "%s/lock.mdb", fx->from);
    unlink(path);
    backup_manifest_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.node, sizeof m.node, "%s", NODE);
    m.msg_seq = BACKUP_SEQ;
    snprintf(path, sizeof path, "%s/data.mdb", fx->from);
    assert_int_equal(backup_file_sha256(path, m.sha256, &m.size_bytes, why, sizeof why), LEDGER_OK);
    snprintf(path, sizeof path, "%s/manifest.json", fx->from);
    assert_int_equal(backup_manifest_write(path, &m, why, sizeof why), LEDGER_OK);
}

/*  A peer's store in `dir` that saw NODE's ids 1..high at time 100; with
    `prune`, all of them pruned by time (floor = high, no highest left). */
static void make_peer(const char *dir, uint64_t high, bool prune)
{
    store_t *store = NULL;
    store_txn_t *txn = NULL;
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(store_open(dir, NULL, &store), LEDGER_OK);
    assert_int_equal(store_txn_begin(store, true, &txn), LEDGER_OK);
    for (uint64_t seq = 1; seq <= high; seq++)
        assert_int_equal(store_seen_put(txn, NODE, seq, 100), LEDGER_OK);
    if (prune)
        assert_int_equal(store_seen_prune(txn, 1000, UINT64_MAX, 1000, NULL), LEDGER_OK);
    uint64_t left = 99, floor = 0;
    assert_int_equal(store_seen_high(txn, NODE, &left), LEDGER_OK);
    assert_int_equal(store_seen_floor(txn, NODE, &floor), LEDGER_OK);
    assert_int_equal(left, prune ? 0 : high);
    assert_int_equal(floor, prune ? high : 0);
    assert_int_equal(store_txn_commit(&txn), LEDGER_OK);
    store_destroy(&store);
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    test_dir_make(fx->root, "backup_restore_test");
    snprintf(fx->from, sizeof fx->from, "%s/backup", fx->root);
    snprintf(fx->data, sizeof fx->data, "%s/accounts", fx->root);
    snprintf(fx->gateway, sizeof fx->gateway, "%s/gateway", fx->root);
    snprintf(fx->fraud, sizeof fx->fraud, "%s/fraud", fx->root);
    make_backup(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    test_remove_dir(fx->root);
    free(fx);
    return 0;
}

static backup_restore_options_t options(const fx_t *fx)
{
    backup_restore_options_t o = {.from_dir = fx->from,
                                  .data_dir = fx->data,
                                  .node = NODE,
                                  .peer_names = {"gateway", "fraud"},
                                  .peer_dirs = {fx->gateway, fx->fraud},
                                  .peer_count = 2};
    return o;
}

/* How many entries the data directory holds besides "." and ".." (-1: no such directory). */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static uint64_t restored_seq(const char *dir)
{
    store_t *store = NULL;
    store_txn_t *txn = NULL;
    uint64_t seq = 0;
    assert_int_equal(store_open(dir, NULL, &store), LEDGER_OK);
    assert_int_equal(store_txn_begin(store, false, &txn), LEDGER_OK);
    assert_int_equal(store_seq_peek(txn, "msg", &seq), LEDGER_OK);
    store_txn_abort(&txn);
    store_destroy(&store);
    return seq;
}

/*  Gateway pruned all of NODE's ids 1..50 by time (highest 0, floor 50),
    fraud saw 1..20: the seq goes to 50, not 20 (every id 21..50 would be
    refused id_too_old by the gateway). */
static void test_restore_raises_past_a_peers_floor_not_only_its_highest(void **state)
{
    fx_t *fx = *state;
    make_peer(fx->gateway, 50, true);
    make_peer(fx->fraud, 20, false);
    backup_restore_options_t o = options(fx);
    backup_restore_result_t res;
    char why[WHY_BYTES] = "";
    assert_int_equal(backup_restore(&o, &res, why, sizeof why), LEDGER_OK);
    assert_int_equal(res.backup_msg_seq, BACKUP_SEQ);
    assert_int_equal(res.peers_high, 50);
    assert_int_equal(res.msg_seq, 50);
    /* Only the data file: the staging directory is gone. */
    assert_int_equal(entries(fx->data), 1);
    assert_int_equal(restored_seq(fx->data), 50);
}

/* The highest seen counts where it is above the floor (a later id seen after a prune). */
static void test_restore_takes_the_highest_where_it_is_above_the_floor(void **state)
{
    fx_t *fx = *state;
    make_peer(fx->gateway, 10, true);
    make_peer(fx->fraud, 30, false);
    backup_restore_options_t o = options(fx);
    o.msg_seq_at_least = 12;
    backup_restore_result_t res;
    char why[WHY_BYTES] = "";
    assert_int_equal(backup_restore(&o, &res, why, sizeof why), LEDGER_OK);
    assert_int_equal(res.msg_seq, 30);
    assert_int_equal(restored_seq(fx->data), 30);
}

static void expect_refused(const backup_restore_options_t *o, const char *text)
{
    char why[WHY_BYTES] = "";
    backup_restore_result_t res;
    assert_int_equal(backup_restore_check_peers(o, why, sizeof why), LEDGER_E_INVALID);
    if (!strstr(why, text))
        fail_msg("why \"%s\" lacks \"%s\"", why, text);
    assert_int_equal(backup_restore(o, &res, why, sizeof why), LEDGER_E_INVALID);
}

/* One message seq for all peers: a list without every peer is refused, nothing is written. */
static void test_restore_refuses_anything_but_every_peer_once(void **state)
{
    fx_t *fx = *state;
    make_peer(fx->gateway, 3, false);
    make_peer(fx->fraud, 3, false);
    backup_restore_options_t o = options(fx);
    o.peer_count = 1; /* gateway only */
    expect_refused(&o, "--peer-data fraud=DIR is missing");
    o.msg_seq_at_least = 100; /* a number does not stand in for a peer that was named short */
    expect_refused(&o, "--peer-data fraud=DIR is missing");
    o = options(fx);
    o.peer_names[1] = "gateway";
    expect_refused(&o, "--peer-data gateway given twice");
    o = options(fx);
    o.peer_names[1] = "accounts";
    expect_refused(&o, "--peer-data accounts: not a peer of accounts");
    o.peer_names[1] = "frau";
    expect_refused(&o, "not a peer");
    o = options(fx);
    o.peer_dirs[1] = fx->gateway; /* fraud "read" from gateway's directory */
    expect_refused(&o, "--peer-data gateway and fraud are the same directory");
    o = options(fx);
    o.peer_count = 0;
    expect_refused(&o, "is missing");
    assert_int_equal(entries(fx->data), -1); /* not even the data directory was made */
    /* None and a number: the operator's. */
    o.msg_seq_at_least = 9;
    char why[WHY_BYTES] = "";
    assert_int_equal(backup_restore_check_peers(&o, why, sizeof why), LEDGER_OK);
}

/* A data directory with a data.mdb is refused, and left as it was (no staging left). */
static void test_restore_never_overwrites_and_leaves_no_stage(void **state)
{
    fx_t *fx = *state;
    make_peer(fx->gateway, 3, false);
    make_peer(fx->fraud, 3, false);
    backup_restore_options_t o = options(fx);
    backup_restore_result_t res;
    char why[WHY_BYTES] = "";
    assert_int_equal(backup_restore(&o, &res, why, sizeof why), LEDGER_OK);
    assert_int_equal(backup_restore(&o, &res, why, sizeof why), LEDGER_E_EXISTS);
    assert_non_null(strstr(why, "move its data directory aside"));
    assert_int_equal(entries(fx->data), 1);
    assert_int_equal(restored_seq(fx->data), BACKUP_SEQ);
}

#define CASE(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

TEST_MAIN(CASE(test_restore_raises_past_a_peers_floor_not_only_its_highest),
          CASE(test_restore_takes_the_highest_where_it_is_above_the_floor),
          CASE(test_restore_refuses_anything_but_every_peer_once),
          CASE(test_restore_never_overwrites_and_leaves_no_stage))
