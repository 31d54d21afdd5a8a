/* ledger_err.c: names of the project's error codes. */
#include "ledger_err.h"

static const char *const names[LEDGER_E__COUNT] = {
    [LEDGER_OK] = "ok",
    [LEDGER_E_INVALID] = "invalid",
    [LEDGER_E_OVERFLOW] = "overflow",
    [LEDGER_E_TOO_LARGE] = "too_large",
    [LEDGER_E_DECODE] = "decode_error",
    [LEDGER_E_VERSION] = "unknown_version",
    [LEDGER_E_UNKNOWN_TYPE] = "unknown_type",
    [LEDGER_E_NOT_FOUND] = "not_found",
    [LEDGER_E_EXISTS] = "exists",
    [LEDGER_E_MAP_FULL] = "map_full",
    [LEDGER_E_STORE] = "store_error",
    [LEDGER_E_CORRUPT] = "corrupt",
    [LEDGER_E_NOMEM] = "out_of_memory",
    [LEDGER_E_IO] = "io_error",
    [LEDGER_E_TIMEOUT] = "timeout",
};

const char *ledger_err_name(ledger_err_t err)
{
    if ((unsigned)err >= LEDGER_E__COUNT || !names[err])
        return "unknown_error";
    return names[err];
}
