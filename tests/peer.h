/* The message type multi-process tests exchange: its payload is a function of
 * (tag, sequence), so a reader can tell a torn or overwritten message. */
#ifndef ZL_TEST_PEER_H
#define ZL_TEST_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "zloan/zloan.h"

typedef struct test_msg {
    uint64_t tag;      /* which publisher */
    uint64_t sequence; /* from 1 */
    uint64_t words[30];
} test_msg;

static const zl_type test_msg_type = ZL_TYPE_PLAIN_LAYOUT(test_msg, "u64 tag;u64 seq;u64 w[30]");

static inline uint64_t test_msg_word(uint64_t tag, uint64_t sequence, unsigned i)
{
    uint64_t x = tag * 0x9e3779b97f4a7c15ull ^ (sequence + i) * 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 31);
}

static inline void test_msg_fill(test_msg *m, uint64_t tag, uint64_t sequence)
{
    m->tag = tag;
    m->sequence = sequence;
    for (unsigned i = 0; i < 30; i++)
        m->words[i] = test_msg_word(tag, sequence, i);
}

static inline bool test_msg_valid(const test_msg *m)
{
    for (unsigned i = 0; i < 30; i++)
        if (m->words[i] != test_msg_word(m->tag, m->sequence, i))
            return false;
    return true;
}

#endif
