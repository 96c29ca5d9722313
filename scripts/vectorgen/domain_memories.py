"""Test vectors for the memories domain (spec section 7.4, opcodes 0x0401-0x0407).

Each body is built field by field with struct.pack, independently of the Swift and Python
encoders. The JSON form of a body ("decoded"."body") uses: namespaces as lists of strings,
64-bit integers as decimal strings, f32/f64 as JSON numbers (chosen exactly representable),
optionals as null or the value, nested bodies (batch) as hex.
"""
import struct

from core import Body, header, error_fields, body_for, i

NAME = "memories"
SECTION = "7.4"

OP = {"ensure": 0x0401, "put": 0x0402, "get": 0x0403, "delete": 0x0404, "search": 0x0405,
      "list_namespaces": 0x0406, "batch": 0x0407}


# ---------------------------------------------------------------- field writers

def namespace(b: Body, labels, note="namespace"):
    b.u32(len(labels), f"{note}: {len(labels)} labels")
    for label in labels:
        b.string(label, f"{note} label")


def optional(b: Body, value, note, write):
    if value is None:
        b.u8(0, f"{note}: absent")
    else:
        b.u8(1, f"{note}: present")
        write(value)


def vector(b: Body, components, note):
    b.u32(len(components), f"{note}: dimension {len(components)}")
    for index, c in enumerate(components):
        b.add(struct.pack("<f", c), f"{note}[{index}] {c}")


def i64(b: Body, value, note):
    b.add(struct.pack("<q", int(value)), f"{note} {value}")


def item(b: Body, f, note="item"):
    namespace(b, f["namespace"], f"{note}.namespace")
    b.string(f["key"], f"{note}.key")
    b.string(f["value"], f"{note}.value (JSON)")
    i64(b, f["created_at_us"], f"{note}.created_at_us")
    i64(b, f["updated_at_us"], f"{note}.updated_at_us")
    optional(b, f["expires_at_us"], f"{note}.expires_at_us", lambda v: i64(b, v, f"{note}.expires_at_us"))


def search_item(b: Body, f, note):
    item(b, f, note)
    optional(b, f["score"], f"{note}.score", lambda v: b.add(struct.pack("<d", v), f"{note}.score {v}"))


def body(message, f) -> Body:
    b = Body()
    if message == "memory_collection_ensure_request":
        b.string(f["name"], "name")
        b.u32(f["dimension"], f"dimension {f['dimension']}")
        b.u8(f["metric"], f"metric {f['metric']} ({ {1: 'cosine', 2: 'l2', 3: 'inner_product'}.get(f['metric'], '?') })")
    elif message == "memory_put_request":
        namespace(b, f["namespace"])
        b.string(f["key"], "key")
        b.string(f["value"], "value (JSON)")
        b.string(f["collection"], "collection")
        b.u32(len(f["vectors"]), f"{len(f['vectors'])} vectors")
        for entry in f["vectors"]:
            b.string(entry["field"], "field")
            vector(b, entry["vector"], "vector")
        optional(b, f["ttl_ms"], "ttl_ms", lambda v: b.u64(int(v), f"ttl_ms {v}"))
    elif message == "memory_item":
        item(b, f)
    elif message == "memory_get_request":
        namespace(b, f["namespace"])
        b.string(f["key"], "key")
        b.u8(1 if f["refresh_ttl"] else 0, f"refresh_ttl {f['refresh_ttl']}")
    elif message == "memory_get_response":
        optional(b, f["item"], "item", lambda v: item(b, v))
    elif message == "memory_delete_request":
        namespace(b, f["namespace"])
        b.string(f["key"], "key")
    elif message == "memory_search_request":
        namespace(b, f["namespace_prefix"], "namespace_prefix")
        optional(b, f["filter"], "filter", lambda v: b.string(v, "filter (JSON)"))
        b.string(f["collection"], "collection")
        optional(b, f["query"], "query", lambda v: vector(b, v, "query"))
        b.u32(f["limit"], f"limit {f['limit']}")
        b.u32(f["offset"], f"offset {f['offset']}")
        b.u8(1 if f["refresh_ttl"] else 0, f"refresh_ttl {f['refresh_ttl']}")
    elif message == "memory_search_page":
        b.u32(len(f["items"]), f"{len(f['items'])} items")
        for index, entry in enumerate(f["items"]):
            search_item(b, entry, f"items[{index}]")
    elif message == "memory_list_namespaces_request":
        optional(b, f["prefix"], "prefix", lambda v: namespace(b, v, "prefix"))
        optional(b, f["suffix"], "suffix", lambda v: namespace(b, v, "suffix"))
        optional(b, f["max_depth"], "max_depth", lambda v: b.u32(v, f"max_depth {v}"))
        b.u32(f["limit"], f"limit {f['limit']}")
        b.u32(f["offset"], f"offset {f['offset']}")
    elif message == "memory_list_namespaces_response":
        b.u32(len(f["namespaces"]), f"{len(f['namespaces'])} namespaces")
        for labels in f["namespaces"]:
            namespace(b, labels)
    elif message == "memory_batch_request":
        b.u32(len(f["ops"]), f"{len(f['ops'])} ops")
        for op in f["ops"]:
            b.u16(op["opcode"], f"opcode 0x{op['opcode']:04x}")
            b.blob(bytes.fromhex(op["body"]), "body (that op's request body)")
    elif message == "memory_batch_response":
        b.u32(len(f["results"]), f"{len(f['results'])} results")
        for result in f["results"]:
            b.u8(1 if result["ok"] else 0, f"ok {result['ok']}")
            b.blob(bytes.fromhex(result["body"]), "body (response body or ErrorBody)")
    else:
        return body_for(message, f)
    return b


