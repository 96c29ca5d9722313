#!/usr/bin/env python3
"""Cuts the small sample of real package descriptions that the agent examples load as memories,
from ../shared/data (Debian 12 package descriptions embedded with all-MiniLM-L6-v2; see that
folder's README). Writes examples/data/packages.jsonl (id, package, section, text, 384 floats
as a base64 float32 array) and examples/data/queries.jsonl (plain-language synopsis queries whose
target package is in the sample, with their embeddings), so the examples run offline without an
embedding model. Run: python3 scripts/make-example-sample.py [--documents 1000] [--queries 40]
"""
import argparse
import base64
import json
import pathlib
import random
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def read_fbin(path):
    raw = path.read_bytes()
    count, dimension = struct.unpack_from("<II", raw)
    return count, dimension, raw[8:]


def row(blob, dimension, index):
    start = index * dimension * 4
    return blob[start:start + dimension * 4]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    random.seed(options.seed)
    _, dimension, base = read_fbin(DATA / "base.fbin")
    _, _, query_vectors = read_fbin(DATA / "synopsis_queries.fbin")
    corpus = [json.loads(line) for line in (DATA / "corpus.jsonl").open()]
    queries = [json.loads(line) for line in (DATA / "synopsis_queries.jsonl").open()]
    chosen_queries = random.sample(queries, options.queries)
    document_ids = {query["target_id"] for query in chosen_queries}
    while len(document_ids) < options.documents:
        document_ids.add(random.randrange(len(corpus)))
    out = ROOT / "examples" / "data"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "packages.jsonl").open("w") as handle:
        for document_id in sorted(document_ids):
            document = corpus[document_id]
            handle.write(json.dumps({
                "id": document_id, "package": document["package"], "section": document["section"],
                "text": document["text"][:600],
                "embedding": base64.b64encode(row(base, dimension, document_id)).decode(),
            }) + "\n")
    with (out / "queries.jsonl").open("w") as handle:
        for query in chosen_queries:
            handle.write(json.dumps({
                "text": query["text"], "target_package": query["package"],
                "embedding": base64.b64encode(row(query_vectors, dimension, query["qid"])).decode(),
            }) + "\n")
    print(f"wrote {len(document_ids)} documents and {len(chosen_queries)} queries to {out}")


if __name__ == "__main__":
    main()
