/* node_keys.c: the node's keys directory, own cert, zauth and peer table (node_keys.h). */
#include "node_keys.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "curve_keys.h"
#include "curve_sock.h"
#include "node_log.h"

/* Bytes of a refusal's reason: two paths and the words around them. */
#define NODE_KEYS_WHY_BYTES (2 * NODE_PATH_MAX + 256)

struct node_keys_t {
    bool plaintext;
    char dir[NODE_PATH_MAX];
    char allow_dir[CURVE_KEYS_PATH_MAX];
    zcert_t *cert;
    zactor_t *auth;
    curve_allow_t *allow;
    uint64_t last_check_ms;  /* the last look at the allow dir's stamp (node_keys_refresh) */
    uint64_t last_miss_ms;   /* the last lookup miss that looked at the dir at once */
    node_keys_table_t table; /* allowed_keys unused here: node_keys_table_state fills it */
    bool keys_dropped;       /* a reload left out a key the table had: node_keys_take_dropped */
    size_t peer_count;
    char peer_names[RELAY_PEERS_MAX][CURVE_KEYS_NAME_MAX + 1];
    char peer_keys[RELAY_PEERS_MAX][CURVE_KEYS_Z85_BYTES];
};

/* Logs a refusal of the keys at `path` and passes `err` on. */
static ledger_err_t refuse(ledger_err_t err, const char *path, const char *why)
{
    node_log_write(NODE_LOG_ERROR, "event=keys_refused path=%s error=%s reason=\"%s\"", path,
                   ledger_err_name(err), why);
    return err;
}

/*  Step 1: the directory exists, or (the default only) is created now. Two
    nodes racing here both succeed: curve_keys_create_mesh renames a complete
    temp dir into place, and the loser uses the winner's. */
static ledger_err_t keys_dir_ready(const node_config_t *config)
{
    char why[NODE_KEYS_WHY_BYTES] = "";
    const char *dir = config->keys_dir;
    struct stat st;
    if (config->keys_dir_given) {
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, sizeof why,
                     "keys directory %s is missing (given by --keys-dir or LEDGER_KEYS_DIR): make "
                     "it with: ledger-keys init --dir %s",
                     dir, dir);
            return refuse(LEDGER_E_NOT_FOUND, dir, why);
        }
        node_log_write(NODE_LOG_INFO, "event=keys_found dir=%s", dir);
        return LEDGER_OK;
    }
    curve_keys_outcome_t outcome = CURVE_KEYS_FOUND;
    ledger_err_t err =
        curve_keys_create_mesh(dir, &CURVE_KEYS_MESH_PLAN, false, &outcome, why, sizeof why);
    if (err)
        return refuse(err, dir, why);
    node_log_write(NODE_LOG_INFO, "event=%s dir=%s",
                   outcome == CURVE_KEYS_CREATED ? "keys_created" : "keys_found", dir);
    return LEDGER_OK;
}

/* Steps 2 and 3: own cert, allow table, zauth. */
static ledger_err_t keys_own_and_allow(node_keys_t *self, const node_config_t *config)
{
    char why[NODE_KEYS_WHY_BYTES] = "";
    const char *key_path = config->node_key[0] ? config->node_key : NULL;
    ledger_err_t err =
        curve_keys_load_own(self->dir, key_path, config->name, &self->cert, why, sizeof why);
    if (err) {
        char path[CURVE_KEYS_PATH_MAX] = "";
        if (!key_path && curve_keys_path(path, sizeof path, self->dir, config->name, NULL,
                                         CURVE_KEYS_SECRET_SUFFIX) == LEDGER_OK)
            key_path = path;
        return refuse(err, key_path ? key_path : self->dir, why);
    }
    err = curve_keys_path(self->allow_dir, sizeof self->allow_dir, self->dir, CURVE_KEYS_ALLOW_DIR,
                          config->name, "");
    if (err)
        return refuse(err, self->dir, "the allow-list path is too long");
    err = curve_allow_new(self->allow_dir, &self->allow, why, sizeof why);
    if (!err)
        err = curve_auth_start(self->allow_dir, &self->auth, why, sizeof why);
    if (err)
        return refuse(err, self->allow_dir, why);
    return LEDGER_OK;
}

