/* A model of the segment-table handshake of zloan's segmented pools, for
 * spin (docs/design.md: P8, P9, S2, S7, and section 4.8).
 *
 * One publisher whose pool has S table slots (64 in C), each naming the
 * serial of the segment in it (0: empty); a segment has CH chunks. Ring
 * entries carry (slot, chunk), encoded slot * CH + chunk. NSUB
 * subscriptions take entries from their deliver rings, map a segment the
 * first time the table names it, hold one loan at a time and give it back
 * on their return rings. The publisher lends from segments in its table,
 * grows into an empty slot when none has a free chunk (at most SERIALS
 * segments over the run: serials are never reused), publishes (keep-last
 * reclaim of the oldest entry when the ring is full) or gives the loan
 * back, drains returns, and gives idle segments back at any time (the
 * idle check of shrink() in src/shm/publisher/pool.c, its one-second timer
 * replaced by "whenever").
 *
 * Checked, for every interleaving (exhaustive search, small bounds):
 *   P8  a segment is in the table from before any chunk of it is lent until
 *       every chunk of it is free: whenever an entry naming it is queued in
 *       a deliver or return ring, or a live subscription holds a chunk of
 *       it, the table and the publisher name it in that slot and it exists
 *       (the monitor process, at every state; asserted again by the
 *       publisher as it gives a segment back, and on every drained return:
 *       a return is never credited to another segment of the same slot);
 *   P9  no chunk is lent from a segment that is not reserved (exists);
 *   S7  a subscription that took an entry and then read segments_seq
 *       resolves the entry's slot to exactly the segment the publisher
 *       pushed it from (ghost record per ring position), mapped: never to
 *       nothing, never to a stale segment of the same slot;
 *   S2  a held loan's segment stays mapped until it is returned (with
 *       this honest publisher the table names it until then, P8, so the
 *       retiring of a segment a loan points into, when a publisher leaves,
 *       is tests/unit/retired_segments.c's);
 *   I1  (for the chunks' counts) a chunk is free only when nothing refers
 *       to it, and at the end every chunk of every segment is free;
 *   no deadlock (spin's invalid end state check).
 *
 * Negative variants (MUTANT, tests/model/CMakeLists.txt): each breaks one
 * rule the protocol rests on, and the search must find the violation:
 *   1  the publisher increments segments_seq before it writes the table
 *      slot (P8's order): a subscription reads the new seq, then the old
 *      table, and cannot resolve an entry of the new segment;
 *   2  the idle check looks at the user's loans only, not at chunks
 *      queued to or held by subscriptions: a segment is given back while
 *      an entry names it;
 *   3  the subscription reads segments_seq before the entry instead of
 *      after it (S7's order): it misses a segment new to the entry.
 *
 * Each labelled step is one atomic access of the C code (a load, a store,
 * a CAS); spin interleaves the others between them. Interleavings are
 * sequentially consistent: the release/acquire pairs of section 4.8 (the
 * table slot before the release increment of segments_seq, the entry
 * before the release store of the deliver tail; the acquire loads of the
 * tail, then of segments_seq) are what make that hold for these accesses.
 * The rings themselves (keep-last CAS races, the return ring's bounds,
 * deaths, lossless waits) are rings.pml's; here the keep-last reclaim is
 * one CAS step.
 *
 * Not modelled: deaths (disconnect() frees what a dead subscription had,
 * which rings.pml checks; its mappings die with it), size classes (a
 * segment's chunk size does not enter the handshake), several returning
 * threads, history, and a publisher that leaves while loans point into its
 * segments: the subscription's retired list (S2: a segment its pool view
 * let go of stays mapped until no held slot names it, reaped by a later
 * take) is checked by the unit test retired_segments, under TSan too.
 */

#ifndef NSUB
#define NSUB 1      /* subscriptions */
#endif
#ifndef S
#define S 2         /* table slots */
#endif
#ifndef CH
#define CH 2        /* chunks per segment */
#endif
#ifndef SERIALS
#define SERIALS 3   /* segments made over the run (serials 1..SERIALS) */
#endif
#ifndef K
#define K 4         /* loans the publisher takes */
#endif
#ifndef DC
#define DC 2        /* deliver ring capacity (= keep-last depth) */
#endif
#ifndef RC
#define RC 2        /* return ring capacity */
#endif
#ifndef MUTANT
#define MUTANT 0
#endif
#define NONE 255
#define SLOT(e) ((e) / CH)
#define SC (S * CH)  /* chunk ids: slot * CH + chunk */

