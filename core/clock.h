/*  clock.h: the time, in the units the project uses.
    clock_wall_ms: Unix time in milliseconds (CLOCK_REALTIME): timestamps that
    are stored or sent. clock_mono_ms / clock_mono_us: CLOCK_MONOTONIC, for
    deadlines and durations (never goes back when the wall clock is set).
    clock_format_utc: unix ms as the ISO 8601 UTC text the API shows.
    Owns no state; every function is pure or reads a clock, any thread. */
#ifndef LEDGER_CLOCK_H
#define LEDGER_CLOCK_H

#include <stdint.h>
#include <time.h>

uint64_t clock_wall_ms(void);
uint64_t clock_mono_ms(void);
uint64_t clock_mono_us(void);

/* The CLOCK_MONOTONIC time `ms` from now, as the absolute deadline that
   pthread_cond_timedwait (on a CLOCK_MONOTONIC condattr) and
   pthread_rwlock_clockwrlock take. */
struct timespec clock_mono_deadline(uint32_t ms);

/*  Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) for unix ms into `out`
    (CLOCK_UTC_TEXT_SIZE bytes), as gmtime + strftime's %Y would (years
    past 9999 with all their digits), for every uint64_t. Returns `out`.
    Pure: no locale, no time zone, no lock. */
#define CLOCK_UTC_TEXT_SIZE 32
char *clock_format_utc(uint64_t unix_ms, char out[CLOCK_UTC_TEXT_SIZE]);

#endif
