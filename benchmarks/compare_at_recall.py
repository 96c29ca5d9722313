#!/usr/bin/env python3
"""Ratio of VectorIndex's queries/CPU-s to hnswlib's at the same recall@10, from the output of
benchmarks/run-index-bench.sh (one or more saved logs).

hnswlib reaches a different recall at each ef than VectorIndex, so its rate is interpolated
linearly in recall between its two nearest ef values.

Usage: benchmarks/run-index-bench.sh ../shared/data | tee run.log
       python3 benchmarks/compare_at_recall.py run.log [more.log...]
"""
import re
import sys

OURS = re.compile(r"\| (portable|avx2|avx512) \| (\d+) \| ([\d.]+) \| (\d+) \| (\d+) \| (\d+) \|")
HNSWLIB = re.compile(r"\| hnswlib \| (\d+) \| ([\d.]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|")


def parse(path):
    ours, hnswlib = {}, []
    with open(path) as log:
        for line in log:
            if match := OURS.match(line):
                ours.setdefault(match[1], []).append((int(match[2]), float(match[3]), int(match[4])))
            elif match := HNSWLIB.match(line):
                # ef, recall, per-call queries/CPU-s, one-call queries/CPU-s
                hnswlib.append((int(match[1]), float(match[2]), int(match[3]), int(match[4])))
    return ours, sorted(hnswlib, key=lambda row: row[1])


def interpolate(rows, recall, column):
    for lower, upper in zip(rows, rows[1:]):
        if lower[1] <= recall <= upper[1]:
            fraction = (recall - lower[1]) / (upper[1] - lower[1])
            return lower[column] + fraction * (upper[column] - lower[column])
    return None  # outside hnswlib's measured recall range


for path in sys.argv[1:]:
    ours, hnswlib = parse(path)
    print(path)
    for kernels, rows in ours.items():
        for ef, recall, rate in rows:
            per_call, one_call = interpolate(hnswlib, recall, 2), interpolate(hnswlib, recall, 3)
            if per_call is None:
                print(f"  {kernels} ef {ef}: recall {recall:.4f} outside hnswlib's range")
            else:
                print(f"  {kernels} ef {ef}: recall {recall:.4f}, {rate} vs hnswlib {per_call:.0f} per call "
                      f"({one_call:.0f} one call): {rate / per_call:.2f} ({rate / one_call:.2f})")
