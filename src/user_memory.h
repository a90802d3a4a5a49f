/* Internal: what wait sets and executors need from user memory. */
#ifndef ZL_USER_MEMORY_INTERNAL_H
#define ZL_USER_MEMORY_INTERNAL_H

#include <stdbool.h>

#include "zloan/user_memory.h"

#include "mw.h"

/* Takes back what subscriptions returned, turns completed messages into
 * notices, then fills the futex words to sleep on (and the flag to raise)
 * until another may have completed. The publisher's thread. */
void zl__user_memory_waitable(zl_user_memory *memory, zl__mw_waitable *waitable);

/* Whether a completion notice is waiting, or a message may have completed
 * (a hint; changes no connection, so the words of the last waitable stay
 * mapped). The publisher's thread. */
bool zl__user_memory_ready(zl_user_memory *memory);

/* Completion notices waiting, after taking back returns. */
uint32_t zl__user_memory_notices(zl_user_memory *memory);

/* Counts a wait-set entry that names the memory (attached true) or one that
 * no longer does; destroy refuses while any is left. */
void zl__user_memory_attached(zl_user_memory *memory, bool attached);

#endif