/* ---- shared memory: the pool's control object and the segments ---- */
byte table[S];              /* serials[slot], written by the publisher */
byte seq;                   /* segments_seq */
bool exists[SERIALS + 1];   /* the segment object is there (reserved, header written) */

/* ---- shared memory: each subscription's connection ---- */
byte dentry[NSUB * DC];     /* deliver ring */
byte dhead[NSUB];           /* CAS by both sides */
byte dtail[NSUB];           /* publisher only */
byte rentry[NSUB * RC];     /* return ring */
byte rhead[NSUB];           /* publisher only */
byte rtail[NSUB];           /* subscription only */

/* ---- ghosts: the segment each queued entry was pushed from ---- */
byte gd_entry[NSUB * K];    /* per deliver position (positions < K) */
byte gd_serial[NSUB * K];
byte gr_serial[NSUB * RC];  /* per return ring slot */

/* ---- publisher-private (publisher/pool.c P1, publisher/connection.c P2) ---- */
byte pser[S];               /* the segment in each slot, as the publisher knows it */
byte refs[SC];
bool freec[SC];
bool lent[SC];
bool out[NSUB * SC];        /* outstanding bit per connection and chunk */
byte next_serial = 1;

/* ---- subscription-private ---- */
byte seen[NSUB];            /* segments_seq when the table was last read */
byte view[NSUB * S];        /* the segment mapped for each slot, as last read */
bool mapped[NSUB * (SERIALS + 1)];
byte held[NSUB];            /* the chunk id held, or NONE */
byte hserial[NSUB];         /* the segment it is in */

bool pub_done;
bool done[NSUB];
bool ready;                 /* init set the subscriptions up */

inline release_ref(c) {
    assert(refs[c] > 0);
    refs[c]--;
    if
    :: refs[c] == 0 -> assert(!freec[c]); freec[c] = true
    :: else -> skip
    fi
}

/* drain_returns() for connection j: each return is credited to the chunk
 * of the segment the publisher has in that slot, which must be the one the
 * subscription returned it from (P8). */
inline drain_returns(j) {
    t = rtail[j];
    d_step {
        p = rhead[j];
        do
        :: p != t ->
            c = rentry[j * RC + p % RC];
            assert(c < SC && pser[SLOT(c)] == gr_serial[j * RC + p % RC]);
            assert(out[j * SC + c]);
            out[j * SC + c] = false;
            release_ref(c);
            p++
        :: else -> break
        od;
        rhead[j] = t;
        c = 0; p = 0
    }
}

/* Growth into an empty slot (grow() in publisher/pool.c): reserve and write the
 * segment (P9), enter it in the table (relaxed), then the release
 * increment of segments_seq (table_changed), all before any chunk of it is
 * lent. */
inline grow() {
    d_step {
        slot = NONE;
        i = 0;
        do
        :: i < S && pser[i] == 0 -> slot = i; break
        :: i < S && pser[i] != 0 -> i++
        :: else -> break
        od;
        i = 0
    }
    if
    :: slot != NONE && next_serial <= SERIALS ->
        d_step {
            s = next_serial;
            next_serial++;
            exists[s] = true;
            pser[slot] = s;
            i = 0;
            do
            :: i < CH -> freec[slot * CH + i] = true; i++
            :: else -> break
            od;
            i = 0
        }
#if MUTANT == 1
        seq++;
        table[slot] = s;
#else
        table[slot] = s;
        seq++;
#endif
        s = 0
    :: else -> skip                 /* ZL_ENOSHM: the loan fails */
    fi;
    slot = 0
}

/* The idle check and retire() in publisher/pool.c: a segment none of whose
 * chunks is in use leaves the table (relaxed store, release increment),
 * then is unlinked and unmapped. */
