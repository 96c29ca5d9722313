#!/usr/bin/env python3
"""Measures hnswlib and faiss on the same data and settings as `vector-bench`, for comparison.

Setup: python3 -m venv /tmp/annvenv && /tmp/annvenv/bin/pip install hnswlib faiss-cpu numpy
Run:   /tmp/annvenv/bin/python benchmarks/ann_reference.py --data ../shared/data [--limit N]

Reports build time (1 and 2 threads for hnswlib), memory growth and, for each ef, recall@10
and queries/s with 1 and 2 threads. Queries are issued one at a time (as a server would), so
per-query overhead is counted like in the Swift benchmark; the "one call" column passes all
queries in one call on one thread, which leaves out Python's per-call cost.
"""
import argparse
import os
import threading
import time

import numpy as np


def read_matrix(path, dtype, rows_max=None):
    with open(path, "rb") as file:
        rows, columns = np.frombuffer(file.read(8), dtype="<u4")
        data = np.frombuffer(file.read(), dtype=dtype).reshape(int(rows), int(columns))
    if rows_max is not None:
        data = data[:rows_max]
    return np.ascontiguousarray(data)


def resident_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def recall_at_10(found, truth):
    return float(np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth)]))


def throughput(search_one, queries, threads, measure_seconds):
    """Queries/s with `threads` threads each issuing single queries; repeats to >= measure_seconds."""
    passes = 1
    while True:
        def work(offset):
            for _ in range(passes):
                for position in range(offset, len(queries), threads):
                    search_one(queries[position])
        start = time.perf_counter()
        if threads == 1:
            work(0)
        else:
            workers = [threading.Thread(target=work, args=(offset,)) for offset in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        elapsed = time.perf_counter() - start
        if elapsed >= measure_seconds or passes >= 1000:
            return passes * len(queries) / elapsed
        passes = max(passes * 2, int(passes * measure_seconds / max(elapsed, 1e-3) * 1.1))


def cpu_throughput(search_one, queries, measure_seconds):
    """Queries per CPU-second of this thread (ignores time other processes take)."""
    start = time.thread_time()
    done = 0
    while time.thread_time() - start < measure_seconds or done == 0:
        for query in queries:
            search_one(query)
        done += len(queries)
    return done / (time.thread_time() - start)


def cpu_throughput_batched(search_all, queries, measure_seconds):
    """Queries per CPU-second when the whole query set goes in one call (the library's own C++
    loop, one thread): the library's speed without Python's per-call cost, which a server in
    Python would pay but a Swift server does not."""
    start = time.thread_time()
    done = 0
    while time.thread_time() - start < measure_seconds or done == 0:
        search_all(queries)
        done += len(queries)
    return done / (time.thread_time() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--ef", default="10,20,40,80,160")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--repeat-seconds", type=float, default=1.0)
    parser.add_argument("--skip-faiss", action="store_true")
    options = parser.parse_args()
    search_widths = [int(value) for value in options.ef.split(",")]

    import faiss
    import hnswlib

    base = read_matrix(os.path.join(options.data, "base.fbin"), "<f4", options.limit)
    queries = read_matrix(os.path.join(options.data, "queries.fbin"), "<f4")
    count, dimension = base.shape
    print(f"data: {count} x {dimension} base, {len(queries)} queries; "
          f"M={options.m} efConstruction={options.ef_construction}")
    print(f"hnswlib {getattr(hnswlib, '__version__', '?')}, faiss {faiss.__version__}, numpy {np.__version__}")

    faiss.omp_set_num_threads(1)
    exact = faiss.IndexFlatIP(dimension)
    exact.add(base)
    start = time.perf_counter()
    for query in queries:
        exact.search(query.reshape(1, -1), 10)
    exact_rate = len(queries) / (time.perf_counter() - start)
    if options.limit is None or options.limit >= 60465:
        truth = read_matrix(os.path.join(options.data, "queries.gt100.ibin"), "<i4")[:, :10]
    else:
        truth = exact.search(queries, 10)[1]
    print(f"faiss IndexFlatIP exact: {exact_rate:.0f} queries/s single-threaded, "
          f"recall@10 vs file {recall_at_10(exact.search(queries, 10)[1], truth):.4f}")
    del exact

    # hnswlib: 'ip' distance = 1 - inner product, as ours.
    for build_threads in (1, 2):
        index = hnswlib.Index(space="ip", dim=dimension)
        before = resident_bytes()
        start = time.perf_counter()
        cpu_start = time.process_time()
        index.init_index(max_elements=count, ef_construction=options.ef_construction, M=options.m, random_seed=100)
        index.add_items(base, np.arange(count), num_threads=build_threads)
        build = time.perf_counter() - start
        build_cpu = time.process_time() - cpu_start
        print(f"hnswlib build ({build_threads} thread{'s' if build_threads > 1 else ''}): {build:.2f} s wall, "
              f"{build_cpu:.2f} s CPU "
              f"({count / build:.0f} inserts/s), resident set growth {(resident_bytes() - before) / 2**20:.1f} MiB")
    print()
    print("| library | ef | recall@10 | queries/CPU-s (1 thread) | queries/CPU-s (1 thread, one call) "
          "| queries/s (1 thread) | queries/s (2 threads) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    index.set_num_threads(1)
    for ef in search_widths:
        index.set_ef(max(ef, 10))
        labels = np.stack([index.knn_query(query, k=10)[0][0] for query in queries])
        recall = recall_at_10(labels, truth)
        search_one = lambda query: index.knn_query(query, k=10)
        cpu = cpu_throughput(search_one, queries, options.repeat_seconds)
        batched = cpu_throughput_batched(lambda all: index.knn_query(all, k=10, num_threads=1), queries,
                                         options.repeat_seconds)
        single = throughput(search_one, queries, 1, options.repeat_seconds)
        double = throughput(search_one, queries, 2, options.repeat_seconds)
        print(f"| hnswlib | {ef} | {recall:.4f} | {cpu:.0f} | {batched:.0f} | {single:.0f} | {double:.0f} |",
              flush=True)
    del index

    if options.skip_faiss:
        return
    before = resident_bytes()
    start = time.perf_counter()
    cpu_start = time.process_time()
    faiss.omp_set_num_threads(1)
    hnsw = faiss.IndexHNSWFlat(dimension, options.m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = options.ef_construction
    hnsw.add(base)
    build = time.perf_counter() - start
    print(f"\nfaiss IndexHNSWFlat build (1 thread): {build:.2f} s wall, {time.process_time() - cpu_start:.2f} s CPU ({count / build:.0f} inserts/s), "
          f"resident set growth {(resident_bytes() - before) / 2**20:.1f} MiB\n")
    print("| library | ef | recall@10 | queries/CPU-s (1 thread) | queries/CPU-s (1 thread, one call) "
          "| queries/s (1 thread) | queries/s (2 threads) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for ef in search_widths:
        hnsw.hnsw.efSearch = max(ef, 10)
        labels = np.stack([hnsw.search(query.reshape(1, -1), 10)[1][0] for query in queries])
        recall = recall_at_10(labels, truth)
        search_one = lambda query: hnsw.search(query.reshape(1, -1), 10)
        cpu = cpu_throughput(search_one, queries, options.repeat_seconds)
        batched = cpu_throughput_batched(lambda all: hnsw.search(all, 10), queries, options.repeat_seconds)
        single = throughput(search_one, queries, 1, options.repeat_seconds)
        double = throughput(search_one, queries, 2, options.repeat_seconds)
        print(f"| faiss HNSWFlat | {ef} | {recall:.4f} | {cpu:.0f} | {batched:.0f} | {single:.0f} | {double:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
