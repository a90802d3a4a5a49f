/* A model of zloan's shared-memory delivery protocol, for spin.
 *
 * One publisher, NSUB subscriptions (1 or 2). Per connection: a deliver
 * ring (publisher -> subscription) with keep-last reclamation of the oldest
 * entry by compare-and-swap on head, and a return ring (subscription ->
 * publisher). The publisher counts references privately (refs, one
 * outstanding bit per connection and chunk, the user's loan). A
 * subscription may die at any step; the publisher's liveness check then
 * drops its connection and takes back what it had outstanding there.
 *
 * Checked, for every interleaving (exhaustive search, small bounds):
 *   I1  (docs/design.md) a chunk is free only when nothing refers to it: never
 *       while lent, queued in a deliver ring, held by a live subscription or
 *       waiting in a return ring; it is never freed twice, and never lost:
 *       when everyone is finished, every chunk is free again (the monitor
 *       process, release_ref and the publisher's final assertion);
 *   R1  0 <= tail - head <= capacity for the positions each side reads;
 *   R4  a subscription acts only on an entry it read at the position its CAS
 *       took (ghost record of what was pushed where);
 *   P2  a chunk comes back on a return ring only while its outstanding bit
 *       is set (an honest subscription never returns anything twice);
 *   P1  refs are exact between the publisher's calls; within a fan-out
 *       (publisher/hot_path.h) the chunk being delivered keeps the user's
 *       one reference, becoming the first holder's, until the deliveries'
 *       count is added after the loop: the monitor checks that nothing in
 *       the loop lets it go (the ghost `fanning`). MUTANT 1 lets the
 *       user's reference go at the end as well, and must fail;
 *   no deadlock: every run ends with all processes at their ends (spin's
 *       invalid end state check).
 *
 * Lossless connections (publisher/lossless.c P6, subscription/subscription.h S6), those whose bit
 * is set in LOSSLESS: the publisher never reclaims from them (asserted in
 * deliver); before delivering to anyone it waits until each has room
 * (fewer than DEPTH queued and fewer than BUDGET chunks outstanding),
 * sleeping on a futex word as the C code does: set the connection's
 * sleeping flag, read the wake word and the generation, look at the room
 * (and at returns not yet drained), sleep until one of the two words
 * changes, clear the flag; each round first reads the generation, reaps
 * what the liveness monitor reported and drains returns. The subscription,
 * after each take and each return, looks at the flag and, when it is set,
 * takes it down and bumps the wake word (zl__notify_room). A
 * dying subscription wakes nobody: the liveness monitor (the process
 * liveness_thread below) bumps the generation some time after. The
 * publisher's max_blocking_time is infinite here, so a lost wake-up leaves
 * it asleep forever, which spin reports as an invalid end state.
 * Interleavings are sequentially consistent: the seq_cst fences of the C
 * code (notify.h) are what make that assumption hold for these four
 * accesses.
 *
 * Positions are free-running counters, as in C (there 64-bit, so no ABA);
 * here a byte, which cannot wrap within K publications. Each labelled step
 * below is one atomic access of the C code (a load, a store or a CAS), so
 * spin interleaves the other processes between them; private bookkeeping
 * that no other process reads is folded into the step it follows.
 *
 * Batches (BATCH > 1; publisher/batch.c P10, P11, docs/design.md): the
 * publisher holds up to BATCH loans and publishes them in parts, each of at
 * most DEPTH entries and, for a lossless connection, no more than its room
 * (after waiting, as a single publish does, for room for one). Per
 * connection a part first reclaims down to DEPTH - n entries, then writes
 * its n entries one relaxed store at a time and moves the tail past all of
 * them with one release store (R2); each push's reference is counted with
 * it, the loans' let go after the part, so refs stay exact throughout (the
 * monitor's P1 check, no `fanning` exception). Checked besides the above:
 * R5 for every position written (p - head < DC) and keep-last's bound (a
 * ring never holds more than DEPTH after a part). MUTANT 2 reclaims as a
 * single publish does (down to DEPTH - 1) before a part of two, and must
 * fail.
 *
 * Batched takes and returns (TAKE > 1; subscription/take.c and returns.c,
 * S6): a subscription reads up to TAKE entries below the tail it loaded
 * (no more than it has loans left) and claims them all with one CAS of
 * head, h -> h + n (R4: all of them are its own, each checked against the
 * ghost record), then fences and looks for a sleeping publisher once; it
 * returns every loan it holds that fits in one go, writing the entries
 * one relaxed store at a time and moving the tail past all of them with
 * one release store (R2), then looks once. MUTANT 3 claims TAKE entries
 * whatever the tail it loaded covers, MUTANT 4 returns one entry more than
 * the return ring has room for (R5); each must fail (MUTANT 4 with RC=2,
 * where a batch of L=2 can meet the bound).
 *
 * Not modelled: history for late joiners, connection set-up and reconnection,
 * lingering pools, returns from several threads of one subscription (the
 * return token, subscription/returns.c S3/S4), the wait sets' wake-ups (notify.h),
 * the publisher's timeout (it only shortens a wait).
 */

