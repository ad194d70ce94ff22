"""The incremental SSE decoder: WHATWG parsing rules, chunking, size cap. No I/O."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepinfra_async._sse import EventTooLargeError, ServerSentEvent, SSEDecoder

BOM = b"\xef\xbb\xbf"


def decode(chunks: Iterable[bytes], decoder: SSEDecoder | None = None) -> list[ServerSentEvent]:
    """Feed every chunk, then flush, and return all events."""
    decoder = SSEDecoder() if decoder is None else decoder
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    events += decoder.flush()
    return events


def datas(stream: bytes) -> list[str]:
    """The data of each event decoded from a stream fed whole."""
    return [event.data for event in decode([stream])]


def bytewise(stream: bytes) -> list[bytes]:
    """The stream as one-byte chunks."""
    return [stream[i : i + 1] for i in range(len(stream))]


# --- WHATWG parsing rules ------------------------------------------------------------------


def test_multiline_data_is_joined_with_lf() -> None:
    """Several data lines in one event are joined with LF."""
    assert datas(b"data: YHOO\ndata: +2\ndata: 10\n\n") == ["YHOO\n+2\n10"]


def test_spec_example_comment_id_and_unterminated_last_event() -> None:
    """Comment skipped, `id` with no colon sets an empty id, an unterminated event is dropped."""
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event"
    )
    assert decode([stream]) == [
        ServerSentEvent("first event", id="1"),
        ServerSentEvent("second event", id=""),
    ]


def test_spec_example_empty_data_lines() -> None:
    """A `data` field with no value still makes an event, and two give one LF."""
    stream = b"data\n\ndata\ndata\n\ndata:"
    assert datas(stream) == ["", "\n"]


def test_one_optional_space_is_stripped() -> None:
    """Only one space after the colon is removed, and none is required."""
    assert datas(b"data:test\n\ndata: test\n\ndata:  two spaces\n\n") == [
        "test",
        "test",
        " two spaces",
    ]


def test_event_type_defaults_to_message_and_resets() -> None:
    """`event` sets the type of its own event only; empty or missing means message."""
    stream = (
        b"event: add\ndata: 73857293\n\n"
        b"data: 2153\n\n"
        b"event:\ndata: 113411\n\n"
        b"event\ndata: 1\n\n"
        b"event: remove\n\ndata: 2\n\n"
    )
    assert [(e.event, e.data) for e in decode([stream])] == [
        ("add", "73857293"),
        ("message", "2153"),
        ("message", "113411"),
        ("message", "1"),
        ("message", "2"),
    ]


def test_last_event_id_persists_across_events() -> None:
    """The last id carries over to later events, even when set by a block without data."""
    stream = b"data: a\n\nid: 7\n\ndata: b\n\ndata: c\n\nid: 8\ndata: d\n\nid\ndata: e\n\n"
    assert [(e.data, e.id) for e in decode([stream])] == [
        ("a", None),
        ("b", "7"),
        ("c", "7"),
        ("d", "8"),
        ("e", ""),
    ]


def test_id_containing_nul_is_ignored() -> None:
    """An `id` whose value holds NUL leaves the last event id unchanged."""
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"
    assert [e.id for e in decode([stream])] == ["1", "1"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"retry: 1000", 1000),
        (b"retry:0", 0),
        (b"retry: 10a", None),
        (b"retry: -5", None),
        (b"retry: 1.5", None),
        (b"retry: ", None),
        (b"retry", None),
        ("retry: \u0661\u0662".encode(), None),  # Arabic-Indic digits are not ASCII
    ],
)
def test_retry_takes_ascii_digits_only(line: bytes, expected: int | None) -> None:
    """`retry` is kept only when its value is all ASCII digits."""
    assert decode([line + b"\ndata: x\n\n"]) == [ServerSentEvent("x", retry=expected)]


def test_retry_belongs_to_its_event() -> None:
    """A `retry` field is reported on its own event and not on the next one."""
    events = decode([b"retry: 5\ndata: a\n\ndata: b\n\n"])
    assert [e.retry for e in events] == [5, None]


def test_comments_and_unknown_fields_are_ignored() -> None:
    """Lines starting with a colon and unknown or misspelt field names change nothing."""
    stream = b":hello\n: ping\ndata: x\n:inside\nfoo: bar\nDATA: no\ndatax: no\n data: no\n\n"
    assert decode([stream]) == [ServerSentEvent("x")]


def test_blank_line_without_data_dispatches_nothing() -> None:
    """Blank lines with no data line before them produce no event."""
    assert decode([b"\n\n\nevent: x\nid: 1\nretry: 3\n\n: c\n\n"]) == []


def test_only_cr_lf_and_crlf_end_lines() -> None:
    """Other characters that str.splitlines treats as breaks stay inside the data."""
    text = "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i"
    assert datas(b"data: " + text.encode() + b"\n\n") == [text]


def test_cr_and_crlf_terminators() -> None:
    """CR, CRLF and LF all end a line, mixed freely."""
    assert datas(b"data: a\rdata: b\r\ndata: c\n\r") == ["a\nb\nc"]
    assert datas(b"data: a\r\rdata: b\r\n\r\ndata: c\n\n") == ["a", "b", "c"]


def test_utf8_is_decoded_per_line_with_replacement() -> None:
    """Multi-byte characters decode; invalid bytes become U+FFFD without failing."""
    assert datas("data: héllo 🌍 世界\n\n".encode()) == ["héllo 🌍 世界"]
    assert datas(b"data: \xff\xe2\x82\n\ndata: ok\n\n") == ["\ufffd\ufffd", "ok"]


# --- Chunk boundaries ----------------------------------------------------------------------


def test_cr_then_lf_in_the_next_chunk_is_one_terminator() -> None:
    """A CR ending one chunk and an LF starting the next end a single line."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # an extra blank line here would dispatch "a" early
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\ndata: c\r\n\r") == [ServerSentEvent("a\nb\nc")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: d\r\n\r\n") == [ServerSentEvent("d")]