def frame(name, message, opcode, flags, request_id, f, note=""):
    b = body(message, f)
    raw = b.bytes()
    h, flag_bits, crc = header(raw, opcode, flags, request_id)
    return {
        "name": name, "kind": "frame", "note": note, "checksums": False,
        "hex": (h.bytes() + raw).hex(),
        "decoded": {"header": {"opcode": opcode, "flags": flag_bits, "request_id": str(request_id),
                               "timeout_ms": 0, "checksum": crc},
                    "message": message, "body": f},
        "_annotation": h.parts + b.parts,
    }


# ---------------------------------------------------------------- fixtures

ITEM = {"namespace": ["users", "u1", "memories"], "key": "m-1", "value": '{"text": "likes tea"}',
        "created_at_us": "1764720000000000", "updated_at_us": "1764720000500000", "expires_at_us": None}
ITEM_TTL = dict(ITEM, key="m-2", expires_at_us="1764723600500000")
PUT = {"namespace": ["users", "u1", "memories"], "key": "m-1", "value": '{"text":"likes tea"}',
       "collection": "minilm", "vectors": [{"field": "text", "vector": [0.5, -0.25, 1.0]}], "ttl_ms": None}
GET = {"namespace": ["users", "u1", "memories"], "key": "m-1", "refresh_ttl": True}
SEARCH = {"namespace_prefix": ["users", "u1"], "filter": '{"kind":{"$ne":"draft"}}', "collection": "minilm",
          "query": [1.0, 0.0, 0.5], "limit": 10, "offset": 0, "refresh_ttl": False}


def hex_of(message, f):
    return body(message, f).bytes().hex()


