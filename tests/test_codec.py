"""JSON codec: the scanner shortcut agrees with ``json.loads``; bodies hold only their bytes.

No I/O.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepinfra_async._codec import _std_loads, dumps

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def outcome(decode: Any, data: bytes | str) -> object:
    """The decoded value, or the error's type and message."""
    try:
        return ("ok", decode(data))
    except ValueError as exc:
        return ("error", type(exc).__name__, str(exc))


@settings(max_examples=300, deadline=None)
@given(
    value=_json_values,
    before=st.sampled_from(["", " ", "\n", "\ufeff"]),
    after=st.sampled_from(["", " ", "\n", "\r\n", "\x0b", "x", " [1]", "\u00a0"]),
    as_bytes=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32"]),
)
def test_std_loads_agrees_with_json_loads(
    value: object, before: str, after: str, as_bytes: bool, encoding: str
) -> None:
    """Valid documents, surrounding text, BOMs and other encodings: the same value or error."""
    text = before + json.dumps(value, ensure_ascii=False) + after
    data: bytes | str = text
    if as_bytes:
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            data = text.encode(encoding, "surrogatepass")
    assert outcome(_std_loads, data) == outcome(json.loads, data)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=40) | st.text(max_size=40))
def test_std_loads_agrees_on_arbitrary_input(data: bytes | str) -> None:
    """Garbage in: the same error (or value) as json.loads."""
    assert outcome(_std_loads, data) == outcome(json.loads, data)


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1}', b'{"a": 1}\n', b"[1, 2] ", '{"a": "\\ud800"}', b'{"a": "\xed\xa0\x80"}'],
)
def test_std_loads_reads_common_bodies(data: bytes | str) -> None:
    """A body with a trailing newline or a lone surrogate escape decodes as json.loads does."""
    assert _std_loads(data) == json.loads(data)


@pytest.mark.parametrize("size", [10, 1_000, 5_000])
def test_encoded_bodies_hold_only_their_own_bytes(size: int) -> None:
    """A request body is held for the whole call: it must not carry an encoder's spare buffer."""
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * size}]}
    count = 50
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [dumps(body) for _ in range(count)]
        per_body = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert json.loads(held[0]) == body
    # A bytes object costs its length plus a small header (33 bytes on 64-bit CPython).
    assert per_body < len(held[0]) + 128
