"""Per-message cost of a Python subscription, beside C, in one run.

For each message size, one process publishes a message (untimed), then times:
  C          take -> read one byte -> return          (zloan_bench_take_view)
  view       take -> numpy.frombuffer -> read one element -> return (zero copy)
  bytes()    take -> bytes(loan) (copies the payload) -> return
Each figure is the median, 90th and 99th percentile over the rounds, in
microseconds, clock reads included.

    PYTHONPATH=build/gcc/python python3 bench/python_take.py build/gcc/bench/zloan_bench_take_view
"""
import os
import subprocess
import sys
import time

import numpy as np

import zloan

SIZES = [64, 4096, 65536, 1 << 20, 1920 * 1080 * 3]


def rounds_for(size):
    return int(max(300, min(20000, 4e9 / max(size, 1) / 100)))


def percentiles(samples):
    samples = np.sort(np.asarray(samples, dtype=np.int64))
    n = len(samples)
    return samples[n // 2] / 1e3, samples[n * 9 // 10] / 1e3, samples[n * 99 // 100] / 1e3


def python_figures(ctx, size, rounds):
    t = zloan.Type(f"blob_{size}", size=size, alignment=8)
    topic = f"/bench/take_view_py_{os.getpid()}_{size}"
    clock = time.perf_counter_ns
    with zloan.Publisher(ctx, topic, t, max_subscriptions=1, chunks_per_subscription=5) as pub, \
            zloan.Subscription(ctx, topic, t, depth=2, max_loans=2) as sub:
        view, copy = [], []
        for i in range(rounds):
            with pub.loan() as m:
                pass
            start = clock()
            loan = sub.take()
            array = np.frombuffer(loan, np.uint8)
            array[0]
            del array
            loan.release()
            view.append(clock() - start)
        for i in range(rounds):
            with pub.loan() as m:
                pass
            start = clock()
            loan = sub.take()
            data = bytes(loan)
            loan.release()
            copy.append(clock() - start)
            del data
    return percentiles(view), percentiles(copy)


def main():
    c_program = sys.argv[1] if len(sys.argv) > 1 else "build/gcc/bench/zloan_bench_take_view"
    print("per message, microseconds: median / p90 / p99")
    print(f"{'size':>10} | {'C take->return':>22} | {'Python take->view->return':>26} | "
          f"{'Python take->bytes()':>22} | view/C  bytes/view")
    with zloan.Context() as ctx:
        for size in SIZES:
            rounds = rounds_for(size)
            out = subprocess.run([c_program, str(size), str(rounds)], check=True,
                                 capture_output=True, text=True).stdout.split()
            c = tuple(int(x) / 1e3 for x in out)
            view, copy = python_figures(ctx, size, rounds)
            fmt = lambda f: f"{f[0]:6.2f} /{f[1]:7.2f} /{f[2]:7.2f}"
            print(f"{size:>10} | {fmt(c):>22} | {fmt(view):>26} | {fmt(copy):>22} | "
                  f"{view[0] / c[0]:6.1f}x {copy[0] / view[0]:7.1f}x", flush=True)


if __name__ == "__main__":
    main()