/* Step 4: the public key of every peer the node's DEALERs connect to. */
static ledger_err_t keys_peers(node_keys_t *self, const relay_peer_t *peers, size_t peer_count)
{
    char why[NODE_KEYS_WHY_BYTES] = "";
    for (size_t i = 0; i < peer_count; i++) {
        ledger_err_t err = curve_keys_name_valid(peers[i].name) ? LEDGER_OK : LEDGER_E_INVALID;
        if (!err)
            err = curve_keys_load_public(self->dir, peers[i].name, self->peer_keys[i], NULL, why,
                                         sizeof why);
        if (err)
            return refuse(err, self->dir, why[0] ? why : "a peer name is not a valid key name");
        snprintf(self->peer_names[i], sizeof self->peer_names[i], "%s", peers[i].name);
        self->peer_count = i + 1;
    }
    return LEDGER_OK;
}

ledger_err_t node_keys_open(const node_config_t *config, const relay_peer_t *peers,
                            size_t peer_count, node_keys_t **out)
{
    assert(config && out && (peers || peer_count == 0) && peer_count <= RELAY_PEERS_MAX);
    *out = NULL;
    node_keys_t *self = calloc(1, sizeof *self);
    if (!self)
        return LEDGER_E_NOMEM;
    self->plaintext = config->insecure_plaintext;
    snprintf(self->dir, sizeof self->dir, "%s", config->keys_dir);
    if (self->plaintext) {
        node_log_write(NODE_LOG_WARN,
                       "event=insecure_plaintext note=\"node links are NOT authenticated or "
                       "encrypted\"");
        *out = self;
        return LEDGER_OK;
    }
    /* The node handles SIGINT/SIGTERM itself (node.c); zauth is the first czmq actor. */
    zsys_handler_set(NULL);
    ledger_err_t err = keys_dir_ready(config);
    if (!err)
        err = keys_own_and_allow(self, config);
    if (!err)
        err = keys_peers(self, peers, peer_count);
    if (err) {
        node_keys_destroy(&self);
        return err;
    }
    node_log_write(NODE_LOG_INFO, "event=keys_loaded dir=%s allowed=%zu public_key=%s", self->dir,
                   curve_allow_count(self->allow), zcert_public_txt(self->cert));
    *out = self;
    return LEDGER_OK;
}

