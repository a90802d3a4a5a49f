#!/usr/bin/env bash
# Turns bench/ros2/run.sh's ros2.tsv into its table. Usage:
#   bench/ros2/report.sh OUT_DIR        (OUT_DIR/ros2.tsv, OUT_DIR/machine.txt)
# Per case and middleware: runs, messages received of those sent, and the
# median over the runs of each run's p50, p90, p99, max and mean one-way
# latency (the range of the runs' p50 beside it); then ratios of those
# medians: rmw_zloan and rmw_cyclonedds_cpp+iox each over rmw_cyclonedds_cpp
# (loopback UDP), and rmw_zloan over rmw_cyclonedds_cpp+iox (below 1: the
# first is faster); img-take and img-sized, run on rmw_zloan alone, over
# the other's image.
set -euo pipefail
OUT=$1
TSV=$OUT/ros2.tsv
[ -f "$OUT/machine.txt" ] && cat "$OUT/machine.txt" && echo

awk -F'\t' '
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function us(x) { return x >= 10000 ? sprintf("%.1f ms", x / 1000) : sprintf("%.1f us", x) }
{
    k = $2 SUBSEP $3
    if (!(k in runs)) { order[++nk] = k; kind[k] = $2; rmw[k] = $3 }
    runs[k]++; path[k] = $4; sent[k] += $5; got[k] += $6
    p50[k] = p50[k] " " $7; p90[k] = p90[k] " " $8; p99[k] = p99[k] " " $9
    mx[k] = mx[k] " " $10; mean[k] = mean[k] " " $11
    if (!(k in lo) || $7 + 0 < lo[k]) lo[k] = $7 + 0
    if (!(k in hi) || $7 + 0 > hi[k]) hi[k] = $7 + 0
}
END {
    printf "One-way latency, rcl talker -> listener (separate processes; rcl_wait; medians over the runs)\n"
    printf "%-10s %-22s %-9s %4s %11s %10s %10s %10s %10s %10s   %s\n", "case", "rmw", "path",
           "runs", "recv/sent", "p50", "p90", "p99", "max", "mean", "p50 of the runs"
    for (i = 1; i <= nk; i++) {
        k = order[i]
        m50[k] = median(p50[k]); m90[k] = median(p90[k]); m99[k] = median(p99[k])
        mmx[k] = median(mx[k]); mmean[k] = median(mean[k])
        printf "%-10s %-22s %-9s %4d %11s %10s %10s %10s %10s %10s   %s..%s\n", kind[k], rmw[k], path[k],
               runs[k], got[k] "/" sent[k], us(m50[k]), us(m90[k]), us(m99[k]), us(mmx[k]),
               us(mmean[k]), us(lo[k]), us(hi[k])
    }
    ratios("rmw_zloan", "rmw_cyclonedds_cpp")
    ratios("rmw_cyclonedds_cpp+iox", "rmw_cyclonedds_cpp")
    ratios("rmw_zloan", "rmw_cyclonedds_cpp+iox")
}
function ratios(num, den,   i, k, c, header) {
    for (i = 1; i <= nk; i++) {
        k = order[i]
        if (rmw[k] != num) continue
        c = kind[k] SUBSEP den
        # img-take and img-sized run on rmw_zloan alone: over the image
        # the other middleware copies (its only path for it).
        if (!(c in runs) && kind[k] ~ /^img-/) c = "image" SUBSEP den
        if (!(c in runs) || m50[c] == 0 || m90[c] == 0 || m99[c] == 0 || mmean[c] == 0) continue
        if (!header++) {
            printf "\n%s / %s (each figure above; below 1: %s is faster)\n", num, den, num
            printf "%-10s %8s %8s %8s %8s\n", "case", "p50", "p90", "p99", "mean"
        }
        printf "%-10s %8.3f %8.3f %8.3f %8.3f\n", kind[k], m50[k] / m50[c], m90[k] / m90[c],
               m99[k] / m99[c], mmean[k] / mmean[c]
    }
}' "$TSV"
