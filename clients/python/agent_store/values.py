"""Primitive fields, tagged values and vectors (protocol-spec.md section 1): ``Reader`` decodes
with every length checked against the remaining bytes before allocating; ``Writer`` encodes, with
map keys sorted by their UTF-8 bytes so each value has exactly one encoding."""
from __future__ import annotations

import math
import struct
from typing import Any, Sequence

from .codes import VALUE_NESTING_MAX
from .errors import DecodeError

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")

_TAG_NULL, _TAG_FALSE, _TAG_TRUE, _TAG_INT, _TAG_FLOAT = 0, 1, 2, 3, 4
_TAG_STRING, _TAG_BYTES, _TAG_LIST, _TAG_MAP = 5, 6, 7, 8

#: Smallest encodings, used to refuse impossible counts before allocating (section 1).
_VALUE_BYTES_MIN = 1
_MAP_ENTRY_BYTES_MIN = 5  # an empty key (4-byte length) plus a null tag
_F32_BYTES = 4

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_U32_MAX = 0xFFFFFFFF



class Reader:
    """A cursor over one message body. Every read checks the remaining length first and raises
    ``DecodeError`` when the body is too short or malformed."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def _take(self, count: int, what: str) -> bytes:
        if count > self.remaining:
            raise DecodeError(f"{what}: needs {count} bytes, {self.remaining} left", what)
        start = self._pos
        self._pos += count
        return self._data[start:self._pos]

    def _unpack(self, fmt: struct.Struct, what: str) -> Any:
        if fmt.size > self.remaining:
            raise DecodeError(f"{what}: needs {fmt.size} bytes, {self.remaining} left", what)
        (value,) = fmt.unpack_from(self._data, self._pos)
        self._pos += fmt.size
        return value

    def u8(self, what: str = "u8") -> int:
        return self._take(1, what)[0]

    def u16(self, what: str = "u16") -> int:
        return self._unpack(_U16, what)

    def u32(self, what: str = "u32") -> int:
        return self._unpack(_U32, what)

    def u64(self, what: str = "u64") -> int:
        return self._unpack(_U64, what)

    def i64(self, what: str = "i64") -> int:
        return self._unpack(_I64, what)

    def f64(self, what: str = "f64") -> float:
        return self._unpack(_F64, what)

    def bool(self, what: str = "bool") -> bool:
        byte = self.u8(what)
        if byte > 1:
            raise DecodeError(f"{what}: bool byte {byte:#04x} is neither 00 nor 01", what)
        return byte == 1

    def raw_bytes(self, what: str = "bytes") -> bytes:
        length = self.u32(what)
        return self._take(length, what)

    def string(self, what: str = "string") -> str:
        raw = self.raw_bytes(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecodeError(f"{what}: invalid UTF-8 ({error.reason})", what) from None

    def count(self, element_bytes_min: int, what: str) -> int:
        """A list count, refused when even the smallest elements could not fit (section 1)."""
        count = self.u32(what)
        if count * element_bytes_min > self.remaining:  # Python ints cannot overflow
            raise DecodeError(f"{what}: {count} elements cannot fit in {self.remaining} bytes",
                              what)
        return count

    def value(self, what: str = "value", _depth: int = 0) -> Any:
        tag = self.u8(what)
        if tag == _TAG_NULL:
            return None
        if tag == _TAG_FALSE:
            return False
        if tag == _TAG_TRUE:
            return True
        if tag == _TAG_INT:
            return self.i64(what)
        if tag == _TAG_FLOAT:
            return self.f64(what)
        if tag == _TAG_STRING:
            return self.string(what)
        if tag == _TAG_BYTES:
            return self.raw_bytes(what)
        if tag == _TAG_LIST:
            _check_depth(_depth + 1, what)
            count = self.count(_VALUE_BYTES_MIN, what)
            return [self.value(what, _depth + 1) for _ in range(count)]
        if tag == _TAG_MAP:
            _check_depth(_depth + 1, what)
            return self.map(what, _depth + 1)
        raise DecodeError(f"{what}: unknown value tag {tag:#04x}", what)

    def map(self, what: str = "map", _depth: int = 1) -> dict[str, Any]:
        """A ``map``: keys strictly ascending by UTF-8 bytes. ``_depth`` is the nesting of this
        map itself (1 for a map at top level)."""
        count = self.count(_MAP_ENTRY_BYTES_MIN, what)
        result: dict[str, Any] = {}
        previous: bytes | None = None
        for _ in range(count):
            raw_key = self.raw_bytes(f"{what} key")
            if previous is not None and raw_key <= previous:
                raise DecodeError(f"{what}: key {raw_key!r} does not ascend after {previous!r}",
                                  what)
            previous = raw_key
            try:
                key = raw_key.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError(f"{what}: key is not valid UTF-8", what) from None
            result[key] = self.value(what, _depth)
        return result

    def vector(self, what: str = "vector", dimension_max: int | None = None) -> list[float]:
        dimension = self.count(_F32_BYTES, what)
        if dimension_max is not None and dimension > dimension_max:
            raise DecodeError(f"{what}: dimension {dimension} is over {dimension_max}", what)
        raw = self._take(dimension * _F32_BYTES, what)
        components = list(struct.unpack(f"<{dimension}f", raw))
        for component in components:
            if not math.isfinite(component):
                raise DecodeError(f"{what}: component {component} is not finite", what)
        return components


def _check_depth(depth: int, what: str) -> None:
    if depth > VALUE_NESTING_MAX:
        raise DecodeError(f"{what}: lists and maps nest deeper than {VALUE_NESTING_MAX}", what)


class Writer:
    """Appends encoded fields to a bytearray. Raises ``ValueError``/``TypeError`` for values that
    have no encoding (a programming error on the sending side, not a protocol error)."""

    __slots__ = ("buffer",)

    def __init__(self) -> None:
        self.buffer = bytearray()

    def to_bytes(self) -> bytes:
        return bytes(self.buffer)

    def u8(self, value: int) -> "Writer":
        self.buffer.append(value)
        return self

    def u16(self, value: int) -> "Writer":
        self.buffer += _U16.pack(value)
        return self

    def u32(self, value: int) -> "Writer":
        self.buffer += _U32.pack(value)
        return self

    def u64(self, value: int) -> "Writer":
        self.buffer += _U64.pack(value)
        return self

    def bool(self, value: bool) -> "Writer":
        return self.u8(1 if value else 0)

    def raw_bytes(self, value: bytes | bytearray | memoryview) -> "Writer":
        data = bytes(value)
        if len(data) > _U32_MAX:
            raise ValueError("bytes longer than 4 GiB - 1 have no encoding")
        self.u32(len(data))
        self.buffer += data
        return self

    def string(self, value: str) -> "Writer":
        return self.raw_bytes(value.encode("utf-8"))

    def value(self, value: Any, _depth: int = 0) -> "Writer":
        buffer = self.buffer
        if value is None:
            buffer.append(_TAG_NULL)
        elif value is True:
            buffer.append(_TAG_TRUE)
        elif value is False:
            buffer.append(_TAG_FALSE)
        elif isinstance(value, int):
            if not _I64_MIN <= value <= _I64_MAX:
                raise ValueError(f"int {value} does not fit in i64")
            buffer.append(_TAG_INT)
            buffer += _I64.pack(value)
        elif isinstance(value, float):
            buffer.append(_TAG_FLOAT)
            buffer += _F64.pack(value)
        elif isinstance(value, str):
            buffer.append(_TAG_STRING)
            self.string(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            buffer.append(_TAG_BYTES)
            self.raw_bytes(value)
        elif isinstance(value, (list, tuple)):
            if _depth + 1 > VALUE_NESTING_MAX:
                raise ValueError(f"lists and maps nest deeper than {VALUE_NESTING_MAX}")
            buffer.append(_TAG_LIST)
            self.u32(len(value))
            for element in value:
                self.value(element, _depth + 1)
        elif isinstance(value, dict):
            if _depth + 1 > VALUE_NESTING_MAX:
                raise ValueError(f"lists and maps nest deeper than {VALUE_NESTING_MAX}")
            buffer.append(_TAG_MAP)
            self.map(value, _depth + 1)
        else:
            raise TypeError(f"{type(value).__name__} has no wire encoding")
        return self

    def map(self, value: dict[str, Any], _depth: int = 1) -> "Writer":
        entries = []
        for key, element in value.items():
            if not isinstance(key, str):
                raise TypeError(f"map keys must be str, not {type(key).__name__}")
            entries.append((key.encode("utf-8"), element))
        # Keys ascend by UTF-8 bytes, which is not Python's str order for every character.
        entries.sort(key=lambda entry: entry[0])
        self.u32(len(entries))
        for raw_key, element in entries:
            self.raw_bytes(raw_key)
            self.value(element, _depth)
        return self

    def vector(self, components: Sequence[float]) -> "Writer":
        values = [float(component) for component in components]
        for component in values:
            if not math.isfinite(component):
                raise ValueError(f"vector component {component} is not finite")
        try:
            packed = struct.pack(f"<I{len(values)}f", len(values), *values)
        except OverflowError:
            raise ValueError("vector component out of float32 range") from None
        self.buffer += packed
        return self


def encode_value(value: Any) -> bytes:
    return Writer().value(value).to_bytes()


def decode_value(data: bytes | bytearray | memoryview) -> Any:
    """Decodes exactly one tagged value; trailing bytes are an error here because a standalone
    value has no fields after it."""
    reader = Reader(data)
    value = reader.value()
    if reader.remaining:
        raise DecodeError(f"{reader.remaining} bytes after the value")
    return value


def encode_vector(components: Sequence[float]) -> bytes:
    return Writer().vector(components).to_bytes()


def decode_vector(data: bytes | bytearray | memoryview,
                  dimension_max: int | None = None) -> list[float]:
    reader = Reader(data)
    vector = reader.vector(dimension_max=dimension_max)
    if reader.remaining:
        raise DecodeError(f"{reader.remaining} bytes after the vector")
    return vector