#ifndef NSUB
#define NSUB 2      /* subscriptions */
#endif
#ifndef N
#define N 5         /* chunks in the pool */
#endif
#ifndef DC
#define DC 2        /* deliver ring capacity */
#endif
#ifndef DEPTH
#define DEPTH 2     /* keep-last depth (<= DC) */
#endif
#ifndef RC
#define RC 4        /* return ring capacity */
#endif
#ifndef K
#define K 4         /* loans the publisher takes (publications attempted) */
#endif
#ifndef L
#define L 1         /* loans a subscription holds at most */
#endif
#ifndef LOSSLESS
#define LOSSLESS 0  /* bit j set: subscription j is lossless */
#endif
#ifndef BUDGET
#define BUDGET 255  /* chunks a lossless connection may have outstanding */
#endif
#ifndef MUTANT
#define MUTANT 0    /* 1: a broken fan-out (P1 above), 2: a batch's part
                     * without room for all of it, 3: a batched take past
                     * the tail it loaded, 4: a batched return past the
                     * return ring's room; each must fail */
#endif
#ifndef BATCH
#define BATCH 1     /* loans published per call (1: zl_publisher_publish_loan) */
#endif
#ifndef TAKE
#define TAKE 1      /* entries a take claims at most (1: zl_subscription_take_loan) */
#endif
#define IS_LOSSLESS(j) (((LOSSLESS) >> (j)) & 1)
#define NONE 255

/* ---- shared memory: a subscription's queue, one connection each ---- */
typedef connection_t {
    byte dentry[DC];   /* deliver ring entries (chunk indices) */
    byte rentry[RC];   /* return ring entries */
    /* Publisher-private, kept beside for the model's convenience. */
    bool out[N];       /* outstanding bit per chunk (publisher/connection.c P2) */
    byte mirror[DC];   /* what the publisher wrote (ring.h R4) */
    /* Ghost: the chunk pushed at each position, for the R4 check only. */
    byte ghost[K];
    /* Subscription-private: its held loans (NONE: free slot). */
    byte held[L];
};
connection_t C[NSUB];
byte dhead[NSUB];   /* deliver head: CAS by both sides */
byte dtail[NSUB];   /* deliver tail: publisher only */
byte rhead[NSUB];   /* return head: publisher only */
byte rtail[NSUB];   /* return tail: subscription only */

/* ---- publisher-private bookkeeping (publisher/pool.c P1) ---- */
byte refs[N];
bool freec[N];      /* on the free stack */
bool lent[N];       /* the user's loan */
bool connected[NSUB];
byte fanning = NONE; /* ghost: the chunk a fan-out is delivering */