inline shrink_one() {
    if
    :: true ->
        d_step {
            slot = NONE;
            i = 0;
            do
            :: i < S ->
                if
                :: pser[i] != 0 && slot == NONE ->
                    /* Idle: every chunk free (MUTANT 2: no user loan). */
                    ok = true;
                    k = 0;
                    do
                    :: k < CH ->
#if MUTANT == 2
                        ok = ok && !lent[i * CH + k];
#else
                        ok = ok && freec[i * CH + k];
#endif
                        k++
                    :: else -> break
                    od;
                    k = 0;
                    if
                    :: ok -> slot = i
                    :: else -> skip
                    fi
                :: else -> skip
                fi;
                i++
            :: else -> break
            od;
            i = 0; ok = false
        }
        if
        :: slot != NONE ->
            table[slot] = 0;
            seq++;
            d_step {
                exists[pser[slot]] = false;
                i = 0;
                do
                :: i < CH ->
                    freec[slot * CH + i] = false;
                    refs[slot * CH + i] = 0;
                    i++
                :: else -> break
                od;
                i = 0;
                pser[slot] = 0
            }
        :: else -> skip
        fi;
        slot = 0
    :: true -> skip
    fi
}

/* deliver() for connection j: keep-last (the reclaim is one CAS step here,
 * rings.pml models its races), the relaxed store of the entry, then the
 * release store of the tail. */
inline deliver(j, c) {
    atomic {
        if
        :: dtail[j] - dhead[j] >= DC ->
            e = dentry[j * DC + dhead[j] % DC];
            dhead[j]++;
            if
            :: out[j * SC + e] -> out[j * SC + e] = false; release_ref(e)
            :: else -> skip
            fi;
            e = 0
        :: else -> skip
        fi
    }
    d_step {
        dentry[j * DC + dtail[j] % DC] = c;
        gd_entry[j * K + dtail[j]] = c;
        gd_serial[j * K + dtail[j]] = pser[SLOT(c)]
    }
    d_step {
        out[j * SC + c] = true;
        refs[c]++;
        dtail[j]++
    }
}

active proctype publisher() {
    byte i, j, k, c, e, p, t, s, slot, chunk, round;
    bool ok;
    ready;
    do
    :: round < K ->
        round++;
        j = 0;
        do
        :: j < NSUB -> drain_returns(j); j++
        :: else -> break
        od;
        j = 0;
        shrink_one();
        /* Lend: the lowest slot's segment with a free chunk, else grow. */
        d_step {
            chunk = NONE;
            i = 0;
            do
            :: i < SC && pser[SLOT(i)] != 0 && freec[i] -> chunk = i; break
            :: i < SC && !(pser[SLOT(i)] != 0 && freec[i]) -> i++
            :: else -> break
            od;
            i = 0
        }
        if
        :: chunk == NONE ->
            grow();
            d_step {
                i = 0;
                do
                :: i < SC && pser[SLOT(i)] != 0 && freec[i] -> chunk = i; break
                :: i < SC && !(pser[SLOT(i)] != 0 && freec[i]) -> i++
                :: else -> break
                od;
                i = 0
            }
        :: else -> skip
        fi;
        if
        :: chunk != NONE ->
            d_step {
                assert(exists[pser[SLOT(chunk)]]);     /* P9 */
                assert(refs[chunk] == 0);              /* I1 */
                freec[chunk] = false;
                refs[chunk] = 1;
                lent[chunk] = true
            }
            if
            :: true ->
                j = 0;
                do
                :: j < NSUB -> deliver(j, chunk); j++
                :: else -> break
                od;
                j = 0
            :: true -> skip                             /* returned unpublished */
            fi;
            d_step { lent[chunk] = false; release_ref(chunk) }
        :: else -> skip                                 /* ZL_EEXHAUSTED / ZL_ENOSHM */
        fi;
        chunk = 0
    :: else -> break
    od;
    pub_done = true;
    /* Serve returns until every subscription finished, giving idle
     * segments back meanwhile. */
    do
    :: d_step {
           i = 0;
           do
           :: i < NSUB && done[i] && rtail[i] == rhead[i] -> i++
           :: else -> break
           od
       }
       if
       :: i == NSUB -> break
       :: else ->
           i = 0;
           j = 0;
           do
           :: j < NSUB -> drain_returns(j); j++
           :: else -> break
           od;
           j = 0;
           shrink_one()
       fi
    od;
    /* I1, never lost: every chunk of every segment left is free. */
    i = 0;
    do
    :: i < SC -> assert(pser[SLOT(i)] == 0 || (freec[i] && refs[i] == 0)); i++
    :: else -> break
    od
}

/* rescan_locked() in subscription/pools.c: for each slot, keep the mapping the
 * table still names, let go of one it no longer names (a held loan keeps
 * it mapped, S2), map a new one (which may be gone already: then the slot
 * stays empty). */