def test_cr_then_cr_in_the_next_chunk_is_a_blank_line() -> None:
    """A CR after a chunk-final CR is a blank line, and dispatches."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\r") == [ServerSentEvent("a")]


def test_multibyte_character_split_between_chunks() -> None:
    """A UTF-8 sequence cut between chunks is reassembled, not replaced."""
    raw = "data: 🌍é\n\n".encode()
    for cut in range(6, 11):
        decoder = SSEDecoder()
        assert decoder.feed(raw[:cut]) == []
        assert decoder.feed(raw[cut:]) == [ServerSentEvent("🌍é")]


def test_event_continued_across_chunks_then_fast_events() -> None:
    """A chunk that finishes an earlier event and carries whole ones decodes all in order."""
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\nid: 3\nda") == []
    assert decoder.feed(b"ta: 1\n\ndata: 2\n\ndata: 3\nda") == [
        ServerSentEvent("1", "e", "3"),
        ServerSentEvent("2", "message", "3"),
    ]
    assert decoder.feed(b"ta: 4\n\n") == [ServerSentEvent("3\n4", "message", "3")]


# --- Byte order mark -------------------------------------------------------------------------


def test_bom_at_stream_start_is_dropped() -> None:
    """A UTF-8 BOM opening the stream is removed, also when split into single bytes."""
    stream = BOM + b"data: a\n\n"
    assert decode([stream]) == [ServerSentEvent("a")]
    assert decode(bytewise(stream)) == [ServerSentEvent("a")]
    assert decode([BOM[:2], BOM[2:] + b"data: a\n\n"]) == [ServerSentEvent("a")]


def test_only_one_bom_and_only_at_the_start() -> None:
    """A second BOM, a BOM later on, or a partial BOM is kept, spoiling that line's name."""
    assert decode([BOM + BOM + b"data: a\n\ndata: b\n\n"]) == [ServerSentEvent("b")]
    assert decode([b"data: a\n\n" + BOM + b"data: b\n\n"]) == [ServerSentEvent("a")]
    assert decode([BOM[:2], b"data: a\n\ndata: b\n\n"]) == [ServerSentEvent("b")]


def test_bom_only_stream_and_bom_after_flush() -> None:
    """A stream of just a BOM gives nothing; after flush a new stream may start with one."""
    decoder = SSEDecoder()
    assert decode([BOM], decoder) == []
    assert decode([BOM + b"id: 4\ndata: a\n\n"], decoder) == [ServerSentEvent("a", id="4")]
    assert decode([BOM[:1]], decoder) == []
    assert decode([BOM + b"data: b\n\n"], decoder) == [ServerSentEvent("b", id="4")]


# --- End of stream -------------------------------------------------------------------------


def test_flush_dispatches_an_event_whose_last_line_ended() -> None:
    """`data: [DONE]` with a line end but no blank line is still delivered by flush."""
    for end in (b"\n", b"\r", b"\r\n"):
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n\ndata: [DONE]" + end) == [ServerSentEvent("a")]
        assert decoder.flush() == [ServerSentEvent("[DONE]")]
        assert decoder.flush() == []


