"""The generated structuring functions (types/_fast.py) against cattrs' detailed converter.

The fast converter (the library's hot path) and the detailed converter (used to describe a
failure) must accept and refuse the same values and build equal objects. The one intended
difference: the generated functions refuse a non-dict where a nested attrs object is
required, which cattrs' class hooks may read as an object with every key missing.
"""

import copy
import functools
import types as builtin_types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from deepinfra_async import ResponseValidationError, types
from deepinfra_async.endpoints._base import structure, structurer
from deepinfra_async.types import (
    BatchErrors,
    ChatCompletionChunk,
    ChatCompletionTokenLogprob,
    ChoiceDelta,
    ChunkChoice,
    GeneratedText,
    InferenceResult,
    InferenceStatus,
    ModelMetadata,
    SpeechRecognitionResult,
    TextGenerationResult,
    TopLogprob,
    Usage,
)
from deepinfra_async.types._converter import converter, fast_converter
from deepinfra_async.types._fast import can_generate

FAST_FILENAME = "<deepinfra_async fast structure"
STATUS_KEY = "inference_status"


def _attrs_classes() -> list[type[Any]]:
    found = []
    for name in types.__all__:
        value = getattr(types, name)
        if isinstance(value, type) and attrs.has(value):
            attrs.resolve_types(value)
            found.append(value)
    return found


def _is_native_result(cls: type[Any]) -> bool:
    """A class with ``status: InferenceStatus``, read from the wire key ``inference_status``."""
    if cls is InferenceResult:  # the generic envelope: structured by inference_result()
        return False
    field = attrs.fields_dict(cls).get("status")
    return field is not None and field.type is InferenceStatus


def _is_request_side(cls: type[Any]) -> bool:
    """A request message class: its ``role`` (or ``type``) is fixed, not read from JSON."""
    return any(not field.init for field in attrs.fields(cls))


ALL_CLASSES = _attrs_classes()
RESPONSE_TYPES = [cls for cls in ALL_CLASSES if can_generate(cls)]
NATIVE_RESULTS = [cls for cls in RESPONSE_TYPES if _is_native_result(cls)]


def test_the_property_covers_every_response_type() -> None:
    """Only request-side classes are left out; the special cases are in."""
    left_out = [cls for cls in ALL_CLASSES if cls not in RESPONSE_TYPES]
    assert left_out, "the request-side message classes are not generated"
    for cls in left_out:
        assert _is_request_side(cls), cls.__name__
    for cls in (ModelMetadata, ChatCompletionChunk, InferenceResult, InferenceStatus):
        assert cls in RESPONSE_TYPES, cls.__name__
    assert TextGenerationResult in NATIVE_RESULTS
    assert SpeechRecognitionResult in NATIVE_RESULTS
    assert len(NATIVE_RESULTS) >= 10


# -- Strategies of JSON-like values -------------------------------------------------------
#
# Three kinds of value for each type: "clean" (valid: the detailed converter accepts it),
# "wrong" (one mistake somewhere inside: a wrong type, a null or a missing key) and "noisy"
# (each value valid three times out of four). Every object also gets unknown keys.

CLEAN, WRONG, NOISY = "clean", "wrong", "noisy"

small_text = st.text(max_size=4)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | small_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(small_text, inner, max_size=2),
    max_leaves=4,
)
json_lists = st.lists(json_scalars, max_size=2)
json_objects = st.dictionaries(small_text, json_scalars, max_size=2)
not_objects = small_text | json_lists | st.integers() | st.booleans()
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
# 3.0 for an int is accepted (JSON encoders write integral numbers either way).
integral_floats = st.integers(min_value=-(2**60), max_value=2**60).map(float)

