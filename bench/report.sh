#!/usr/bin/env bash
# Turns bench/run.sh's results.tsv into table.txt, results.json and
# latency.png (gnuplot). Usage: bench/report.sh OUT_DIR [DATE]
set -euo pipefail
OUT=$1
DATE=${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
TSV=$OUT/results.tsv

fmt_ns='function t(ns) { if (ns < 10000) return sprintf("%.0f ns", ns);
                         if (ns < 10000000) return sprintf("%.1f us", ns / 1000);
                         return sprintf("%.1f ms", ns / 1000000) }
        function sz(b) { if (b >= 1048576) return (b / 1048576) "MiB";
                         if (b >= 1024) return (b / 1024) "KiB"; return b "B" }'

{
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
    echo
    echo "Instructions per in-process loan/publish/take/return round (callgrind)"
    awk -F'\t' '$1 == "instructions" { printf "%-10s %d\n", $2, $3 }' "$TSV"
} >"$OUT/table.txt"
cat "$OUT/table.txt"

awk -F'\t' -v date="$DATE" '
    BEGIN { printf "{\n  \"date\": \"%s\",\n  \"results\": [\n", date; first = 1 }
    function sep() { if (!first) printf ",\n"; first = 0 }
    $1 == "latency" { sep(); printf "    {\"kind\": \"latency\", \"system\": \"%s\", \"variant\": \"%s\", \"size\": %d, \"metric\": \"%s\", \"n\": %d, \"unit\": \"ns\", \"p50\": %s, \"p90\": %s, \"p99\": %s, \"p99_9\": %s, \"max\": %s}", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }
    $1 == "throughput" { sep(); printf "    {\"kind\": \"throughput\", \"system\": \"%s\", \"variant\": \"%s\", \"size\": %d, \"subscriptions\": %d, \"received_per_s\": %s, \"published_per_s\": %s, \"lost\": %s}", $2, $3, $4, $5, $6, $7, $8 }
    $1 == "instructions" { sep(); printf "    {\"kind\": \"instructions\", \"system\": \"%s\", \"per_round\": %d}", $2, $3 }
    END { printf "\n  ]\n}\n" }' "$TSV" >"$OUT/results.json"

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
    name=$(basename "$f" .dat)
    plots="$plots${plots:+, }'$f' using 1:(\$2/1000) with linespoints lw 2 title '$name'"
done
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
