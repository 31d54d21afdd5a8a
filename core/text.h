/*  text.h: small helpers for the bounded, NUL-terminated text fields of
    records and messages (ids, names, reasons). Pure, thread-safe. */
#ifndef LEDGER_TEXT_H
#define LEDGER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies `src` into dst[dst_size]; the caller guarantees it fits (asserted). */
void text_copy(char *dst, size_t dst_size, const char *src);

/*  Copies what fits of `src` into dst[dst_size] (dst_size >= 1), cutting it
    at dst_size - 1 bytes like snprintf(dst, dst_size, "%s", src), without
    parsing a format: for fields copied on every message. */
void text_copy_cut(char *dst, size_t dst_size, const char *src);

/* Length of `s` if it is 1..max bytes long, else 0 (empty or too long). */
size_t text_len_within(const char *s, size_t max);

/* Parses a decimal uint64 (digits only, 1..20 of them, no sign, no spaces); false if not one
   or if it does not fit. *out is written only on success. */
bool text_parse_u64(const char *text, uint64_t *out);

#define TEXT_U64_DIGITS_MAX 20 /* UINT64_MAX in decimal */

/*  Writes `value` in decimal into out (at least TEXT_U64_DIGITS_MAX + 1
    bytes), NUL-terminated; returns the number of digits. For ids on the
    per-message path, where snprintf's format parsing cost ~1,000
    instructions a call (bench/callgrind.py). */
size_t text_u64(uint64_t value, char *out);

/*  Writes the low `width` hex digits (lowercase, zero-padded, 1..16) of
    `value` into out (width + 1 bytes), NUL-terminated; `value` must fit in
    them (asserted). */
void text_hex(uint64_t value, size_t width, char *out);

/* snprintf that accepts truncation: reasons are bounded texts for people. */
void text_format(char *out, size_t out_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
