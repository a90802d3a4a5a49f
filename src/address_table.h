/* Internal: tables whose entries are placed by a hash of an address, the
 * loan tables of the client library's publisher (publisher_object.h C4)
 * and of the shared-memory subscription (shm/subscription/returns.c S9).
 * A table has a power of two of entries; an entry's home is the top bits
 * of a multiplicative (Fibonacci) hash of its address, which spreads the
 * strided addresses of a pool's chunks evenly. */
#ifndef ZL_ADDRESS_TABLE_H
#define ZL_ADDRESS_TABLE_H

#include <stdint.h>

/* log2 of the table's entries: the power of two at or above at_least
 * (at least 2 entries). */
static inline uint32_t zl__address_table_bits(uint32_t at_least)
{
    uint32_t bits = 1;
    while (((uint32_t)1 << bits) < at_least)
        bits++;
    return bits;
}

/* The home of address in a table of 2^bits entries, shift = 64 - bits. */
static inline uint32_t zl__address_home(uintptr_t address, uint32_t shift)
{
    return (uint32_t)(((uint64_t)address * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

#endif
