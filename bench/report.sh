#!/usr/bin/env bash
# Turns bench/run.sh's results.tsv and hot.tsv into table.txt, results.json
# and latency.png (gnuplot). Usage: bench/report.sh OUT_DIR [DATE]
# Either file may be missing or empty (ZLOAN_BENCH_ONLY=hot writes hot.tsv
# alone); what it would give is then left out.
set -euo pipefail
OUT=$1
DATE=${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
TSV=$OUT/results.tsv
HOT=$OUT/hot.tsv
[ -f "$TSV" ] || : >"$TSV"
[ -f "$HOT" ] || : >"$HOT"

fmt_ns='function t(ns) { if (ns < 10000) return sprintf("%.0f ns", ns);
                         if (ns < 10000000) return sprintf("%.1f us", ns / 1000);
                         return sprintf("%.1f ms", ns / 1000000) }
        function sz(b) { if (b >= 1048576) return (b / 1048576) "MiB";
                         if (b >= 1024) return (b / 1024) "KiB"; return b "B" }'

main_table() {
    echo "One-way latency (round trip / 2); e2e includes filling the payload, transport does not."
    printf '%-10s %-8s %-7s %-9s %8s %10s %10s %10s %10s %10s\n' system variant size metric n \
        p50 p90 p99 p99.9 max
    awk -F'\t' "$fmt_ns"'
        $1 == "latency" { printf "%-10s %-8s %-7s %-9s %8d %10s %10s %10s %10s %10s\n",
                          $2, $3, sz($4), $5, $6, t($7), t($8), t($9), t($10), t($11) }' "$TSV"
    echo
    echo "Throughput, one-way stream (received/s: the slowest subscription)"
    echo "(variant busy: keep-last, the source never waits; lossless: nothing dropped, the source waits)"
    printf '%-10s %-8s %-7s %5s %14s %14s %12s\n' system variant size subs received/s published/s lost
    awk -F'\t' "$fmt_ns"'
        $1 == "throughput" { printf "%-10s %-8s %-7s %5d %14.0f %14.0f %12d\n", $2, $3, sz($4), $5, $6, $7, $8 }' "$TSV"
}

# The hot path (hot.tsv): every figure a ratio against a baseline of the same run.
awk_median='function median(list,   a, n, i, j, t) {
                n = split(list, a, " ")
                for (i = 2; i <= n; i++)
                    for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            function least(list,   a, n, i, m) {
                n = split(list, a, " "); m = a[1]
                for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]
                return m }
            function most(list,   a, n, i, m) {
                n = split(list, a, " "); m = a[1]
                for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]
                return m }'