inline rescan(j) {
    seen[j] = q;
    k = 0;
    do
    :: k < S ->
        s = table[k];                   /* relaxed: ordered by the acquire of seq */
        d_step {
            if
            :: view[j * S + k] != s ->
                if
                :: view[j * S + k] != 0 && !(held[j] != NONE && hserial[j] == view[j * S + k]) ->
                    mapped[j * (SERIALS + 1) + view[j * S + k]] = false
                :: else -> skip
                fi;
                if
                :: s != 0 && exists[s] -> mapped[j * (SERIALS + 1) + s] = true; view[j * S + k] = s
                :: else -> view[j * S + k] = 0
                fi
            :: else -> skip
            fi
        }
        k++
    :: else -> break
    od;
    k = 0; s = 0
}

proctype subscription(byte j) {
    byte h, t, e, k, s, q;
    bool ok;
    do
    :: held[j] == NONE && dtail[j] != dhead[j] ->
#if MUTANT == 3
        q = seq;                        /* too early: before the entry */
#endif
        t = dtail[j];                   /* acquire */
        h = dhead[j];
        if
        :: h < t ->
            e = dentry[j * DC + h % DC];
            atomic {
                ok = dhead[j] == h;
                if
                :: ok -> dhead[j] = h + 1
                :: else -> skip          /* reclaimed meanwhile */
                fi
            }
            if
            :: ok ->
                assert(e == gd_entry[j * K + h]);
#if MUTANT != 3
                q = seq;                /* acquire, after the entry (S7) */
#endif
                if
                :: q != seen[j] -> rescan(j)
                :: else -> skip
                fi;
                /* chunk_of(): the entry's slot resolves to the segment it
                 * was pushed from, mapped (S7). */
                d_step {
                    s = view[j * S + SLOT(e)];
                    assert(s != 0 && s == gd_serial[j * K + h] && mapped[j * (SERIALS + 1) + s]);
                    held[j] = e;
                    hserial[j] = s;
                    s = 0
                }
            :: else -> skip
            fi
        :: else -> skip
        fi;
        h = 0; t = 0; e = 0; ok = false; q = 0
    :: held[j] != NONE ->
        h = rhead[j];                   /* acquire */
        if
        :: rtail[j] - h < RC ->
            d_step {
                rentry[j * RC + rtail[j] % RC] = held[j];
                gr_serial[j * RC + rtail[j] % RC] = hserial[j]
            }
            d_step {
                rtail[j]++;
                /* S2: a return unmaps nothing (a retired segment goes at a
                 * later take, subscription/pools.c). */
                held[j] = NONE;
                hserial[j] = 0
            }
        :: else -> skip                 /* full: the publisher drains first */
        fi;
        h = 0
    :: pub_done && dtail[j] == dhead[j] && held[j] == NONE ->
        done[j] = true;
        break
    od
}

/* P8 and S2 at every reachable state: the monitor's single step can run at
 * any point of any interleaving. */
active proctype monitor() {
    byte j, p, e, s;
    ready;
    d_step {
        j = 0;
        do
        :: j < NSUB ->
            /* Entries queued in the deliver ring. */
            p = dhead[j];
            do
            :: p < dtail[j] ->
                e = gd_entry[j * K + p];
                s = gd_serial[j * K + p];
                assert(exists[s] && pser[SLOT(e)] == s && table[SLOT(e)] == s);
                assert(!freec[e] && out[j * SC + e]);
                p++
            :: else -> break
            od;
            /* Entries queued in the return ring. */
            p = rhead[j];
            do
            :: p < rtail[j] ->
                e = rentry[j * RC + p % RC];
                s = gr_serial[j * RC + p % RC];
                assert(exists[s] && pser[SLOT(e)] == s && table[SLOT(e)] == s);
                p++
            :: else -> break
            od;
            /* The loan it holds. */
            if
            :: held[j] != NONE ->
                s = hserial[j];
                assert(exists[s] && pser[SLOT(held[j])] == s && !freec[held[j]]);
                assert(mapped[j * (SERIALS + 1) + s])
            :: else -> skip
            fi;
            j++
        :: else -> break
        od
    }
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < NSUB -> held[i] = NONE; run subscription(i); i++
        :: else -> break
        od;
        ready = true
    }
}
