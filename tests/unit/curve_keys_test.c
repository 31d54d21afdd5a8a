/*  curve_keys_test.c: curve/curve_keys.h: three processes racing to make one
    keys dir, the secret key's mode check, name and key mismatches, allow and
    deny. */
#define _GNU_SOURCE /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/wait.h>

#include "curve_fx.h"
#include "curve_keys.h"
#include "test_main.h"

#define RACERS 3
#define RACE_ROUNDS 5

/* What one racing child reports through its pipe. */
typedef struct {
    int outcome;
    int err;
    char fraud_public[CURVE_KEYS_Z85_BYTES];
} race_report_t;

/* A child: waits for the start pipe to close, creates the dir, loads fraud's key, reports. */
static void race_child(const char *dir, int start_fd, int report_fd)
{
    char go;
    race_report_t report = {0};
    char why[CURVE_FX_WHY_BYTES];
    curve_keys_outcome_t outcome = CURVE_KEYS_FOUND;
    (void)!read(start_fd, &go, 1); /* EOF when the parent closes it: all start together */
    report.err =
        curve_keys_create_mesh(dir, &CURVE_KEYS_MESH_PLAN, false, &outcome, why, sizeof why);
    report.outcome = (int)outcome;
    zcert_t *cert = NULL;
    if (report.err == LEDGER_OK)
        report.err = curve_keys_load_own(dir, NULL, "fraud", &cert, why, sizeof why);
    if (cert != NULL)
        snprintf(report.fraud_public, sizeof report.fraud_public, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    (void)!write(report_fd, &report, sizeof report);
    _exit(0);
}

/* True if dir holds an entry whose name starts with prefix. */
static bool dir_has_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        found = found || strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

static void race_round(void)
{
    char base[TEST_DIR_BYTES], dir[CURVE_KEYS_PATH_MAX], parent[TEST_DIR_BYTES + 8];
    int start[2], reports[2];
    test_dir_make(base, "curve_race");
    snprintf(parent, sizeof parent, "%s/data", base);
    snprintf(dir, sizeof dir, "%s/keys", parent);
    assert_int_equal(pipe(start), 0);
    assert_int_equal(pipe(reports), 0);
    pid_t pids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(start[1]);
            race_child(dir, start[0], reports[1]);
        }
    }
    close(start[0]);
    close(start[1]); /* go */
    close(reports[1]);
    race_report_t got[RACERS];
    int created = 0;
    for (int i = 0; i < RACERS; i++) {
        assert_int_equal(read(reports[0], &got[i], sizeof got[i]), (ssize_t)sizeof got[i]);
        assert_int_equal(got[i].err, LEDGER_OK);
        created += got[i].outcome == CURVE_KEYS_CREATED;
        assert_string_equal(got[i].fraud_public, got[0].fraud_public);
    }
    close(reports[0]);
    for (int i = 0; i < RACERS; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(created, 1);
    assert_false(dir_has_prefix(parent, CURVE_KEYS_TEMP_PREFIX));
    test_remove_dir(base);
}

/* Three processes started together with no keys dir: one creates it, all use the same keys. */
static void test_three_racing_processes_share_one_set_of_keys(void **state)
{
    (void)state;
    for (int round = 0; round < RACE_ROUNDS; round++)
        race_round();
}