hot_table() {
    # ZLOAN_BENCH_ONLY=batch: throughput alone.
    if grep -q '^instructions' "$HOT"; then instruction_tables; fi
    throughput_table
}
instruction_tables() {
    echo "Instructions per in-process round and per call (callgrind Ir, N and 2N rounds, difference / N;"
    echo "a call's figure is its inclusive cost; round: main's, the loop included)"
    printf '%-9s %-8s %7s %7s %8s %7s %7s   %s\n' mode system round loan publish take return ratio
    awk -F'\t' '$1 == "instructions" { v[$2, $3, $4] = $5 }
        function show(s, m,   r) {
            if (!((s, m, "round") in v)) return
            r = ""
            if (s == "iceoryx" && v["zloan", m, "round"] > 0)
                r = sprintf("iceoryx/zloan %.2fx", v[s, m, "round"] / v["zloan", m, "round"])
            if (s == "zloan" && m != "fixed" && v["zloan", "fixed", "round"] > 0)
                r = sprintf("%s/fixed %.2fx", m, v[s, m, "round"] / v["zloan", "fixed", "round"])
            printf "%-9s %-8s %7s %7s %8s %7s %7s   %s\n", m, s, v[s, m, "round"], v[s, m, "loan"],
                v[s, m, "publish"], v[s, m, "take"], v[s, m, "return"], r }
        END { split("fixed sized lossless", order, " ")
              for (k = 1; k <= 3; k++) {
                  show("zloan", order[k]); show("zloan.so", order[k]); show("iceoryx", order[k]) } }' "$HOT"
    echo "(zloan: the static library, as the bench links it; zloan.so: libzloan.so, as applications do)"
    echo "(iceoryx has no sized types: each of its loans names its size, so its fixed round is that)"
    echo
    echo "Where a zloan round goes: self instructions per round by function, main thread (at least 1"
    echo "per round; they add up to the round; iceoryx's are the function lines of hot.tsv)"
    printf '%-40s %7s %7s %9s\n' function fixed sized lossless
    awk -F'\t' '$1 == "function" && $2 == "zloan" { v[$4, $3] = $5; seen[$4] = 1 }
        END { n = 0
              for (f in seen) list[++n] = f
              for (i = 2; i <= n; i++)
                  for (j = i; j > 1 && v[list[j - 1], "fixed"] + 0 < v[list[j], "fixed"] + 0; j--) {
                      t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
              for (i = 1; i <= n; i++) {
                  f = list[i]; printf "%-40s %7s %7s %9s\n", f, ((f, "fixed") in v) ? v[f, "fixed"] : "-",
                      ((f, "sized") in v) ? v[f, "sized"] : "-", ((f, "lossless") in v) ? v[f, "lossless"] : "-"
                  total["fixed"] += v[f, "fixed"]; total["sized"] += v[f, "sized"]; total["lossless"] += v[f, "lossless"] }
              if (n > 0) printf "%-40s %7d %7d %9d\n", "(all)", total["fixed"], total["sized"], total["lossless"] }' "$HOT"
    echo
    echo "Flatness: transport one-way latency, busy-poll, processes pinned; 16 MiB over 64 B"
    echo "(each percentile the median over the runs of that size, sizes and systems interleaved; on a"
    echo "loaded machine a 16 MiB round, milliseconds of filling, is mostly preempted: min and p10 then"
    echo "show the transport's own cost, p50 and above the machine's)"
    if [ -s "$OUT/shm.txt" ]; then cat "$OUT/shm.txt"; fi
    echo "paced: 64 B rounds as long as 16 MiB ones (ZLOAN_BENCH_PACE_NS), the receiver polling as long;"
    echo "stream: 16 MiB filled with non-temporal stores (ZLOAN_BENCH_FILL=stream), the caches kept;"
    echo "16MiB/64B is the figure of issue 21, stream/paced what is left of it with the fill's and the"
    echo "long wait's effects on the caches and the cores taken out (bench/harness.c)"
    printf '%-10s %-5s %5s %10s %10s %10s %10s %10s %13s\n' system pct runs 64B 64B.paced 16MiB \
        16MiB.stream 16MiB/64B stream/paced
    awk -F'\t' "$awk_median"'
        $1 == "latency" && $5 == "transport" && ($3 == "busy" || $3 == "busy-paced" || $3 == "busy-stream") &&
        ($4 == 64 || $4 == 16777216) {
            k = $2 SUBSEP $3 SUBSEP $4; p[k, 1] = p[k, 1] " " $13; p[k, 2] = p[k, 2] " " $12
            p[k, 3] = p[k, 3] " " $7; p[k, 4] = p[k, 4] " " $8; p[k, 5] = p[k, 5] " " $9
            runs[k]++ }
        function cell(k, q) { return (k in runs) ? sprintf("%7.0f ns", median(p[k, q])) : sprintf("%10s", "-") }
        function ratio(a, b, q,   x, y) {
            if (!(a in runs) || !(b in runs)) return sprintf("%10s", "-")
            x = median(p[a, q]); y = median(p[b, q]); return sprintf("%9.2fx", y > 0 ? x / y : 0) }
        END { split("zloan iceoryx", order, " "); split("min p10 p50 p90 p99", pct, " ")
              for (o = 1; o <= 2; o++) {
                  small = order[o] SUBSEP "busy" SUBSEP 64; big = order[o] SUBSEP "busy" SUBSEP 16777216
                  paced = order[o] SUBSEP "busy-paced" SUBSEP 64
                  stream = order[o] SUBSEP "busy-stream" SUBSEP 16777216
                  if (!(small in runs) || !(big in runs)) continue
                  for (q = 1; q <= 5; q++)
                      printf "%-10s %-5s %2d/%-2d %s %s %s %s %s %13s\n", order[o], pct[q], runs[small],
                          runs[big], cell(small, q), cell(paced, q), cell(big, q), cell(stream, q),
                          ratio(big, small, q), ratio(stream, paced, q) } }' "$HOT"
    echo
}
throughput_table() {
    echo "Throughput: 64 B messages received/s, one publisher process, one subscription process"
    echo "(median, least and most over the runs, systems interleaved; slices: percentiles of the"
    echo "received/s of 100 ms slices, each the median over the runs; ratio: median over iceoryx's;"
    echo "zloan-batchN: takes of N; zloan-pubN: N loans per zl_publisher_publish_loans; iceoryx has no"
    echo "batched publish, its figure is one publish per message)"
    printf '%-9s %-18s %4s %10s %10s %10s %10s %10s %10s %8s\n' variant system runs median least most \
        slice.p10 slice.p50 slice.p90 ratio
    awk -F'\t' "$awk_median"'
        $1 == "throughput" && $4 == 64 && $5 == 1 { k = $3 SUBSEP $2; got[k] = got[k] " " $6; runs[k]++; sys[$2] = 1 }
        $1 == "rate" && $4 == 64 && $5 == 1 { k = $3 SUBSEP $2; r[k, 1] = r[k, 1] " " $7; r[k, 2] = r[k, 2] " " $8; r[k, 3] = r[k, 3] " " $9 }
        END { split("busy lossless", variants, " ")
              n = 0
              for (s in sys) if (s != "iceoryx") list[++n] = s
              for (i = 2; i <= n; i++)
                  for (j = i; j > 1 && list[j - 1] > list[j]; j--) { t = list[j]; list[j] = list[j - 1]; list[j - 1] = t }
              if ("iceoryx" in sys) list[++n] = "iceoryx"
              for (v = 1; v <= 2; v++) {
                  base = ((variants[v], "iceoryx") in got) ? median(got[variants[v], "iceoryx"]) : 0
                  for (i = 1; i <= n; i++) {
                      k = variants[v] SUBSEP list[i]
                      if (!(k in got)) continue
                      m = median(got[k])
                      printf "%-9s %-18s %4d %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f %7.2fx\n",
                          variants[v] == "busy" ? "keep-last" : variants[v], list[i], runs[k], m,
                          least(got[k]), most(got[k]), median(r[k, 1]), median(r[k, 2]), median(r[k, 3]),
                          (base > 0 ? m / base : 0) } } }' "$HOT"
}

{
    if [ -s "$TSV" ]; then main_table; fi
    if [ -s "$TSV" ] && [ -s "$HOT" ]; then echo; fi
    if [ -s "$HOT" ]; then hot_table; fi
} >"$OUT/table.txt"
cat "$OUT/table.txt"

awk -F'\t' -v date="$DATE" -v hot="$HOT" '
    BEGIN { printf "{\n  \"date\": \"%s\",\n  \"results\": [\n", date; first = 1 }
    # part: "main" (results.tsv) or "hot" (hot.tsv, the hot path figures).
    function sep() { if (!first) printf ",\n"; first = 0
                     printf "    {\"part\": \"%s\", ", FILENAME == hot ? "hot" : "main" }
    $1 == "latency" { sep(); printf "\"kind\": \"latency\", \"system\": \"%s\", \"variant\": \"%s\", \"size\": %d, \"metric\": \"%s\", \"n\": %d, \"unit\": \"ns\", \"p50\": %s, \"p90\": %s, \"p99\": %s, \"p99_9\": %s, \"max\": %s, \"p10\": %s, \"min\": %s}", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ($12 == "" ? "null" : $12), ($13 == "" ? "null" : $13) }
    $1 == "throughput" { sep(); printf "\"kind\": \"throughput\", \"system\": \"%s\", \"variant\": \"%s\", \"size\": %d, \"subscriptions\": %d, \"received_per_s\": %s, \"published_per_s\": %s, \"lost\": %s}", $2, $3, $4, $5, $6, $7, $8 }
    $1 == "instructions" { sep(); printf "\"kind\": \"instructions\", \"system\": \"%s\", \"mode\": \"%s\", \"operation\": \"%s\", \"per_round\": %s}", $2, $3, $4, ($5 == "-" ? "null" : $5) }
    $1 == "function" { sep(); printf "\"kind\": \"function\", \"system\": \"%s\", \"mode\": \"%s\", \"function\": \"%s\", \"self_per_round\": %s}", $2, $3, $4, $5 }
    $1 == "rate" { sep(); printf "\"kind\": \"rate\", \"system\": \"%s\", \"variant\": \"%s\", \"size\": %d, \"subscriptions\": %d, \"slices\": %d, \"received_per_s_p10\": %s, \"received_per_s_p50\": %s, \"received_per_s_p90\": %s}", $2, $3, $4, $5, $6, $7, $8, $9 }
    END { printf "\n  ]\n}\n" }' "$TSV" "$HOT" >"$OUT/results.json"

# One data file per line of the plot: transport p50 by size.
PLOT=$OUT/plot
mkdir -p "$PLOT"
rm -f "$PLOT"/*.dat
awk -F'\t' -v dir="$PLOT" '$1 == "latency" && $5 == "transport" && $2 != "cacheline" && $2 != "futex" {
        f = dir "/" $2 "-" $3 ".dat"; print $4, $7 >> f }' "$TSV"
floor_cl=$(awk -F'\t' '$1 == "latency" && $2 == "cacheline" { print $7 }' "$TSV")
floor_fx=$(awk -F'\t' '$1 == "latency" && $2 == "futex" { print $7 }' "$TSV")
plots=""
for f in "$PLOT"/*.dat; do
    [ -e "$f" ] || continue # no latency figures (ZLOAN_BENCH_ONLY=hot)
    name=$(basename "$f" .dat)
    plots="$plots${plots:+, }'$f' using 1:(\$2/1000) with linespoints lw 2 title '$name'"
done
if [ -z "$plots" ]; then
    echo "wrote $OUT/table.txt, $OUT/results.json"
    exit 0
fi
gnuplot <<EOF
set terminal pngcairo size 1000,650 font ",11"
set output "$OUT/latency.png"
set title "One-way latency (transport, p50) against payload size — $DATE"
set logscale xy
set xlabel "payload size (bytes)"
set ylabel "one-way latency (µs)"
set grid
set key top left
set xtics ("64 B" 64, "4 KiB" 4096, "64 KiB" 65536, "1 MiB" 1048576, "4 MiB" 4194304, "16 MiB" 16777216)
plot [32:33554432] $plots, \
     ${floor_cl:-0}/1000.0 with lines dt 2 lc rgb "gray" title "cache-line floor", \
     ${floor_fx:-0}/1000.0 with lines dt 3 lc rgb "black" title "futex floor"
EOF
echo "wrote $OUT/table.txt, $OUT/results.json, $OUT/latency.png"