def test_flush_drops_an_event_whose_last_line_is_unterminated() -> None:
    """A trailing line with no terminator may be cut short, so its event is dropped."""
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b"') == [ServerSentEvent('{"a": 1}')]
    assert decoder.buffered_bytes == len(b'data: {"b"')
    assert decoder.flush() == []
    assert decoder.buffered_bytes == 0
    assert decode([b"data: x\nid: 5"]) == []


def test_flush_parses_the_unterminated_line() -> None:
    """The trailing unterminated line is still applied: an id in it is kept."""
    decoder = SSEDecoder()
    assert decode([b"data: a\n\nid: 9"], decoder) == [ServerSentEvent("a")]
    assert decode([b"data: b\n\n"], decoder) == [ServerSentEvent("b", id="9")]


def test_flush_of_a_complete_stream_returns_nothing() -> None:
    """A stream that ended with a blank line has nothing left for flush."""
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [ServerSentEvent("a")]
    assert decoder.flush() == []
    assert SSEDecoder().flush() == []


# --- Size cap --------------------------------------------------------------------------------


def test_max_event_bytes_must_be_positive() -> None:
    """A cap below one byte is refused with a ValueError naming the argument."""
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_event_bytes"):
            SSEDecoder(bad)
    assert SSEDecoder(1).max_event_bytes == 1
    assert SSEDecoder().max_event_bytes == 8 * 1024 * 1024


def test_event_exactly_at_the_limit_passes() -> None:
    """An event whose data lines total exactly the cap is accepted, whole or trickled."""
    line = b"data: " + b"x" * 94
    assert len(line) == 100
    assert decode([line + b"\n\n"], SSEDecoder(100)) == [ServerSentEvent("x" * 94)]
    assert decode(bytewise(line + b"\n\n"), SSEDecoder(100)) == [ServerSentEvent("x" * 94)]
    two = b"data: " + b"y" * 44
    assert decode([two + b"\n" + two + b"\n\n"], SSEDecoder(100)) == [
        ServerSentEvent("y" * 44 + "\n" + "y" * 44)
    ]


def test_oversized_event_in_one_chunk_raises() -> None:
    """One byte over the cap in a single chunk raises, with the limit and size seen."""
    decoder = SSEDecoder(100)
    with pytest.raises(EventTooLargeError) as info:
        decoder.feed(b"data: ok\n\ndata: " + b"x" * 95 + b"\n\n")
    assert (info.value.limit, info.value.size) == (100, 101)
    assert isinstance(info.value, ValueError)
    assert "100" in str(info.value)
    assert "101" in str(info.value)


def test_oversized_event_from_several_data_lines_raises() -> None:
    """The cap counts all data lines of the event, not just the longest one."""
    line = b"data: " + b"z" * 54
    with pytest.raises(EventTooLargeError) as info:
        SSEDecoder(100).feed(line + b"\n" + line + b"\n\n")
    assert info.value.size == 120


def test_oversized_event_trickling_in_raises_as_soon_as_past_the_cap() -> None:
    """Fed one byte at a time, the error comes at the first byte over the cap."""
    decoder = SSEDecoder(100)
    stream = b"data: " + b"x" * 200 + b"\n\n"
    fed: list[bytes] = []

    def feed_bytewise() -> None:
        for byte in bytewise(stream):
            decoder.feed(byte)
            fed.append(byte)

    with pytest.raises(EventTooLargeError) as info:
        feed_bytewise()
    assert len(fed) == 100
    assert (info.value.limit, info.value.size) == (100, 101)


def test_long_comment_line_trickling_in_raises() -> None:
    """Any unterminated line counts towards the cap, so a huge comment cannot pile up."""
    decoder = SSEDecoder(64)
    decoder.feed(b": " + b"c" * 60)
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"c" * 10)


def test_memory_stays_bounded_for_a_line_that_never_ends() -> None:
    """A 100 MB line fed in 64 KiB chunks raises once past the cap, holding at most the cap."""
    cap = 8 * 1024 * 1024
    block = b"x" * 65536

    def body() -> Iterator[bytes]:
        yield b"data: "
        for _ in range(100 * 1024 * 1024 // len(block)):
            yield block

    decoder = SSEDecoder(cap)
    held: list[int] = []

    def feed_all() -> None:
        for chunk in body():
            decoder.feed(chunk)
            held.append(decoder.buffered_bytes)

    with pytest.raises(EventTooLargeError) as info:
        feed_all()
    assert max(held) <= cap + len(block)
    assert len(held) <= cap // len(block) + 1
    assert cap < info.value.size <= cap + len(block)


def test_decoder_stays_failed_after_the_cap_error() -> None:
    """After EventTooLargeError every later call raises it again; the error pickles."""
    decoder = SSEDecoder(10)
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: 0123456789\n\n")
    assert decoder.buffered_bytes == 0
    assert "failed=True" in repr(decoder)
    with pytest.raises(EventTooLargeError):
        decoder.feed(b"data: a\n\n")
    with pytest.raises(EventTooLargeError) as info:
        decoder.flush()
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.limit, copy.size) == (10, 16)