void node_keys_destroy(node_keys_t **self_p)
{
    assert(self_p);
    node_keys_t *self = *self_p;
    if (!self)
        return;
    curve_auth_stop(&self->auth);
    curve_allow_destroy(&self->allow);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

bool node_keys_plaintext(const node_keys_t *self)
{
    assert(self);
    return self->plaintext;
}

zcert_t *node_keys_cert(const node_keys_t *self)
{
    assert(self);
    return self->cert;
}

const char *node_keys_peer_key(const node_keys_t *self, const char *name)
{
    assert(self && name);
    for (size_t i = 0; i < self->peer_count; i++)
        if (!strcmp(self->peer_names[i], name))
            return self->peer_keys[i];
    return NULL;
}

ledger_err_t node_keys_server(const node_keys_t *self, zsock_t *sock)
{
    assert(self && sock);
    if (self->plaintext)
        return LEDGER_OK;
    char why[NODE_KEYS_WHY_BYTES] = "";
    ledger_err_t err = curve_sock_server(sock, self->cert, why, sizeof why);
    if (err)
        node_log_write(NODE_LOG_ERROR, "event=curve_failed socket=server reason=\"%s\"", why);
    return err;
}

ledger_err_t node_keys_client(const node_keys_t *self, zsock_t *sock, const char *name)
{
    assert(self && sock && name);
    if (self->plaintext)
        return LEDGER_OK;
    char why[NODE_KEYS_WHY_BYTES] = "";
    const char *server_key = node_keys_peer_key(self, name);
    ledger_err_t err = server_key ? curve_sock_client(sock, self->cert, server_key, why, sizeof why)
                                  : LEDGER_E_NOT_FOUND;
    if (err)
        node_log_write(NODE_LOG_ERROR, "event=curve_failed socket=client peer=%s reason=\"%s\"",
                       name, server_key ? why : "no public key of this peer was loaded");
    return err;
}

/*  Reloads the table (the dir changed): a failure keeps the old table, is
    counted, and is logged at error once until a reload succeeds again. */
static void reload(node_keys_t *self)
{
    char why[NODE_KEYS_WHY_BYTES] = "";
    ledger_err_t err = curve_allow_reload(self->allow, why, sizeof why);
    /* Any change, not only one that lost a key of this table, and a failed reload too: zauth
       reads the dir itself, so a key allowed and denied again between two of our looks (once
       a second), or denied beside a bad file, may be subscribed without this table knowing. */
    self->keys_dropped = true;
    if (err) {
        self->table.reload_failures++;
        if (!self->table.reload_failing)
            node_log_write(NODE_LOG_ERROR,
                           "event=allow_reload_failed dir=%s error=%s reason=\"%s\" note=\"the "
                           "previous table stays in use and /health is 503 until the dir is "
                           "fixed; zauth may still accept the file\"",
                           self->allow_dir, ledger_err_name(err), why);
        self->table.reload_failing = true;
        /* Cut to what /health shows: the full reason is in the log line above. */
        snprintf(self->table.reload_error, sizeof self->table.reload_error, "%.*s",
                 (int)sizeof self->table.reload_error - 1, why);
        return;
    }
    self->table.reload_failing = false;
    self->table.reload_error[0] = '\0';
    node_log_write(NODE_LOG_INFO, "event=allow_reloaded dir=%s allowed=%zu", self->allow_dir,
                   curve_allow_count(self->allow));
}

/* Reloads the table if the allow dir changed; looks at most once per NODE_KEYS_RELOAD_MIN_MS
   unless `now`. True if it reloaded (or tried). */
static bool check_dir(node_keys_t *self, uint64_t now_ms, bool now)
{
    if (self->plaintext ||
        (!now && self->last_check_ms && now_ms - self->last_check_ms < NODE_KEYS_RELOAD_MIN_MS))
        return false;
    self->last_check_ms = now_ms ? now_ms : 1;
    if (!curve_allow_changed(self->allow))
        return false;
    reload(self);
    return true;
}

bool node_keys_take_dropped(node_keys_t *self)
{
    assert(self);
    bool dropped = self->keys_dropped;
    self->keys_dropped = false;
    return dropped;
}

bool node_keys_refresh(node_keys_t *self, uint64_t now_ms)
{
    assert(self);
    return check_dir(self, now_ms, false);
}

const curve_allow_entry_t *node_keys_peer(node_keys_t *self, const char *user_id, uint64_t now_ms)
{
    assert(self);
    if (self->plaintext || !user_id)
        return NULL;
    check_dir(self, now_ms, false); /* a denied key's open connection is cut off here */
    const curve_allow_entry_t *entry = curve_allow_lookup(self->allow, user_id);
    if (entry || (self->last_miss_ms && now_ms - self->last_miss_ms < NODE_KEYS_RELOAD_MIN_MS))
        return entry;
    /* zauth let in a key the table does not know: the allow dir changed since the last look. */
    self->last_miss_ms = now_ms ? now_ms : 1;
    check_dir(self, now_ms, true);
    return curve_allow_lookup(self->allow, user_id);
}

void node_keys_table_state(const node_keys_t *self, node_keys_table_t *out)
{
    assert(self && out);
    *out = self->table;
    out->allowed_keys = node_keys_allowed_count(self);
}

size_t node_keys_allowed_count(const node_keys_t *self)
{
    assert(self);
    return self->plaintext ? 0 : curve_allow_count(self->allow);
}
