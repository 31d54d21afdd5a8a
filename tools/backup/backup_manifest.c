/*  backup_manifest.c: the manifest as JSON (backup_manifest.h), with jansson. */
#include "backup_manifest.h"
#include "backup_file.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "text.h"

#define MANIFEST_PATH_MAX 4096

static json_t *seen_json(const backup_manifest_t *m)
{
    json_t *seen = json_object();
    for (size_t i = 0; seen && i < m->peer_count; i++)
        json_object_set_new(seen, m->peers[i], json_integer((json_int_t)m->seen_high[i]));
    return seen;
}

static json_t *manifest_json(const backup_manifest_t *m)
{
    char when[32];
    time_t secs = (time_t)(m->created_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack(
        "{s:i, s:s, s:s, s:I, s:i, s:I, s:{s:I, s:I}, s:I, s:o, s:{s:I, s:I, s:s}, "
        "s:{s:I, s:I}, s:s, s:I, s:s}",
        "manifest_version", BACKUP_MANIFEST_VERSION, "node", m->node, "created_at", when,
        "created_ms", (json_int_t)m->created_ms, "store_format", (int)m->store_format, "msg_seq",
        (json_int_t)m->msg_seq, "outbox", "depth", (json_int_t)m->outbox_depth, "first_seq",
        (json_int_t)m->outbox_first_seq, "dead_letters", (json_int_t)m->dead_letters, "seen_high",
        seen_json(m), "ledger", "entries", (json_int_t)m->ledger_entries, "head_seq",
        (json_int_t)m->ledger_head_seq, "head_hash", m->ledger_head_hash, "records", "transfers",
        (json_int_t)m->transfer_records, "accounts", (json_int_t)m->account_records, "data_file",
        BACKUP_DATA_FILE, "size_bytes", (json_int_t)m->size_bytes, "sha256", m->sha256);
}

ledger_err_t backup_manifest_write(const char *path, const backup_manifest_t *m, char *why,
                                   size_t why_size)
{
    char tmp[MANIFEST_PATH_MAX];
    if (!backup_file_fmt(tmp, sizeof tmp, "%s.tmp", path))
        return backup_file_fmt(why, why_size, "path too long: %s", path), LEDGER_E_IO;
    json_t *doc = manifest_json(m);
    if (!doc)
        return LEDGER_E_NOMEM;
    int rc = json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    /* Durable before it names the (fsynced, store_copy_compact) data file. */
    if (rc == 0 && backup_file_sync(tmp, why, why_size) != LEDGER_OK)
        rc = -1;
    if (rc != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        backup_file_fmt(why, why_size, "cannot write %s", path);
        return LEDGER_E_IO;
    }
    return LEDGER_OK;
}

ledger_err_t backup_manifest_read(const char *path, backup_manifest_t *m, char *why,
                                  size_t why_size)
{
    memset(m, 0, sizeof *m);
    json_error_t error;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!doc) {
        backup_file_fmt(why, why_size, "cannot read %s: %s", path, error.text);
        return LEDGER_E_IO;
    }
    int version = 0;
    const char *node = NULL, *sha = NULL;
    json_int_t created = 0, msg_seq = 0, size = 0;
    int rc = json_unpack_ex(doc, &error, 0, "{s:i, s:s, s:I, s:I, s:I, s:s}", "manifest_version",
                            &version, "node", &node, "created_ms", &created, "msg_seq", &msg_seq,
                            "size_bytes", &size, "sha256", &sha);
    ledger_err_t err = LEDGER_OK;
    if (rc != 0 || version != BACKUP_MANIFEST_VERSION || strlen(node) > STORE_ORIGIN_MAX ||
        strlen(sha) != BACKUP_SHA256_HEX_LEN || created < 0 || msg_seq < 0 || size < 0) {
        backup_file_fmt(why, why_size, "%s is not a version %d manifest%s%s", path,
                        BACKUP_MANIFEST_VERSION, rc ? ": " : "", rc ? error.text : "");
        err = LEDGER_E_CORRUPT;
    } else {
        text_copy(m->node, sizeof m->node, node);
        text_copy(m->sha256, sizeof m->sha256, sha);
        m->created_ms = (uint64_t)created;
        m->msg_seq = (uint64_t)msg_seq;
        m->size_bytes = (uint64_t)size;
    }
    json_decref(doc);
    return err;
}
