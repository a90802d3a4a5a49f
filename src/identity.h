/* Internal: identities. Endpoint ids are random 64-bit numbers (never 0),
 * so they are never reused the way pids are. The process token tells
 * "from this process" apart without trusting pids. */
#ifndef ZL_IDENTITY_H
#define ZL_IDENTITY_H

#include <stdint.h>

/* A random non-zero 64-bit number. */
uint64_t zl__random_id(void);

/* The same random non-zero value for the life of this process (a new one
 * after fork in the child). */
uint64_t zl__process_token(void);

#endif