/* A fresh dir's files have the modes of the layout, whatever the umask. */
static void test_created_files_have_the_layout_modes(void **state)
{
    (void)state;
    mode_t old = umask(0);
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_modes");
    umask(old);
    char path[CURVE_KEYS_PATH_MAX];
    struct stat st;
    assert_int_equal(stat(fx.keys, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    curve_fx_path(&fx, path, "accounts", NULL, CURVE_KEYS_SECRET_SUFFIX);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    curve_fx_path(&fx, path, CURVE_KEYS_PUBLIC_DIR, "accounts", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/gateway", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "gateway/gateway", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_not_equal(stat(path, &st), 0); /* nobody accepts its own key */
    curve_fx_remove(&fx);
}

/* A secret key readable or writable by group or others is refused with the chmod fix. */
static void test_secret_key_open_to_others_is_refused_with_the_fix(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_mode");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES], fix[CURVE_KEYS_PATH_MAX + 16];
    curve_fx_path(&fx, path, "accounts", NULL, CURVE_KEYS_SECRET_SUFFIX);
    snprintf(fix, sizeof fix, "chmod 600 %s", path);
    const mode_t refused[] = {0644, 0640, 0604, 0620, 0602};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        zcert_t *cert = NULL;
        why[0] = '\0';
        assert_int_equal(chmod(path, refused[i]), 0);
        assert_int_equal(curve_keys_load_own(fx.keys, NULL, "accounts", &cert, why, sizeof why),
                         LEDGER_E_INVALID);
        assert_null(cert);
        assert_non_null(strstr(why, fix));
        assert_int_equal(curve_keys_check_secret_mode(path, why, sizeof why), LEDGER_E_INVALID);
    }
    const mode_t accepted[] = {0600, 0400};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        zcert_t *cert = NULL;
        assert_int_equal(chmod(path, accepted[i]), 0);
        assert_int_equal(curve_keys_load_own(fx.keys, NULL, "accounts", &cert, why, sizeof why),
                         LEDGER_OK);
        assert_non_null(cert);
        assert_string_equal(zcert_meta(cert, "name"), "accounts");
        zcert_destroy(&cert);
    }
    curve_fx_remove(&fx);
}

/* Another node's key file is refused: the name inside is not this node's. */
static void test_key_of_another_node_is_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_name");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    zcert_t *cert = NULL;
    curve_fx_path(&fx, path, "fraud", NULL, CURVE_KEYS_SECRET_SUFFIX);
    assert_int_equal(curve_keys_load_own(fx.keys, path, "accounts", &cert, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_null(cert);
    assert_non_null(strstr(why, "\"fraud\", not of this node \"accounts\""));
    curve_fx_remove(&fx);
}

/* A key pair that is not the one the peers know (public/<name>.pub) is refused. */
static void test_key_not_matching_its_public_copy_is_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_pair");
    char pub[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char fraud_z85[CURVE_KEYS_Z85_BYTES];
    zcert_t *cert = NULL;
    curve_fx_public(&fx, "fraud", fraud_z85);
    curve_fx_path(&fx, pub, CURVE_KEYS_PUBLIC_DIR, "accounts", CURVE_KEYS_PUBLIC_SUFFIX);
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(
        curve_keys_write_cert(pub, 0644, "accounts", "accounts", fraud_z85, NULL, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(curve_keys_load_own(fx.keys, NULL, "accounts", &cert, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_null(cert);
    assert_non_null(strstr(why, "does not match"));
    curve_fx_remove(&fx);
}

/* A secret key file whose secret key does not give its public key is refused. */
static void test_secret_not_belonging_to_its_public_key_is_refused(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_secret");
    char path[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES] = "";
    char public_z85[CURVE_KEYS_Z85_BYTES], other_public[CURVE_KEYS_Z85_BYTES];
    char other_secret[CURVE_KEYS_Z85_BYTES];
    zcert_t *cert = NULL;
    curve_fx_public(&fx, "accounts", public_z85);
    assert_int_equal(zmq_curve_keypair(other_public, other_secret), 0);
    curve_fx_path(&fx, path, "accounts", NULL, CURVE_KEYS_SECRET_SUFFIX);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(curve_keys_write_cert(path, 0600, "accounts", "accounts", public_z85,
                                           other_secret, why, sizeof why),
                     LEDGER_OK);
    assert_int_equal(curve_keys_load_own(fx.keys, NULL, "accounts", &cert, why, sizeof why),
                     LEDGER_E_INVALID);
    assert_null(cert);
    assert_non_null(strstr(why, "does not belong"));
    curve_fx_remove(&fx);
}

/* init over an existing dir: EXISTS when it must be new, FOUND (untouched) otherwise. */
static void test_existing_dir_is_never_overwritten(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_exists");
    char before[CURVE_KEYS_Z85_BYTES], after[CURVE_KEYS_Z85_BYTES], why[CURVE_FX_WHY_BYTES];
    curve_keys_outcome_t outcome = CURVE_KEYS_CREATED;
    curve_fx_public(&fx, "gateway", before);
    assert_int_equal(
        curve_keys_create_mesh(fx.keys, &CURVE_KEYS_MESH_PLAN, true, &outcome, why, sizeof why),
        LEDGER_E_EXISTS);
    assert_int_equal(
        curve_keys_create_mesh(fx.keys, &CURVE_KEYS_MESH_PLAN, false, &outcome, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(outcome, CURVE_KEYS_FOUND);
    curve_fx_public(&fx, "gateway", after);
    assert_string_equal(before, after);
    assert_false(dir_has_prefix(fx.base, CURVE_KEYS_TEMP_PREFIX));
    curve_fx_remove(&fx);
}

/* "dir/" names dir: created there (not inside it), then found there. */
static void test_trailing_slash_names_the_same_dir(void **state)
{
    (void)state;
    char base[TEST_DIR_BYTES], dir[TEST_DIR_BYTES + 16], key[TEST_DIR_BYTES + 32];
    char why[CURVE_FX_WHY_BYTES] = "";
    curve_keys_outcome_t outcome;
    test_dir_make(base, "curve_slash");
    snprintf(dir, sizeof dir, "%s/keys//", base);
    assert_int_equal(
        curve_keys_create_mesh(dir, &CURVE_KEYS_MESH_PLAN, true, &outcome, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(outcome, CURVE_KEYS_CREATED);
    snprintf(key, sizeof key, "%s/keys/fraud.key", base);
    assert_int_equal(access(key, F_OK), 0);
    assert_int_equal(
        curve_keys_create_mesh(dir, &CURVE_KEYS_MESH_PLAN, false, &outcome, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(outcome, CURVE_KEYS_FOUND);
    assert_int_equal(
        curve_keys_create_mesh("/", &CURVE_KEYS_MESH_PLAN, false, &outcome, why, sizeof why),
        LEDGER_E_INVALID);
    assert_false(dir_has_prefix(base, CURVE_KEYS_TEMP_PREFIX));
    test_remove_dir(base);
}

/* allow copies the public cert in (no temp file left), deny removes it, once. */
static void test_allow_then_deny_edits_one_allow_list(void **state)
{
    (void)state;
    curve_fx_t fx;
    curve_fx_make(&fx, "curve_allow_edit");
    char path[CURVE_KEYS_PATH_MAX], node_dir[CURVE_KEYS_PATH_MAX], why[CURVE_FX_WHY_BYTES];
    char z85[CURVE_KEYS_Z85_BYTES], name[CURVE_KEYS_NAME_MAX + 1], want[CURVE_KEYS_Z85_BYTES];
    curve_fx_path(&fx, path, CURVE_KEYS_ALLOW_DIR, "accounts/harness", CURVE_KEYS_PUBLIC_SUFFIX);
    curve_fx_path(&fx, node_dir, CURVE_KEYS_ALLOW_DIR, "accounts", NULL);
    curve_fx_public(&fx, "harness", want);
    assert_int_equal(curve_keys_allow(fx.keys, "harness", "accounts", why, sizeof why), LEDGER_OK);
    assert_int_equal(curve_keys_read_public_file(path, z85, name, NULL, why, sizeof why),
                     LEDGER_OK);
    assert_string_equal(z85, want);
    assert_string_equal(name, "harness");
    assert_false(dir_has_prefix(node_dir, "."
                                          "harness"));
    assert_int_equal(curve_keys_allow(fx.keys, "harness", "accounts", why, sizeof why),
                     LEDGER_OK); /* twice is fine */
    assert_int_equal(curve_keys_deny(fx.keys, "harness", "accounts", why, sizeof why), LEDGER_OK);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(curve_keys_deny(fx.keys, "harness", "accounts", why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(curve_keys_allow(fx.keys, "harness", "nosuchnode", why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(curve_keys_allow(fx.keys, "mallory", "accounts", why, sizeof why),
                     LEDGER_E_NOT_FOUND);
    assert_int_equal(curve_keys_allow(fx.keys, "../fraud", "accounts", why, sizeof why),
                     LEDGER_E_INVALID);
    curve_fx_remove(&fx);
}

TEST_MAIN(cmocka_unit_test(test_three_racing_processes_share_one_set_of_keys),
          cmocka_unit_test(test_created_files_have_the_layout_modes),
          cmocka_unit_test(test_secret_key_open_to_others_is_refused_with_the_fix),
          cmocka_unit_test(test_key_of_another_node_is_refused),
          cmocka_unit_test(test_key_not_matching_its_public_copy_is_refused),
          cmocka_unit_test(test_secret_not_belonging_to_its_public_key_is_refused),
          cmocka_unit_test(test_existing_dir_is_never_overwritten),
          cmocka_unit_test(test_trailing_slash_names_the_same_dir),
          cmocka_unit_test(test_allow_then_deny_edits_one_allow_list))
