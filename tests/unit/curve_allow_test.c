/*  curve_allow_test.c: curve/curve_allow.h: the User-Id -> peer table from an
    allow dir, its reload, and the allow dirs it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "curve_allow.h"
#include "curve_fx.h"
#include "test_main.h"

/* The table of allow/<node>/ of fx's keys, asserted to build. */
static curve_allow_t *table_of(const curve_fx_t *fx, const char *node)
{
    char dir[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    curve_allow_t *table = NULL;
    curve_fx_path(fx, dir, CURVE_KEYS_ALLOW_DIR, node, NULL);
    assert_int_equal(curve_allow_new(dir, &table, why, sizeof why), LEDGER_OK);
    return table;
}

/* Builds allow/<node>/, asserted to succeed, and frees it. */
static void table_destroy_ok(const curve_fx_t *fx, const char *node)
{
    curve_allow_t *table = table_of(fx, node);
    curve_allow_destroy(&table);
}

/* Builds allow/<node>/ expecting a refusal whose reason holds text. */
static void assert_refused(const curve_fx_t *fx, const char *node, const char *text)
{
    char dir[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    curve_allow_t *table = NULL;
    curve_fx_path(fx, dir, CURVE_KEYS_ALLOW_DIR, node, NULL);
    assert_int_not_equal(curve_allow_new(dir, &table, why, sizeof why), LEDGER_OK);
    assert_null(table);
    assert_non_null(strstr(why, text));
}

/* The accounts node's table names its two peers by key; other keys and no key are nobody. */
static void test_lookup_names_the_allowed_peers_by_key(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_lookup");
    curve_allow_t *table = table_of(&fx, "accounts");
    char z85[CURVE_KEYS_Z85_BYTES];
    assert_int_equal(curve_allow_count(table), 2);
    curve_fx_public(&fx, "gateway", z85);
    const curve_allow_entry_t *entry = curve_allow_lookup(table, z85);
    assert_non_null(entry);
    assert_string_equal(entry->name, "gateway");
    assert_string_equal(entry->role, "gateway");
    curve_fx_public(&fx, "fraud", z85);
    assert_string_equal(curve_allow_lookup(table, z85)->name, "fraud");
    curve_fx_public(&fx, "harness", z85);
    assert_null(curve_allow_lookup(table, z85));
    curve_fx_public(&fx, "accounts", z85);
    assert_null(curve_allow_lookup(table, z85));
    assert_null(curve_allow_lookup(table, NULL));
    assert_null(curve_allow_lookup(table, ""));
    curve_allow_destroy(&table);
    assert_null(table);
    curve_fx_remove(&fx);
}

/* A key allowed after the table was built is found after a reload, and gone after deny. */
static void test_reload_sees_allow_and_deny(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_reload");
    curve_allow_t *table = table_of(&fx, "gateway");
    char z85[CURVE_KEYS_Z85_BYTES], why[CURVE_FX_WHY_BYTES] = "";
    curve_fx_public(&fx, "harness", z85);
    assert_int_equal(curve_keys_allow(fx.keys, "harness", "gateway", why, sizeof why), LEDGER_OK);
    assert_null(curve_allow_lookup(table, z85));
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_OK);
    const curve_allow_entry_t *entry = curve_allow_lookup(table, z85);
    assert_non_null(entry);
    assert_string_equal(entry->name, "harness");
    assert_string_equal(entry->role, "harness");
    assert_int_equal(curve_allow_count(table), 3);
    assert_int_equal(curve_keys_deny(fx.keys, "harness", "gateway", why, sizeof why), LEDGER_OK);
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_OK);
    assert_null(curve_allow_lookup(table, z85));
    assert_int_equal(curve_allow_count(table), 2);
    curve_allow_destroy(&table);
    curve_fx_remove(&fx);
}

/* The dir's stamp says when a reload would read something new: a deny, a chmod, a bad file;
   a failed reload is not worth trying again until the dir changes once more. */