_SCALARS: dict[Any, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    # type: (valid values, wrong values)
    str: (small_text, st.none() | st.booleans() | st.integers() | finite_floats | json_lists),
    int: (
        st.integers() | integral_floats,
        st.none() | st.booleans() | finite_floats | st.just("3") | small_text | json_objects,
    ),
    float: (
        finite_floats | st.integers(),
        st.none() | st.booleans() | st.just("1.5") | small_text | json_lists,
    ),
    bool: (st.booleans(), st.none() | st.integers(0, 1) | st.just("true") | finite_floats),
    # bytes(n) allocates n bytes: keep the integers small.
    bytes: (
        st.lists(st.integers(0, 255), max_size=3) | st.integers(0, 4),
        st.none() | small_text | finite_floats | st.integers(-3, -1) | st.just([256]),
    ),
    Any: (json_values, json_values),
}

EXTRA_KEYS = ("extra", "x-unknown", "status", STATUS_KEY, "id", "object", "")


def _is_optional(type_: Any) -> bool:
    args = get_args(type_)
    return (
        get_origin(type_) in (Union, builtin_types.UnionType)
        and len(args) == 2
        and type(None) in args
    )


def _mix(
    kind: str, clean: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """The values of ``kind`` from a type's clean and wrong values."""
    if kind == CLEAN:
        return clean
    if kind == WRONG:
        return wrong
    return st.one_of(clean, clean, clean, wrong)


def _or_other(
    kind: str, objects_: st.SearchStrategy[Any], others: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Objects of ``kind``, or (unless CLEAN) sometimes a value of another type."""
    if kind == WRONG:
        return objects_ | others
    return _mix(kind, objects_, others)


def _with_one(
    kind: str, clean: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Short lists of clean items; for WRONG, with one odd item among them."""
    if kind == WRONG:
        return st.builds(
            lambda before, item, after: [*before, item, *after],
            st.lists(clean, max_size=1),
            odd,
            st.lists(clean, max_size=1),
        )
    return st.lists(odd if kind == NOISY else clean, max_size=2)


@functools.cache
def values(type_: Any, kind: str) -> st.SearchStrategy[Any]:
    """JSON values for a field of ``type_`` (see CLEAN, WRONG, NOISY)."""
    if type_ in _SCALARS:
        valid, wrong = _SCALARS[type_]
        return _mix(kind, valid, wrong)
    if _is_optional(type_):
        inner_type = next(arg for arg in get_args(type_) if arg is not type(None))
        inner = values(inner_type, kind)
        if attrs.has(inner_type):
            # Unlike a required object, an optional one is checked by both converters.
            inner = _or_other(kind, inner, not_objects)
        return inner if kind == WRONG else st.none() | inner
    origin, args = get_origin(type_), get_args(type_)
    if attrs.has(type_):
        # No other type where an object is required (the intended difference), but a null
        # is refused by both.
        return _mix(kind, objects(type_, CLEAN), objects(type_, kind) | st.none())
    if origin is list and len(args) == 1:
        item = args[0]
        odd = values(item, kind)
        if attrs.has(item):
            # A non-dict list element is checked by both converters' list hooks.
            odd = _or_other(kind, odd, json_scalars)
        lists = _with_one(kind, values(item, CLEAN), odd)
        return _mix(kind, lists, lists | st.none() | small_text | json_objects)
    if origin is dict and len(args) == 2 and args[0] is str:
        clean = values(args[1], CLEAN)
        if kind == WRONG:
            dicts = st.builds(
                lambda d, key, value: {**d, key: value},
                st.dictionaries(small_text, clean, max_size=1),
                small_text,
                values(args[1], WRONG),
            )
        else:
            dicts = st.dictionaries(small_text, values(args[1], kind), max_size=2)
        return _mix(kind, dicts, dicts | st.none() | small_text | json_lists)
    msg = f"no strategy for {type_!r}: extend the test"
    raise TypeError(msg)


def wire_key(name: str, type_: Any) -> str:
    """Native results keep their ``status`` under ``inference_status``."""
    return STATUS_KEY if name == "status" and type_ is InferenceStatus else name


def _field_values(name: str, type_: Any, kind: str) -> st.SearchStrategy[Any]:
    if wire_key(name, type_) == STATUS_KEY:
        # An object or null; both converters' hooks refuse anything else.
        return st.none() | _or_other(kind, objects(InferenceStatus, kind), not_objects)
    return values(type_, kind)


def _objects_wrong_at(cls: type[Any], index: int) -> st.SearchStrategy[dict[str, Any]]:
    """Clean dicts for ``cls`` but for the field at ``index``: wrong, or its key missing."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for i, field in enumerate(attrs.fields(cls)):
        key = wire_key(field.name, field.type)
        kind = WRONG if i == index else CLEAN
        has_default = field.default is not attrs.NOTHING
        target = optional if i == index or has_default else required
        target[key] = _field_values(field.name, field.type, kind)
    return st.fixed_dictionaries(required, optional=optional)


_OBJECTS: dict[tuple[type[Any], str], st.SearchStrategy[dict[str, Any]]] = {}


def objects(cls: type[Any], kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts for ``cls`` with some unknown keys (see CLEAN, WRONG, NOISY).

    CLEAN: required keys present, values valid; WRONG: one field wrong or missing, all
    others clean; NOISY: any key may be missing, any value null or of a wrong type.
    """
    strategy = _OBJECTS.get((cls, kind))
    if strategy is None:
        strategy = _OBJECTS[cls, kind] = _make_objects(cls, kind)
    return strategy


def _make_objects(cls: type[Any], kind: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = attrs.fields(attrs.resolve_types(cls))
    known: st.SearchStrategy[dict[str, Any]]
    if kind == WRONG:
        known = st.one_of([_objects_wrong_at(cls, index) for index in range(len(fields))])
    else:
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for field in fields:
            has_default = field.default is not attrs.NOTHING
            target = optional if kind == NOISY or has_default else required
            target[wire_key(field.name, field.type)] = _field_values(field.name, field.type, kind)
        known = st.fixed_dictionaries(required, optional=optional)
    own = {wire_key(field.name, field.type) for field in fields}
    extra = st.dictionaries(
        st.sampled_from([key for key in EXTRA_KEYS if key not in own]), json_scalars, max_size=2
    )
    return st.builds(lambda f, e: {**e, **f}, known, extra)


def payloads(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return objects(cls, CLEAN) | objects(cls, WRONG) | objects(cls, NOISY)


# -- The property -------------------------------------------------------------------------


def _attempt(call: Callable[[], Any]) -> tuple[Any, Exception | None]:
    try:
        return call(), None
    except Exception as exc:
        return None, exc


def assert_same(actual: Any, expected: Any, path: str = "$") -> None:
    """Equal, and of the same type all the way down (``3 == 3.0`` is not enough)."""
    assert type(actual) is type(expected), (path, actual, expected)
    if attrs.has(type(expected)):
        for field in attrs.fields(type(expected)):
            name = field.name
            assert_same(getattr(actual, name), getattr(expected, name), f"{path}.{name}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), (path, actual, expected)
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{index}]")
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), (path, actual, expected)
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    else:
        assert actual == expected, (path, actual, expected)


@pytest.mark.parametrize("cls", RESPONSE_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_fast_and_detailed_converters_agree(cls: type[Any], data: st.DataObject) -> None:
    """Same verdict, equal objects of the same types; the input is left unchanged."""
    payload = data.draw(payloads(cls), label="payload")
    before = copy.deepcopy(payload)
    fast_hook = fast_converter.get_structure_hook(cls)

    expected, detailed_error = _attempt(lambda: converter.structure(payload, cls))
    actual, fast_error = _attempt(lambda: fast_hook(payload, cls))
    event("refused" if detailed_error is not None else "accepted")
    if detailed_error is not None:
        assert fast_error is not None, f"only the detailed converter refused: {detailed_error!r}"
        with pytest.raises(ResponseValidationError) as info:
            structure(cls, payload)
        assert info.value.type_name == cls.__name__
        assert info.value.body is payload
    else:
        assert fast_error is None, f"only the fast converter refused: {fast_error!r}"
        assert actual == expected
        assert_same(actual, expected)
        assert_same(structure(cls, payload), expected)
    assert payload == before


# -- A non-dict where an object is required ----------------------------------------------

NOT_OBJECTS = ["oops", "", ["role"], 3, 1.5, True]


@pytest.mark.parametrize("value", NOT_OBJECTS, ids=repr)
def test_a_non_dict_list_element_is_a_validation_error(value: object) -> None:
    """A chunk whose choice is not an object is refused, naming the class."""
    data = {"id": "x", "choices": [value], "model": "m"}
    with pytest.raises(ResponseValidationError, match="ChatCompletionChunk") as info:
        structure(ChatCompletionChunk, data)
    assert info.value.type_name == "ChatCompletionChunk"
    assert info.value.body is data
    with pytest.raises(ResponseValidationError, match="ChatCompletionChunk"):
        structurer(ChatCompletionChunk)(data)
    # The detailed converter refuses it too: its list hook checks each element.
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure(data, ChatCompletionChunk)


@pytest.mark.parametrize("value", NOT_OBJECTS, ids=repr)
def test_a_non_dict_delta_is_a_validation_error(value: object) -> None:
    """A string (or list, number) as a choice's delta is refused, naming the class."""
    choice = {"index": 0, "delta": value}
    with pytest.raises(ResponseValidationError, match="ChunkChoice") as info:
        structure(ChunkChoice, choice)
    assert info.value.type_name == "ChunkChoice"
    assert "delta" in info.value.message

    chunk = {"id": "x", "choices": [choice], "model": "m"}
    with pytest.raises(ResponseValidationError, match="ChatCompletionChunk") as info:
        structure(ChatCompletionChunk, chunk)
    assert info.value.type_name == "ChatCompletionChunk"
    assert "delta" in info.value.message
    with pytest.raises(ResponseValidationError, match="ChatCompletionChunk"):
        structurer(ChatCompletionChunk)(chunk)


def test_a_string_delta_is_the_intended_difference() -> None:
    """The detailed converter reads a string as an empty delta; the fast one refuses it."""
    choice = {"index": 0, "delta": "oops"}
    assert converter.structure(choice, ChunkChoice) == ChunkChoice(index=0, delta=ChoiceDelta())
    with pytest.raises(TypeError, match="delta: expected an object, got str"):
        fast_converter.get_structure_hook(ChunkChoice)(choice, ChunkChoice)


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (types.Choice, {"index": 0, "message": "hi"}),
        (types.ChatCompletionMessageToolCall, {"id": "c", "function": ["f", "{}"]}),
        (types.DetectedObject, {"label": "cat", "score": 0.5, "box": 7}),
        (types.Model, {"id": "m", "metadata": "none"}),
        (types.Usage, {"prompt_tokens_details": []}),
        (TextGenerationResult, {"results": [], STATUS_KEY: "succeeded"}),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_non_dict_nested_object_is_a_validation_error(cls: type[Any], data: Any) -> None:
    """Each object position refuses a non-dict through the fast path."""
    with pytest.raises(TypeError, match="expected an object"):
        fast_converter.get_structure_hook(cls)(data, cls)
    with pytest.raises(ResponseValidationError, match=cls.__name__) as info:
        structure(cls, data)
    assert info.value.type_name == cls.__name__


# -- The generated functions are the ones in use ------------------------------------------


def _filename(hook: Callable[..., Any]) -> str:
    code = getattr(hook, "__code__", None)
    return "" if code is None else code.co_filename


def test_the_generated_function_is_in_use_on_the_fast_converter_only() -> None:
    """fast_converter uses the generated function; converter keeps cattrs' code."""
    fast_hook = fast_converter.get_structure_hook(ChatCompletionChunk)
    assert fast_hook.__name__ == "structure_ChatCompletionChunk"
    assert _filename(fast_hook).startswith(FAST_FILENAME)
    assert _filename(fast_hook).endswith("ChatCompletionChunk>")
    assert not _filename(converter.get_structure_hook(ChatCompletionChunk)).startswith(
        FAST_FILENAME
    )
    for cls in (ChunkChoice, ChoiceDelta, Usage, ModelMetadata, TextGenerationResult):
        assert _filename(fast_converter.get_structure_hook(cls)).startswith(FAST_FILENAME)
        assert not _filename(converter.get_structure_hook(cls)).startswith(FAST_FILENAME)


def test_every_response_type_but_inference_result_gets_a_generated_function() -> None:
    """InferenceResult keeps its own hook; every other response type is generated."""
    for cls in RESPONSE_TYPES:
        fast = _filename(fast_converter.get_structure_hook(cls)).startswith(FAST_FILENAME)
        assert fast is (cls is not InferenceResult), cls.__name__


CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1732684855,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "C", "tool_calls": None},
            "finish_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 48, "total_tokens": 237.0, "completion_tokens": 189},
}


def test_generated_objects_are_frozen_and_equal_to_constructed_ones() -> None:
    """The objects filled slot by slot are the frozen objects that __init__ builds."""
    chunk = fast_converter.get_structure_hook(ChatCompletionChunk)(CHUNK, ChatCompletionChunk)
    built = ChatCompletionChunk(
        id="chatcmpl-1",
        created=1732684855,
        model="m",
        choices=[ChunkChoice(index=0, delta=ChoiceDelta(role="assistant", content="C"))],
        usage=Usage(prompt_tokens=48, total_tokens=237, completion_tokens=189),
    )
    assert chunk == built
    assert_same(chunk, built)
    assert repr(chunk) == repr(built)
    assert attrs.asdict(chunk) == attrs.asdict(built)
    assert attrs.evolve(chunk, id="other").id == "other"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        chunk.id = "other"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        chunk.choices[0].delta.content = "D"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del chunk.model
    assert not hasattr(chunk, "__dict__")
    assert chunk.id == "chatcmpl-1"


# -- Factory defaults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "data", "name"),
    [
        (ModelMetadata, {"description": "d"}, "tags"),
        (ModelMetadata, {"tags": None}, "tags"),
        (ChatCompletionTokenLogprob, {"token": "a", "logprob": -0.5}, "top_logprobs"),
        (BatchErrors, {}, "data"),
        (SpeechRecognitionResult, {"text": "hi"}, "segments"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_factory_default_is_a_fresh_list_per_object(
    cls: type[Any], data: dict[str, Any], name: str
) -> None:
    """A missing key gives each object its own new empty list."""
    hook = fast_converter.get_structure_hook(cls)
    assert _filename(hook).startswith(FAST_FILENAME)
    first, second = hook(data, cls), hook(data, cls)
    assert getattr(first, name) == []
    assert getattr(second, name) == []
    assert getattr(first, name) is not getattr(second, name)
    assert getattr(first, name) is not getattr(cls(**_init_args(cls, data)), name)
    assert first == converter.structure(data, cls)


def _init_args(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``cls`` from ``data``'s set fields (none of them nested)."""
    names = attrs.fields_dict(cls)
    return {key: value for key, value in data.items() if key in names and value is not None}


def test_a_present_list_is_structured_not_defaulted() -> None:
    """top_logprobs given: structured into TopLogprob objects."""
    data = {
        "token": "a",
        "logprob": -1,
        "top_logprobs": [{"token": "b", "logprob": -2.5, "bytes": [98]}],
    }
    hook = fast_converter.get_structure_hook(ChatCompletionTokenLogprob)
    result = hook(data, ChatCompletionTokenLogprob)
    assert result == ChatCompletionTokenLogprob(
        token="a", logprob=-1.0, top_logprobs=[TopLogprob(token="b", logprob=-2.5, bytes=[98])]
    )
    assert type(result.logprob) is float


# -- Native results -----------------------------------------------------------------------


def test_native_results_read_inference_status_through_the_fast_path() -> None:
    """inference_status becomes .status (numbers checked as elsewhere); "status" is ignored."""
    hook = fast_converter.get_structure_hook(TextGenerationResult)
    assert _filename(hook).startswith(FAST_FILENAME)
    data = {
        "results": [{"generated_text": "hello"}],
        "num_tokens": 2.0,
        "request_id": "r1",
        "status": "not the envelope",
        STATUS_KEY: {"status": "succeeded", "cost": 1, "tokens_generated": 3.0, "x": 0},
    }
    result = hook(data, TextGenerationResult)
    assert result.status == InferenceStatus(status="succeeded", cost=1.0, tokens_generated=3)
    assert type(result.status.cost) is float
    assert type(result.status.tokens_generated) is int
    assert result.results == [GeneratedText(generated_text="hello")]
    assert result.text == "hello"
    assert result.num_tokens == 2
    assert type(result.num_tokens) is int
    assert result == converter.structure(data, TextGenerationResult)
    assert structure(TextGenerationResult, data) == result


@pytest.mark.parametrize("envelope", [{}, None, "missing"], ids=repr)
def test_a_missing_or_null_inference_status_reads_as_the_default(envelope: Any) -> None:
    """No envelope, null or {}: the default InferenceStatus."""
    data: dict[str, Any] = {"results": []}
    if envelope != "missing":
        data[STATUS_KEY] = envelope
    result = structure(TextGenerationResult, data)
    assert result.status == InferenceStatus()
    assert result.status.status == "unknown"


@pytest.mark.parametrize("envelope", ["succeeded", [], 1, {"status": 1}, {"cost": "1"}])
def test_a_wrong_inference_status_is_a_validation_error(envelope: Any) -> None:
    """An envelope that is not an object (or has a wrong field) is refused on both paths."""
    data = {"results": [], STATUS_KEY: envelope}
    with pytest.raises(ResponseValidationError, match="TextGenerationResult"):
        structure(TextGenerationResult, data)
    with pytest.raises(cattrs.BaseValidationError):
        converter.structure(data, TextGenerationResult)


@pytest.mark.parametrize("cls", NATIVE_RESULTS, ids=lambda cls: cls.__name__)
def test_every_native_result_reads_its_status_under_the_wire_key(cls: type[Any]) -> None:
    """Each native result's generated function reads "inference_status", not "status"."""
    required = {
        field.name: _minimal(field.type)
        for field in attrs.fields(cls)
        if field.default is attrs.NOTHING
    }
    data = {**required, "status": {"status": "wrong key"}, STATUS_KEY: {"status": "queued"}}
    hook = fast_converter.get_structure_hook(cls)
    assert _filename(hook).startswith(FAST_FILENAME)
    result = hook(data, cls)
    assert result.status == InferenceStatus(status="queued")
    assert result == converter.structure(data, cls)


def _minimal(type_: Any) -> Any:
    """A valid JSON value for a required field of a native result."""
    if type_ is str:
        return "s"
    if type_ is float:
        return 0.5
    if type_ is bytes:
        return [1, 2]
    if get_origin(type_) is list:
        return []
    msg = f"no minimal value for {type_!r}: extend the test"
    raise TypeError(msg)


def test_a_top_level_non_object_says_what_was_expected() -> None:
    """A string where a whole object belongs names the class and what was expected."""
    with pytest.raises(
        ResponseValidationError, match=r"ChoiceDelta: .*expected an object, got str"
    ):
        structure(ChoiceDelta, "oops")


def test_classes_whose_init_does_more_are_left_to_cattrs() -> None:
    """A validator, a converter, a post-init hook or a cached hash keep cattrs' own hook."""

    @attrs.frozen(cache_hash=True)
    class Hashed:
        x: int

    @attrs.frozen
    class Checked:
        x: int = attrs.field(validator=attrs.validators.ge(0))

    @attrs.frozen
    class Converted:
        x: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen
    class Plain:
        x: int

    for cls in (Hashed, Checked, Converted, Hooked):
        assert not can_generate(cls), cls
    assert can_generate(Plain)
    hashed = fast_converter.structure({"x": 1}, Hashed)
    assert hash(hashed) == hash(Hashed(x=1))
    with pytest.raises(ValueError, match="x"):
        fast_converter.structure({"x": -1}, Checked)