/* ---- what the processes tell each other in the model only ---- */
bool dead[NSUB];    /* the subscription process died (kill -9) */
bool done[NSUB];    /* the subscription finished cleanly */
bool pub_done;      /* the publisher published everything it will */
bool ready;         /* init laid out the pool */

/* ---- lossless wake-ups (shared memory) ---- */
bool sleeping[NSUB]; /* the connection's publisher_sleeping flag */
byte wake[NSUB];     /* its publisher_wake (a futex word) */
byte gen;            /* the registry's generation (a futex word) */
bool poked[NSUB];    /* the liveness monitor reported this death */

/* release_ref in publisher/publisher.h: a chunk is freed when its last reference
 * goes, exactly once. */
inline release_ref(c) {
    assert(refs[c] > 0);
    refs[c]--;
    if
    :: refs[c] == 0 -> assert(!freec[c]); freec[c] = true
    :: else -> skip
    fi
}

/* disconnect() in publisher/connection.c: every chunk the connection still had goes
 * back (the subscription is dead: what it held and queued is nobody's). */
inline disconnect(j) {
    d_step {
        i = 0;
        do
        :: i < N ->
            if
            :: C[j].out[i] -> C[j].out[i] = false; release_ref(i)
            :: else -> skip
            fi;
            i++
        :: else -> break
        od;
        i = 0;
        connected[j] = false
    }
}

/* drain_returns() in publisher/connection.c, for connection j. */
inline drain_returns(j) {
    if
    :: connected[j] ->
        /* zl__return_available: acquire load of the return tail (R2). */
        t = rtail[j];
        assert(t - rhead[j] <= RC);    /* R1 */
        /* zl__return_entry for each position, then zl__return_consumed
         * (release store of head): the subscription writes no slot below
         * head + RC, so reading and releasing form one step here. */
        d_step {
            p = rhead[j];
            do
            :: p != t ->
                c = C[j].rentry[p % RC];
                assert(c < N && C[j].out[c]);   /* P2: honest returns only */
                C[j].out[c] = false;
                release_ref(c);
                p++
            :: else -> break
            od;
            rhead[j] = t;
            c = 0; p = 0
        }
    :: else -> skip
    fi
}

/* The liveness check in update() (publisher/connection.c): at any time after a
 * subscription died, its slot lock is free and the publisher drops it. */
inline liveness() {
    j = 0;
    do
    :: j < NSUB ->
        if
        :: dead[j] && connected[j] -> disconnect(j)
        :: true -> skip
        fi;
        j++
    :: else -> break
    od;
    j = 0
}

/* deliver() in publisher/connection.c: keep-last, then push, into connection j. */
inline deliver(j, chunk) {
    /* zl__deliver_reclaim_oldest. st 0: load head (acquire); 1: look at
     * the fill and, while the ring holds DEPTH entries, CAS the oldest
     * away; 2: room for one more. */
    st = 0;
    do
    :: st == 0 -> h = dhead[j]; st = 1
    :: st == 1 ->
        assert(dtail[j] - h <= DC);    /* R1 (the consumer is honest) */
        if
        :: dtail[j] - h >= DEPTH ->
            /* P5: the publisher waited for room; h is no older than the
             * head it saw then, so a lossless ring never looks full here. */
            assert(!IS_LOSSLESS(j));
            c = C[j].mirror[h % DC];   /* private mirror, not the ring */
            /* The CAS h -> h+1: success means the entry at h is ours (R4);
             * failure loads the head the consumer moved. */
            atomic {
                if
                :: dhead[j] == h ->
                    dhead[j] = h + 1;
                    if
                    :: C[j].out[c] -> C[j].out[c] = false; release_ref(c)
                    :: else -> skip
                    fi;
                    st = 0
                :: else -> h = dhead[j]
                fi;
                c = 0
            }
        :: else -> st = 2
        fi
    :: st == 2 -> st = 0; break
    od;
    skip;
    /* zl__deliver_push: the relaxed store of the entry ... */
    d_step {
        C[j].mirror[dtail[j] % DC] = chunk;
        C[j].dentry[dtail[j] % DC] = chunk;
        C[j].ghost[dtail[j]] = chunk;
        h = 0
    }
    /* ... then the release store of tail (R2); the publisher's private
     * bit and count go with it (the reference is added after the loop,
     * P1). */
    d_step {
        C[j].out[chunk] = true;
        nd++;
        dtail[j]++
    }
}