def test_cap_applies_per_event() -> None:
    """Many events, each under the cap, never add up to an error."""
    event = b"data: " + b"x" * 90 + b"\n\n"
    assert len(decode([event * 50], SSEDecoder(100))) == 50
    assert len(decode(bytewise(event * 5), SSEDecoder(100))) == 5


def test_repr_shows_state() -> None:
    """The repr shows the cap, the buffered bytes and the pending data lines."""
    decoder = SSEDecoder(1000)
    decoder.feed(b"data: a\ndata: b")
    assert repr(decoder) == (
        "<SSEDecoder max_event_bytes=1000 buffered_bytes=7 pending_data_lines=1 failed=False>"
    )


# --- A real DeepInfra stream -------------------------------------------------------------

_MODEL = "meta-llama/Meta-Llama-3.1-70B-Instruct"
_CHUNK_1 = (
    '{"id": "chatcmpl-RXE8", "object": "chat.completion.chunk", "created": 1732684855, '
    f'"model": "{_MODEL}", "choices": [{{"index": 0, "delta": {{"role": "assistant", '
    '"content": "C", "tool_calls": null}, "finish_reason": null}], "usage": null}'
)
_CHUNK_2 = (
    '{"id": "chatcmpl-RXE8", "object": "chat.completion.chunk", "created": 1732684855, '
    f'"model": "{_MODEL}", "choices": [{{"index": 0, "delta": {{}}, "finish_reason": "stop"}}], '
    '"usage": {"prompt_tokens": 48, "total_tokens": 237, "completion_tokens": 189, '
    '"estimated_cost": 9.24e-05}}'
)
DEEPINFRA_STREAM = f"data: {_CHUNK_1}\n\ndata: {_CHUNK_2}\n\ndata: [DONE]\n\n".encode()


@pytest.mark.parametrize("size", [len(DEEPINFRA_STREAM), 1, 7, 64, 250])
def test_deepinfra_chat_stream(size: int) -> None:
    """The reference chat stream decodes to its two JSON chunks and [DONE], however split."""
    chunks = [DEEPINFRA_STREAM[i : i + size] for i in range(0, len(DEEPINFRA_STREAM), size)]
    events = decode(chunks)
    assert [e.data for e in events] == [_CHUNK_1, _CHUNK_2, "[DONE]"]
    assert {(e.event, e.id, e.retry) for e in events} == {("message", None, None)}
    assert json.loads(events[0].data)["choices"][0]["delta"]["content"] == "C"
    assert json.loads(events[1].data)["usage"]["estimated_cost"] == 9.24e-05


def test_deepinfra_stream_ending_without_blank_line() -> None:
    r"""A server that ends with `data: [DONE]\n` and no blank line still delivers [DONE]."""
    stream = DEEPINFRA_STREAM[:-1]
    assert [e.data for e in decode([stream])][-1] == "[DONE]"
    assert [e.data for e in decode(bytewise(stream))][-1] == "[DONE]"


# --- Properties -----------------------------------------------------------------------------

# Any text but line breaks (and lone surrogates, which UTF-8 cannot encode).
_line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_wire_event = st.fixed_dictionaries(
    {
        "data": st.lists(_line_text, max_size=3),
        "event": st.none() | _line_text,
        "id": st.none() | _line_text.filter(lambda s: "\x00" not in s),
        "retry": st.none() | st.integers(0, 10**9),
        "comment": st.none() | _line_text,
    }
)
_TERMINATORS = (b"\n", b"\r", b"\r\n")