def valid():
    v = []
    v.append(frame("memory_collection_ensure", "memory_collection_ensure_request", OP["ensure"], [], 1,
                   {"name": "minilm", "dimension": 384, "metric": 1}, note="cosine, 384 dimensions"))
    v.append(frame("memory_collection_ensure_response", "empty", OP["ensure"], ["response"], 1, {}))
    v.append(frame("memory_put", "memory_put_request", OP["put"], [], 2, PUT,
                   note="one vector for field 'text'; no ttl"))
    v.append(frame("memory_put_with_ttl_no_vectors", "memory_put_request", OP["put"], [], 3,
                   {"namespace": ["users", "u1", "memories"], "key": "m-2", "value": "{}", "collection": "",
                    "vectors": [], "ttl_ms": "3600000"}, note="an item without vectors that expires in an hour"))
    v.append(frame("memory_put_response", "memory_item", OP["put"], ["response"], 2, ITEM,
                   note="the item as stored: value re-serialized by jsonb"))
    v.append(frame("memory_get", "memory_get_request", OP["get"], [], 4, GET))
    v.append(frame("memory_get_response_found", "memory_get_response", OP["get"], ["response"], 4, {"item": ITEM_TTL}))
    v.append(frame("memory_get_response_absent", "memory_get_response", OP["get"], ["response"], 5, {"item": None},
                   note="missing or expired"))
    v.append(frame("memory_delete", "memory_delete_request", OP["delete"], [], 6,
                   {"namespace": ["users", "u1", "memories"], "key": "m-1"}))
    v.append(frame("memory_delete_response", "empty", OP["delete"], ["response"], 6, {}))
    v.append(frame("memory_search", "memory_search_request", OP["search"], [], 7, SEARCH))
    v.append(frame("memory_search_partial", "memory_search_page", OP["search"], ["response", "stream"], 7,
                   {"items": [dict(ITEM, score=0.875)]}, note="a streamed page (flag stream)"))
    v.append(frame("memory_search_final", "memory_search_page", OP["search"], ["response"], 7,
                   {"items": [dict(ITEM_TTL, score=0.5)]}, note="the final page ends the stream"))
    v.append(frame("memory_search_no_query_response", "memory_search_page", OP["search"], ["response"], 8,
                   {"items": [dict(ITEM, score=None)]}, note="without a query there is no score"))
    v.append(frame("memory_list_namespaces", "memory_list_namespaces_request", OP["list_namespaces"], [], 9,
                   {"prefix": ["users", "*"], "suffix": ["memories"], "max_depth": 3, "limit": 100, "offset": 0}))
    v.append(frame("memory_list_namespaces_response", "memory_list_namespaces_response", OP["list_namespaces"],
                   ["response"], 9, {"namespaces": [["users", "u1", "memories"], ["users", "u2", "memories"]]}))
    error_body = body("error", error_fields("dimension_mismatch", "vectors: dimension 2, collection minilm has 3",
                                            [["actual", i(2)], ["expected", i(3)], ["field", {"string": "vectors"}]])).bytes()
    v.append(frame("memory_batch", "memory_batch_request", OP["batch"], [], 10,
                   {"ops": [{"opcode": OP["get"], "body": hex_of("memory_get_request", GET)},
                            {"opcode": OP["put"], "body": hex_of("memory_put_request",
                                                                 dict(PUT, vectors=[{"field": "text", "vector": [1.0, 2.0]}]))}]},
                   note="a get and a put whose vector has the wrong dimension"))
    v.append(frame("memory_batch_response", "memory_batch_response", OP["batch"], ["response"], 10,
                   {"results": [{"ok": True, "body": hex_of("memory_get_response", {"item": ITEM})},
                                {"ok": False, "body": error_body.hex()}]},
                   note="each result stands alone: the failed put did not stop the batch"))
    v.append(frame("memory_put_dimension_mismatch", "error", OP["put"], ["response", "error"], 11,
                   error_fields("dimension_mismatch", "vectors: dimension 2, collection minilm has 3",
                                [["actual", i(2)], ["expected", i(3)], ["field", {"string": "vectors"}]])))
    return v


def invalid():
    def bad(name, message, raw: bytes, note):
        return {"name": name, "kind": message, "hex": raw.hex(), "error": "invalid_argument", "fatal": False,
                "note": note}

    ns = struct.pack("<I", 1) + struct.pack("<I", 1) + b"u"
    put_prefix = ns + struct.pack("<I", 1) + b"k" + struct.pack("<I", 2) + b"{}" + struct.pack("<I", 1) + b"c"
    return [
        bad("memory_put_nan_vector", "memory_put_request",
            put_prefix + struct.pack("<I", 1) + struct.pack("<I", 1) + b"f" + struct.pack("<I", 2)
            + struct.pack("<f", 1.0) + bytes.fromhex("0000c07f") + bytes([0]),
            "a NaN component in a vector"),
        bad("memory_get_bad_bool", "memory_get_request", ns + struct.pack("<I", 1) + b"k" + bytes([2]),
            "refresh_ttl must be 0 or 1"),
        bad("memory_batch_huge_count", "memory_batch_request", struct.pack("<I", 0xFFFFFFFF),
            "4 billion ops claimed with no bytes left"),
        bad("memory_search_truncated", "memory_search_request", struct.pack("<I", 0) + bytes([0]),
            "ends before collection"),
    ]


def transcripts():
    return []