/* room_state() in publisher/lossless.c: rm = connection j can take one more. The
 * count of outstanding bits is private; head and the fill are one acquire
 * load (positions only grow, so reading them in one step is safe). */
inline room(j) {
    d_step {
        cnt = 0;
        i = 0;
        do
        :: i < N -> cnt = cnt + (C[j].out[i] -> 1 : 0); i++
        :: else -> break
        od;
        i = 0;
        rm = cnt < BUDGET && dtail[j] - dhead[j] < DEPTH;
        cnt = 0
    }
}

/* wait_for_room() and sleep_for_room() in publisher/lossless.c, connection by
 * connection: room seen on one connection stays (only the publisher adds
 * entries and outstanding chunks), so once the last is done all have room. */
inline wait_for_room() {
    j = 0;
    do
    :: j < NSUB ->
        if
        :: IS_LOSSLESS(j) ->
            do
            :: connected[j] ->
                /* The generation is read before update(), which reaps
                 * what the monitor reported, then drain_returns(). */
                g0 = gen;
                if
                :: poked[j] && connected[j] -> disconnect(j)
                :: else -> skip
                fi;
                drain_returns(j);
                if
                :: !connected[j] -> break
                :: else -> skip
                fi;
                room(j);
                if
                :: rm -> break
                :: else -> skip
                fi;
                /* sleep_for_room. Arm: read both words, then set the flag
                 * (seq_cst): a waker takes the flag down before it bumps
                 * the word, so the bump must come after our read. */
                w = wake[j];
                g = gen;
                sleeping[j] = true;
                /* seq_cst fence, then look: room, returns to drain, a
                 * generation change since before update(). */
                room(j);
                if
                :: !rm && rtail[j] == rhead[j] && g == g0 ->
                    /* futex_waitv: sleeps until a word differs. */
                    (wake[j] != w || gen != g)
                :: else -> skip
                fi;
                sleeping[j] = false;
                w = 0; g = 0; g0 = 0
            :: else -> break
            od
        :: else -> skip
        fi;
        j++
    :: else -> break
    od;
    j = 0; rm = false
}

#if BATCH > 1
/* room count for lossless connection j (lossless_room in
 * publisher/batch.c): rn = entries it can take now, queue and budget. */
inline room_count(j) {
    d_step {
        cnt = 0;
        i = 0;
        do
        :: i < N -> cnt = cnt + (C[j].out[i] -> 1 : 0); i++
        :: else -> break
        od;
        i = 0;
        rn = DEPTH - (dtail[j] - dhead[j]);
        if
        :: BUDGET - cnt < rn -> rn = BUDGET - cnt
        :: else -> skip
        fi;
        cnt = 0
    }
}

/* deliver_part() in publisher/batch.c: room for n (P11), n relaxed entry
 * stores, one release store of tail (R2), into connection j. */
