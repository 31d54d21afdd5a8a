/*  curve_fx.h: the curve tests' fixture: a temporary directory with the
    mesh's keys made by curve_keys_create_mesh in <tmp>/keys, and paths in
    it. Header-only; include after cmocka.h. */
#ifndef LEDGER_CURVE_FX_H
#define LEDGER_CURVE_FX_H

#include <stdio.h>
#include <string.h>

#include "curve_keys.h"
#include "test_dir.h"

#define CURVE_FX_WHY_BYTES 512

typedef struct {
    char base[TEST_DIR_BYTES];
    char keys[CURVE_KEYS_PATH_MAX];
} curve_fx_t;

/* A new temporary dir with the mesh's keys in base/keys. */
static inline void curve_fx_make(curve_fx_t *fx, const char *name)
{
    char why[CURVE_FX_WHY_BYTES] = "";
    curve_keys_outcome_t outcome;
    test_dir_make(fx->base, name);
    snprintf(fx->keys, sizeof fx->keys, "%s/keys", fx->base);
    assert_int_equal(
        curve_keys_create_mesh(fx->keys, &CURVE_KEYS_MESH_PLAN, true, &outcome, why, sizeof why),
        LEDGER_OK);
    assert_int_equal(outcome, CURVE_KEYS_CREATED);
}

static inline void curve_fx_remove(curve_fx_t *fx)
{
    test_remove_dir(fx->base);
}

/* out = keys/<a>[/<b>]<suffix>, asserted to fit. */
static inline void curve_fx_path(const curve_fx_t *fx, char out[CURVE_KEYS_PATH_MAX], const char *a,
                                 const char *b, const char *suffix)
{
    assert_int_equal(curve_keys_path(out, CURVE_KEYS_PATH_MAX, fx->keys, a, b, suffix), LEDGER_OK);
}

/* The Z85 public key of name, from public/<name>.pub. */
static inline void curve_fx_public(const curve_fx_t *fx, const char *name,
                                   char z85[CURVE_KEYS_Z85_BYTES])
{
    char why[CURVE_FX_WHY_BYTES] = "";
    assert_int_equal(curve_keys_load_public(fx->keys, name, z85, NULL, why, sizeof why), LEDGER_OK);
}

#endif