static void test_changed_says_when_the_dir_changed(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_changed");
    curve_allow_t *table = table_of(&fx, "accounts");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    assert_false(curve_allow_changed(table));
    assert_int_equal(curve_keys_deny(fx.keys, "fraud", "accounts", why, sizeof why), LEDGER_OK);
    assert_true(curve_allow_changed(table));
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_OK);
    assert_false(curve_allow_changed(table));
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/gateway", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(chmod(path, 0600), 0); /* same name, size and mtime: ctime tells */
    assert_true(curve_allow_changed(table));
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_OK);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/bad", CURVE_KEYS_PUBLIC_SUFFIX);
    FILE *bad = fopen(path, "w");
    assert_non_null(bad);
    fputs("not a cert\n", bad);
    fclose(bad);
    assert_true(curve_allow_changed(table));
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_E_INVALID);
    assert_false(curve_allow_changed(table));
    assert_int_equal(curve_allow_count(table), 1);
    assert_int_equal(unlink(path), 0);
    assert_true(curve_allow_changed(table));
    curve_allow_destroy(&table);
    curve_fx_remove(&fx);
}

/* A symlink, a file others may write, a file of another user: refused, in allow/ as in public/
   (whoever can write such a file decides whom the node accepts). */
static void test_files_others_control_are_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_files");
    char path[CURVE_KEYS_PATH_MAX], target[CURVE_KEYS_PATH_MAX], dir[CURVE_KEYS_PATH_MAX];
    char z85[CURVE_KEYS_Z85_BYTES], why[CURVE_FX_WHY_BYTES] = "";
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/gateway", CURVE_KEYS_PUBLIC_SUFFIX);
    curve_fx_path(&fx, target, CURVE_KEYS_PUBLIC_DIR, "gateway", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_refused(&fx, "accounts", "is a symbolic link");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(curve_keys_allow(fx.keys, "gateway", "accounts", why, sizeof why), LEDGER_OK);
    table_destroy_ok(&fx, "accounts");
    assert_int_equal(chmod(path, 0666), 0);
    assert_refused(&fx, "accounts", "writable by its owner only");
    assert_int_equal(chmod(path, 0644), 0);
    if (geteuid() == 0) { /* chown to another user needs root */
        assert_int_equal(chown(path, 4242, 4242), 0);
        assert_refused(&fx, "accounts", "owned by uid 4242");
        curve_fx_path(&fx, dir, CURVE_KEYS_ALLOW_DIR, "accounts", NULL);
        assert_int_equal(chown(dir, 4242, 4242), 0); /* the dir's owner could replace it anyway */
        table_destroy_ok(&fx, "accounts");
    }
    /* public/<peer>.pub, read by a node for its DEALERs: the same rules. */
    char moved[CURVE_KEYS_PATH_MAX];
    curve_fx_path(&fx, moved, CURVE_KEYS_PUBLIC_DIR, "gateway", ".real");
    assert_int_equal(rename(target, moved), 0);
    assert_int_equal(symlink(moved, target), 0);
    assert_int_equal(curve_keys_load_public(fx.keys, "gateway", z85, NULL, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "is a symbolic link"));
    assert_int_equal(unlink(target), 0);
    assert_int_equal(rename(moved, target), 0);
    assert_int_equal(chmod(target, 0646), 0);
    assert_int_equal(curve_keys_load_public(fx.keys, "gateway", z85, NULL, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_non_null(strstr(why, "chmod 644"));
    assert_int_equal(chmod(target, 0644), 0);
    assert_int_equal(curve_keys_load_public(fx.keys, "gateway", z85, NULL, why, sizeof why),
                     LEDGER_OK);
    curve_fx_remove(&fx);
}

/* A reload that meets a bad file fails with a reason and keeps the old table. */
static void test_failed_reload_keeps_the_old_table(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_badreload");
    curve_allow_t *table = table_of(&fx, "fraud");
    char src[CURVE_KEYS_PATH_MAX], dst[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char z85[CURVE_KEYS_Z85_BYTES];
    curve_fx_path(&fx, src, "harness", NULL, CURVE_KEYS_SECRET_SUFFIX);
    curve_fx_path(&fx, dst, CURVE_KEYS_ALLOW_DIR, "fraud/harness", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(link(src, dst), 0); /* a secret cert where only public ones belong */
    assert_int_equal(curve_allow_reload(table, why, sizeof why), LEDGER_E_INVALID);
    assert_non_null(strstr(why, "holds a secret key"));
    curve_fx_public(&fx, "accounts", z85);
    assert_non_null(curve_allow_lookup(table, z85));
    assert_int_equal(curve_allow_count(table), 1);
    curve_allow_destroy(&table);
    curve_fx_remove(&fx);
}

/* A second file with a core node's name (another key for "gateway") is refused. */
static void test_two_keys_for_one_core_name_are_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_dupname");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char other_public[CURVE_KEYS_Z85_BYTES], other_secret[CURVE_KEYS_Z85_BYTES];
    assert_int_equal(zmq_curve_keypair(other_public, other_secret), 0);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/gateway2", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(curve_keys_write_cert(path, 0644, "gateway", "gateway", other_public, NULL,
                                           why, sizeof why),
                     LEDGER_OK);
    assert_refused(&fx, "accounts", "a second key named \"gateway\"");
    curve_fx_remove(&fx);
}

/* A key claiming a core role under another name, a subdirectory, an open dir: refused. */
static void test_allow_dirs_zauth_would_read_differently_are_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_rules");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char other_public[CURVE_KEYS_Z85_BYTES], other_secret[CURVE_KEYS_Z85_BYTES];
    assert_int_equal(zmq_curve_keypair(other_public, other_secret), 0);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway/mallory", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(
        curve_keys_write_cert(path, 0644, "mallory", "fraud", other_public, NULL, why, sizeof why),
        LEDGER_OK);
    assert_refused(&fx, "gateway", "must be named \"fraud\"");
    assert_int_equal(unlink(path), 0);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway/sub", NULL);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_refused(&fx, "gateway", "an allow-list is flat");
    assert_int_equal(rmdir(path), 0);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway", NULL);
    assert_int_equal(chmod(path, 0775), 0);
    assert_refused(&fx, "gateway", "chmod 755");
    assert_int_equal(chmod(path, 0755), 0);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway/.tmp", NULL);
    FILE *f = fopen(path, "w"); /* hidden files are skipped, as zauth skips them */
    assert_non_null(f);
    fclose(f);
    curve_allow_t *table = table_of(&fx, "gateway");
    assert_int_equal(curve_allow_count(table), 2);
    curve_allow_destroy(&table);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway/big", CURVE_KEYS_PUBLIC_SUFFIX);
    f = fopen(path, "w"); /* metadata zauth would copy into its 512-byte ZAP reply buffer */
    assert_non_null(f);
    fprintf(f,
            "metadata\n    name = \"big\"\n    role = \"harness\"\n    note = \"%0600d\"\n"
            "curve\n    public-key = \"%s\"\n",
            0, other_public);
    fclose(f);
    assert_refused(&fx, "gateway", "metadata other than");
    assert_int_equal(unlink(path), 0);
    assert_refused(&fx, "nosuchnode", "is missing");
    curve_fx_remove(&fx);
}

TEST_MAIN(cmocka_unit_test(test_lookup_names_the_allowed_peers_by_key),
          cmocka_unit_test(test_reload_sees_allow_and_deny),
          cmocka_unit_test(test_changed_says_when_the_dir_changed),
          cmocka_unit_test(test_files_others_control_are_refused),
          cmocka_unit_test(test_failed_reload_keeps_the_old_table),
          cmocka_unit_test(test_two_keys_for_one_core_name_are_refused),
          cmocka_unit_test(test_allow_dirs_zauth_would_read_differently_are_refused))