inline deliver_part(j, n) {
    st = 0;
    do
    :: st == 0 -> h = dhead[j]; st = 1
    :: st == 1 ->
        assert(dtail[j] - h <= DC);    /* R1 */
        if
#if MUTANT == 2
        :: dtail[j] - h >= DEPTH ->
#else
        :: dtail[j] - h >= DEPTH - n + 1 ->
#endif
            assert(!IS_LOSSLESS(j));   /* P10: a lossless one has room */
            c = C[j].mirror[h % DC];
            atomic {
                if
                :: dhead[j] == h ->
                    dhead[j] = h + 1;
                    if
                    :: C[j].out[c] -> C[j].out[c] = false; release_ref(c)
                    :: else -> skip
                    fi;
                    st = 0
                :: else -> h = dhead[j]
                fi;
                c = 0
            }
        :: else -> st = 2
        fi
    :: st == 2 -> st = 0; break
    od;
    /* zl__deliver_write, entry by entry: R5 for each position. */
    q = 0;
    do
    :: q < n ->
        d_step {
            assert(dtail[j] + q - dhead[j] < DC);   /* R5 */
            C[j].mirror[(dtail[j] + q) % DC] = bat[q];
            C[j].dentry[(dtail[j] + q) % DC] = bat[q];
            C[j].ghost[dtail[j] + q] = bat[q];
            q++
        }
    :: else -> break
    od;
    skip;   /* a break must not jump into the d_step below */
    /* zl__deliver_publish: one release store of tail; each push's bit
     * and reference go with it (P2, P1). */
    d_step {
        q = 0;
        do
        :: q < n -> C[j].out[bat[q]] = true; refs[bat[q]]++; q++
        :: else -> break
        od;
        q = 0;
        dtail[j] = dtail[j] + n;
        h = 0
    }
    assert(dtail[j] - dhead[j] <= DEPTH)   /* keep-last keeps at most DEPTH */
}

/* zl__shm_publisher_publish_loans: one part of the nb loans held (bat[]),
 * the first n; the others stay lent and shift to the front. */
inline publish_part() {
    j = 0;
    do
    :: j < NSUB -> drain_returns(j); j++
    :: else -> break
    od;
#if LOSSLESS
    wait_for_room();
#endif
    skip;
    d_step {
        n = nb;
        if
        :: n > DEPTH -> n = DEPTH
        :: else -> skip
        fi
    }
#if LOSSLESS
    j = 0;
    do
    :: j < NSUB ->
        if
        :: IS_LOSSLESS(j) && connected[j] ->
            room_count(j);
            if
            :: rn < n -> n = rn
            :: else -> skip
            fi;
            rn = 0
        :: else -> skip
        fi;
        j++
    :: else -> break
    od;
#endif
    assert(n > 0);   /* wait_for_room saw room for one on each */
    j = 0;
    do
    :: j < NSUB ->
        if
        :: connected[j] -> deliver_part(j, n)
        :: else -> skip
        fi;
        j++
    :: else -> break
    od;
    j = 0;
    /* The loans' references go after the part (P1). */
    d_step {
        q = 0;
        do
        :: q < n -> lent[bat[q]] = false; release_ref(bat[q]); q++
        :: else -> break
        od;
        q = 0;
        do
        :: q + n < nb -> bat[q] = bat[q + n]; q++
        :: else -> break
        od;
        nb = nb - n;
        q = 0;
        n = 0
    };
    skip
}
#endif