@settings(max_examples=300, deadline=None)
@given(events=st.lists(_wire_event, max_size=6), bom=st.booleans(), data=st.data())
def test_any_chunking_gives_the_expected_events(
    events: list[dict[str, object]], bom: bool, data: st.DataObject
) -> None:
    """Events written with random line ends decode the same, as expected, however split."""
    lines: list[str] = []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    for spec in events:
        block: list[str] = []
        if isinstance(spec["comment"], str):
            block.append(":" + spec["comment"])
        if isinstance(spec["event"], str):
            block.append("event: " + spec["event"])
        if isinstance(spec["id"], str):
            block.append("id: " + spec["id"])
            last_id = spec["id"]
        retry = spec["retry"]
        assert retry is None or isinstance(retry, int)
        if retry is not None:
            block.append(f"retry: {retry}")
        data_lines = spec["data"]
        assert isinstance(data_lines, list)
        block += ["data: " + line for line in data_lines]
        lines += [*block, ""]
        if data_lines:
            event_type = spec["event"] if isinstance(spec["event"], str) else ""
            expected.append(
                ServerSentEvent("\n".join(data_lines), event_type or "message", last_id, retry)
            )

    stream = bytearray(BOM if bom else b"")
    previous = b""
    for line in lines:
        end = data.draw(st.sampled_from(_TERMINATORS))
        if previous == b"\r" and not line and end == b"\n":
            end = b"\r\n"  # CR then LF would read as one CRLF, not two line ends
        stream += line.encode() + end
        previous = end
    whole = bytes(stream)

    if data.draw(st.booleans()):
        chunks = bytewise(whole)
    else:
        cuts = sorted(set(data.draw(st.lists(st.integers(0, len(whole)), max_size=20))))
        chunks = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    assert b"".join(chunks) == whole

    at_once = decode([whole])
    assert at_once == expected
    assert decode(chunks) == at_once


@settings(max_examples=100, deadline=None)
@given(stream=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=10))
def test_arbitrary_bytes_decode_the_same_however_split(stream: bytes, cuts: list[int]) -> None:
    """Even for garbage input the events do not depend on where the chunks were cut."""
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert decode(chunks) == decode([stream]) == decode(bytewise(stream))


# --- Pull decoding (push / pull / end) ------------------------------------------------------


def pull_all(decoder: SSEDecoder) -> list[str]:
    """Pull until the decoder has nothing more; return each event's data."""
    found: list[str] = []
    while (item := decoder.pull()) is not None:
        found.append(item if isinstance(item, str) else item.data)
    return found


def lazily(chunks: Iterable[bytes]) -> list[str]:
    """Decode with push/pull, taking one event at a time, then end the stream."""
    decoder = SSEDecoder()
    found: list[str] = []
    for chunk in chunks:
        decoder.push(chunk)
        found += pull_all(decoder)
    decoder.end()
    return found + pull_all(decoder)


@settings(max_examples=200, deadline=None)
@given(stream=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=10))
def test_pull_gives_the_data_of_feed_however_split(stream: bytes, cuts: list[int]) -> None:
    """Pulling yields exactly the data of the events feed() returns."""
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert lazily(chunks) == [event.data for event in decode(chunks)]


@settings(max_examples=100, deadline=None)
@given(
    payloads=st.lists(
        st.text(alphabet=st.characters(exclude_characters="\r\n", exclude_categories=["Cs"])),
        max_size=8,
    ),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_pull_on_typical_llm_events(payloads: list[str], cuts: list[int]) -> None:
    """Single-line "data: ..." events (the fast path) come out whole, however split."""
    stream = b"".join(f"data: {p}\n\n".encode() for p in payloads)
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert lazily(chunks) == payloads


def test_pull_cuts_events_only_when_asked() -> None:
    """An oversized event later in the chunk fails only once the events before it are taken."""
    decoder = SSEDecoder(max_event_bytes=64)
    decoder.push(b"data: one\n\ndata: two\n\ndata: " + b"x" * 100 + b"\n\n")
    assert decoder.pull() == "one"
    assert decoder.pull() == "two"
    with pytest.raises(EventTooLargeError):
        decoder.pull()


def test_pull_returns_plain_data_or_whole_events() -> None:
    """A one-line event within one chunk comes as its data; any other as a ServerSentEvent."""
    decoder = SSEDecoder()
    decoder.push(b'data: {"a"')
    assert decoder.pull() is None
    decoder.push(b": 1}\n\ndata: x\ndata: y\n\n: ping\n\nevent: e\nid: 7\ndata: z\n\n")
    assert decoder.pull() == ServerSentEvent('{"a": 1}')  # begun in the previous chunk
    assert decoder.pull() == ServerSentEvent("x\ny")
    assert decoder.pull() == ServerSentEvent("z", "e", "7")
    assert decoder.pull() is None
    decoder.push(b"data: after\n\ndata: last\n")
    assert decoder.pull() == "after"
    assert decoder.pull() is None
    decoder.end()
    assert decoder.pull() == ServerSentEvent("last", "message", "7")
    assert decoder.pull() is None