active proctype publisher() {
    byte i, j, c, h, t, p, st, chunk, round, cnt, w, g, g0, nd;
    bool rm;
#if BATCH > 1
    byte bat[BATCH], nb, n, q, rn;
    bool dry;
#endif
    ready;
    do
    :: round < K ->
        round++;
        /* zl__shm_publisher_loan: drain, maybe look for dead peers, lend. */
        j = 0;
        do
        :: j < NSUB -> drain_returns(j); j++
        :: else -> break
        od;
        liveness();
        d_step {
            chunk = NONE;
            i = 0;
            do
            :: i < N && freec[i] -> chunk = i; break
            :: i < N && !freec[i] -> i++
            :: else -> break
            od;
            i = 0;
            if
            :: chunk != NONE ->
                assert(refs[chunk] == 0);   /* I1: only free chunks are lent */
                freec[chunk] = false;
                refs[chunk] = 1;
                lent[chunk] = true
            :: else -> skip                 /* ZL_EEXHAUSTED */
            fi
        }
#if BATCH > 1
        /* zl_publisher_publish_loans: lend up to BATCH, then publish the
         * batch (in parts) when it is full, when the pool ran dry, at the
         * end, or whenever the user chooses. */
        d_step {
            dry = chunk == NONE;
            if
            :: !dry -> bat[nb] = chunk; nb++
            :: else -> skip
            fi;
            chunk = 0
        }
        if
        :: nb > 0 && (nb == BATCH || dry || round == K) ->
            do
            :: nb > 0 -> publish_part()
            :: else -> break
            od
        :: nb > 0 && nb < BATCH && !dry && round < K ->
            do  /* published before the batch is full: the user's choice */
            :: nb > 0 -> publish_part()
            :: else -> break
            od
        :: nb < BATCH && !dry && round < K -> skip   /* lend another */
        :: nb == 0 && (dry || round == K) -> skip
        fi;
        dry = false
#else
        if
        :: chunk != NONE ->
            if
            :: true ->
                /* zl__shm_publisher_publish_loan */
                j = 0;
                do
                :: j < NSUB -> drain_returns(j); j++
                :: else -> break
                od;
#if LOSSLESS
                wait_for_room();
#endif
                j = 0;
                d_step { nd = 0; fanning = chunk }
                do
                :: j < NSUB ->
                    if
                    :: connected[j] -> deliver(j, chunk)
                    :: else -> skip
                    fi;
                    j++
                :: else -> break
                od;
                j = 0;
                /* zl__pub_fan_out: the user's reference becomes the first
                 * delivery's; the others' are added now. */
                d_step {
                    lent[chunk] = false;
                    fanning = NONE;
#if MUTANT == 1
                    release_ref(chunk);
                    refs[chunk] = refs[chunk] + nd;
#else
                    if
                    :: nd == 0 -> release_ref(chunk)
                    :: else -> refs[chunk] = refs[chunk] + nd - 1
                    fi;
#endif
                    nd = 0
                }
            :: true ->
                /* zl__shm_publisher_return_loan: the loan goes back unused. */
                d_step { lent[chunk] = false; release_ref(chunk) }
            fi;
            chunk = 0
        :: else -> skip
        fi
#endif
    :: else -> break
    od;
    pub_done = true;
    /* Serve until every subscription finished or died and was dropped. */
    do
    :: d_step {
           i = 0;
           do
           :: i < NSUB && (done[i] && rtail[i] == rhead[i] || dead[i] && !connected[i]) -> i++
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
           do
           :: j < NSUB ->
               if
               :: dead[j] && connected[j] -> disconnect(j)
               :: else -> skip
               fi;
               j++
           :: else -> break
           od;
           j = 0
       fi
    od;
    /* I1, "never lost": nothing refers to any chunk any more. */
    i = 0;
    do
    :: i < N -> assert(freec[i] && refs[i] == 0 && !lent[i]); i++
    :: else -> break
    od
}

/* A subscription may die between any two of its steps (those whose bit is
 * set in MORTAL; all by default). */
#ifndef MORTAL
#define MORTAL 255
#endif
#define MAY_DIE  if :: (((MORTAL) >> j) & 1) -> dead[j] = true; goto died :: true -> skip fi

proctype subscription(byte j) {
    byte h, t, e, k, nheld;
    bool ok;
#if TAKE > 1
    byte n, i;
    byte es[TAKE];
#endif
    do
    :: nheld < L && dtail[j] != dhead[j] ->
        /* zl__deliver_peek: acquire loads of tail, then head. */
        t = dtail[j];
        MAY_DIE;
        h = dhead[j];
        if
        :: t == h -> skip                       /* empty after all */
        :: t != h && h > t -> skip              /* our tail is stale: again */
        :: t != h && h < t ->
            assert(t - h <= DC);                /* R1 */
#if TAKE > 1
            /* zl__shm_subscription_take_loans: up to TAKE entries below the
             * tail loaded, no more than the loans left. */
            n = t - h;
#if MUTANT == 3
            n = TAKE;                           /* past the tail loaded */
#endif
            if
            :: n > TAKE -> n = TAKE
            :: else -> skip
            fi;
            if
            :: n > L - nheld -> n = L - nheld
            :: else -> skip
            fi;
            i = 0;
            do
            :: i < n -> MAY_DIE; es[i] = C[j].dentry[(h + i) % DC]; i++   /* relaxed loads */
            :: else -> break
            od;
            MAY_DIE;
            /* zl__deliver_take_n: CAS h -> h+n; every entry taken is held. */
            atomic {
                ok = dhead[j] == h;
                if
                :: ok ->
                    dhead[j] = h + n;
                    i = 0;
                    do
                    :: i < n ->
                        assert(es[i] == C[j].ghost[h + i]);      /* R4 */
                        assert(!freec[es[i]] && C[j].out[es[i]]); /* I1 */
                        k = 0;
                        do
                        :: C[j].held[k] == NONE -> C[j].held[k] = es[i]; break
                        :: else -> k++
                        od;
                        nheld++;
                        i++
                    :: else -> break
                    od
                :: else -> skip                  /* reclaimed meanwhile */
                fi;
                k = 0; i = 0
            }
#else
            MAY_DIE;
            e = C[j].dentry[h % DC];            /* relaxed load of the entry */
            MAY_DIE;
            /* zl__deliver_take: CAS h -> h+1; the taken chunk is held. */
            atomic {
                ok = dhead[j] == h;
                if
                :: ok ->
                    dhead[j] = h + 1;
                    assert(e == C[j].ghost[h]);            /* R4 */
                    assert(!freec[e] && C[j].out[e]);      /* I1 */
                    k = 0;
                    do
                    :: C[j].held[k] == NONE -> C[j].held[k] = e; break
                    :: else -> k++
                    od;
                    nheld++
                :: else -> skip                  /* reclaimed meanwhile */
                fi;
                k = 0
            }
#endif
#if LOSSLESS
            MAY_DIE;
            /* wake_publisher (S5): seq_cst fence, load the flag. */
            if
            :: ok && IS_LOSSLESS(j) && sleeping[j] ->
                /* The exchange that takes the flag down, then the bump (a
                 * death in between leaves it to the liveness monitor). */
                atomic { ok = sleeping[j]; sleeping[j] = false };
                if
                :: ok -> MAY_DIE; wake[j]++
                :: else -> skip
                fi
            :: else -> skip
            fi
#endif
        fi;
        h = 0; t = 0; e = 0; ok = false;
        MAY_DIE
    :: nheld > 0 ->
        /* zl__return_push (from flush_locked): acquire load of head. */
        h = rhead[j];
        MAY_DIE;
        if
#if TAKE > 1
        :: rtail[j] - h < RC ->
            /* zl__shm_subscription_return_loans: every held loan that
             * fits, one relaxed store of an entry each (the slot freed),
             * then one release store of tail past all of them. */
            n = 0;
            k = 0;
            do
#if MUTANT == 4
            :: k < L && C[j].held[k] != NONE && rtail[j] + n - h <= RC ->
#else
            :: k < L && C[j].held[k] != NONE && rtail[j] + n - h < RC ->
#endif
                C[j].rentry[(rtail[j] + n) % RC] = C[j].held[k];
                atomic { C[j].held[k] = NONE; n++; k++ };
                MAY_DIE
            :: k < L && (C[j].held[k] == NONE || rtail[j] + n - h == RC) -> k++
            :: k == L -> break
            od;
            atomic { rtail[j] = rtail[j] + n; nheld = nheld - n; k = 0; n = 0 }
#else
        :: rtail[j] - h < RC ->
            k = 0;
            do
            :: C[j].held[k] != NONE -> break
            :: else -> k++
            od;
            /* Relaxed store of the entry ... */
            C[j].rentry[rtail[j] % RC] = C[j].held[k];
            MAY_DIE;
            /* ... then the release store of tail; the loan slot is free. */
            d_step { rtail[j]++; C[j].held[k] = NONE; nheld--; k = 0 }
#endif
#if LOSSLESS
            MAY_DIE;
            /* wake_publisher (S5) after the return. */
            if
            :: IS_LOSSLESS(j) && sleeping[j] ->
                atomic { ok = sleeping[j]; sleeping[j] = false };
                if
                :: ok -> wake[j]++
                :: else -> skip
                fi;
                ok = false
            :: else -> skip
            fi
#endif
        :: else -> skip      /* ZL_EEXHAUSTED: retried after the publisher drained */
        fi;
        h = 0;
        MAY_DIE
    :: pub_done && dtail[j] == dhead[j] && nheld == 0 ->
        done[j] = true;
        break
    od;
    goto finished;
died:
    /* The kernel drops the process's locks; nothing else happens. */
    skip;
finished:
    skip
}

/* The liveness monitor (liveness.c): some time after a subscription died,
 * it bumps the generation, which wakes a publisher asleep on it. Ends once
 * every subscription finished or was reported. */
#if LOSSLESS
active proctype liveness_thread() {
    ready;
    do
    :: atomic { dead[0] && !poked[0] -> poked[0] = true; gen++ }
    :: atomic { NSUB > 1 && dead[NSUB - 1] && !poked[NSUB - 1] -> poked[NSUB - 1] = true; gen++ }
    :: atomic {
           (done[0] || poked[0]) && (NSUB == 1 || done[NSUB - 1] || poked[NSUB - 1]) -> break
       }
    od
}
#endif

/* I1 at every reachable state: the monitor's single step can run at any
 * point of any interleaving. */
active proctype monitor() {
    byte c, j, p, count;
    ready;
    d_step {
        c = 0;
        do
        :: c < N ->
            count = (lent[c] -> 1 : 0);
            j = 0;
            do
            :: j < NSUB -> count = count + (C[j].out[c] -> 1 : 0); j++
            :: else -> break
            od;
            if
            :: c == fanning ->
                /* P1 within a fan-out: the user's one reference holds it. */
                assert(lent[c] && refs[c] == 1 && !freec[c])
            :: else ->
                assert(refs[c] == count);            /* P1: refs are exact */
                assert(freec[c] == (refs[c] == 0))   /* free iff unreferenced */
            fi;
            c++
        :: else -> break
        od;
        j = 0;
        do
        :: j < NSUB ->
            if
            :: !dead[j] ->
                /* Held by a live subscription: not free. */
                p = 0;
                do
                :: p < L ->
                    assert(C[j].held[p] == NONE ||
                           (!freec[C[j].held[p]] && C[j].out[C[j].held[p]]));
                    p++
                :: else -> break
                od;
                /* Queued in its deliver ring: not free. */
                p = dhead[j];
                do
                :: p < dtail[j] -> assert(!freec[C[j].ghost[p]] && C[j].out[C[j].ghost[p]]); p++
                :: else -> break
                od;
                /* Waiting in its return ring: not free. */
                p = rhead[j];
                do
                :: p < rtail[j] ->
                    assert(!freec[C[j].rentry[p % RC]] && C[j].out[C[j].rentry[p % RC]]);
                    p++
                :: else -> break
                od
            :: else -> skip
            fi;
            j++
        :: else -> break
        od
    }
}

init {
    byte i, k;
    atomic {
        i = 0;
        do
        :: i < N -> freec[i] = true; i++
        :: else -> break
        od;
        i = 0;
        do
        :: i < NSUB ->
            connected[i] = true;
            k = 0;
            do
            :: k < L -> C[i].held[k] = NONE; k++
            :: else -> break
            od;
            run subscription(i);
            i++
        :: else -> break
        od;
        ready = true
    }
}
