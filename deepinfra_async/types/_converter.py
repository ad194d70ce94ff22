"""Our cattrs converter: how decoded JSON becomes the types, and request types become JSON.

Never cattrs' global converter: ``make_converter()`` builds a fresh one configured by
``configure_converter()``, and ``converter`` is the library's default instance.

Structuring is the hot path (one call per streamed chunk), so the hooks registered here
check types with ``value.__class__ is T`` instead of converting, resolve the hook of an
optional or list item once per type instead of once per value, and take a list of floats
(an embedding) as the JSON parser produced it. Errors keep cattrs' shapes
(``ClassValidationError``, ``IterableValidationError``) so ``cattrs.transform_error``
can say where the mismatch is.

Native inference results (``POST /v1/inference/{model}``) keep DeepInfra's
``inference_status`` envelope in a field ``status: InferenceStatus``; the hooks here read
and write that field under the wire key.
"""

import types
from collections.abc import Callable
from typing import Any, Final, NoReturn, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._fast import can_generate, make_fast_structure_fn
from .chat import _REQUEST_UNSTRUCTURE_HOOKS
from .inference import InferenceResult, InferenceStatus, inference_result
from .models import ModelMetadata

__all__ = [
    "configure_converter",
    "converter",
    "make_converter",
]

_Hook = Callable[[Any, Any], Any]

_NoneType: Final = type(None)

_STATUS_KEY: Final = "inference_status"


def _type_error(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__}")


def _raise(exc: Exception) -> NoReturn:
    raise exc


def _structure_str(value: Any, _: Any) -> str:
    if value.__class__ is str:
        return value
    raise _type_error("a string", value)


def _structure_int(value: Any, _: Any) -> int:
    if value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise _type_error("an integer", value)


def _structure_float(value: Any, _: Any) -> float:
    if value.__class__ is float:
        return value
    if value.__class__ is int:
        return float(value)
    raise _type_error("a number", value)


def _structure_bool(value: Any, _: Any) -> bool:
    if value.__class__ is bool:
        return value
    raise _type_error("a boolean", value)


def _structure_optional_str(value: Any, _: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise _type_error("a string or null", value)


def _structure_optional_int(value: Any, _: Any) -> int | None:
    if value is None or value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise _type_error("an integer or null", value)


def _structure_optional_float(value: Any, _: Any) -> float | None:
    if value is None or value.__class__ is float:
        return value
    if value.__class__ is int:
        return float(value)
    raise _type_error("a number or null", value)


def _structure_json_array(value: Any, _: Any) -> list[Any]:
    if value.__class__ is list:
        return value
    raise _type_error("a list", value)


def _structure_json_object(value: Any, _: Any) -> dict[str, Any]:
    if value.__class__ is dict:
        return value
    raise _type_error("an object", value)


def _is_optional(type_: Any) -> bool:
    if get_origin(type_) not in (Union, types.UnionType):
        return False
    args = get_args(type_)
    return len(args) == 2 and _NoneType in args


def _is_list(type_: Any) -> bool:
    return get_origin(type_) is list


def _is_object_type(type_: Any) -> bool:
    """Whether JSON for ``type_`` is an object (an attrs class or a dict)."""
    return hasattr(type_, "__attrs_attrs__") or type_ is dict or get_origin(type_) is dict


def _optional_factory(type_: Any, converter: cattrs.Converter) -> _Hook:
    inner_type = next(arg for arg in get_args(type_) if arg is not _NoneType)
    inner = converter.get_structure_hook(inner_type)
    # Specialised for the commonest fields, saving a call per value.
    if inner is _structure_str:
        return _structure_optional_str
    if inner is _structure_int:
        return _structure_optional_int
    if inner is _structure_float:
        return _structure_optional_float
    if _is_object_type(inner_type):

        def structure_optional_object(value: Any, _: Any) -> Any:
            if value is None:
                return None
            if value.__class__ is not dict:
                # cattrs' class hooks would read a string or a list without complaint.
                raise _type_error("an object or null", value)
            return inner(value, inner_type)

        return structure_optional_object

    def structure_optional(value: Any, _: Any) -> Any:
        if value is None:
            return None
        return inner(value, inner_type)

    return structure_optional


def _list_factory(type_: Any, converter: cattrs.Converter) -> _Hook:
    args = get_args(type_)
    if not args or args[0] is Any:
        return _structure_json_array
    item_type = args[0]
    item = converter.get_structure_hook(item_type)
    objects = _is_object_type(item_type)
    detailed = converter.detailed_validation

    def structure_items_slowly(value: list[Any]) -> list[Any]:
        # Only after a failure: find every bad item, reported as cattrs does.
        result = []
        errors = []
        for index, element in enumerate(value):
            try:
                if objects and element.__class__ is not dict:
                    raise _type_error("an object", element)
                result.append(item(element, item_type))
            except Exception as exc:
                note = IterableValidationNote(
                    f"Structuring {type_} @ index {index}", index, item_type
                )
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return result

    def structure_list(value: Any, _: Any) -> list[Any]:
        if value.__class__ is not list:
            raise _type_error("a list", value)
        try:
            if objects:
                return [
                    item(element, item_type)
                    if element.__class__ is dict
                    else _raise(_type_error("an object", element))
                    for element in value
                ]
            return [item(element, item_type) for element in value]
        except Exception:
            if not detailed:
                raise
        return structure_items_slowly(value)

    return structure_list


def _generates(converter: cattrs.Converter) -> bool:
    """Whether ``converter`` gets the generated functions of :mod:`._fast` for classes."""
    return not converter.detailed_validation and not converter.forbid_extra_keys


def _fast_class_factory(type_: Any, converter: cattrs.Converter) -> _Hook:
    return make_fast_structure_fn(type_, converter)


def _structure_model_metadata(type_: Any, converter: cattrs.Converter) -> _Hook:
    tags = converter.get_structure_hook(list[str])

    def structure_tags(value: Any, _: Any) -> list[str]:
        # Some models come with "tags": null; the field is always a list.
        return [] if value is None else tags(value, list[str])

    if _generates(converter):
        return make_fast_structure_fn(type_, converter, hooks={"tags": structure_tags})
    return make_dict_structure_fn(type_, converter, tags=override(struct_hook=structure_tags))


def _has_status_field(type_: Any) -> bool:
    """Whether ``type_`` is a native result: an attrs class with ``status: InferenceStatus``."""
    if not isinstance(type_, type) or not attrs.has(type_) or type_ is InferenceResult:
        return False
    field = attrs.fields_dict(type_).get("status")
    return field is not None and field.type is InferenceStatus


def _structure_native_result(type_: Any, converter: cattrs.Converter) -> _Hook:
    status = converter.get_structure_hook(InferenceStatus)

    def structure_status(value: Any, _: Any) -> InferenceStatus:
        if value.__class__ is dict:
            result: InferenceStatus = status(value, InferenceStatus)
            return result
        if value is None:
            return InferenceStatus()
        # All of InferenceStatus' fields have defaults: cattrs' class hook would read a
        # string or a list as the default status.
        raise _type_error("an object or null", value)

    if _generates(converter) and can_generate(type_):
        return make_fast_structure_fn(
            type_, converter, keys={"status": _STATUS_KEY}, hooks={"status": structure_status}
        )
    return make_dict_structure_fn(
        type_, converter, status=override(rename=_STATUS_KEY, struct_hook=structure_status)
    )


def _unstructure_native_result(type_: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    return make_dict_unstructure_fn(type_, converter, status=override(rename=_STATUS_KEY))


def _unstructure_inference_result(type_: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    status = converter.get_unstructure_hook(InferenceStatus)

    def unstructure(value: InferenceResult) -> dict[str, Any]:
        # Back to the wire shape: the output's keys next to the envelope.
        return {**value.output, "request_id": value.request_id, _STATUS_KEY: status(value.status)}

    return unstructure


def configure_converter(converter: cattrs.Converter) -> None:
    """Register our hooks on ``converter``.

    Structuring: ``str``, ``int``, ``float`` and ``bool`` are checked, not coerced (an
    integral float passes as an ``int``, an ``int`` as a ``float``); ``list[float]`` and
    ``dict[str, Any]`` are taken as decoded, without a copy; ``X | None`` and ``list[X]``
    look the hook of ``X`` up once. Native results read and write their
    :class:`InferenceStatus` field (``status``) under the wire key ``inference_status``,
    ``null`` reading as the default status; an :class:`InferenceResult` is structured by
    :func:`inference_result` and unstructured back to the flat wire shape. Unstructuring:
    the request-side message classes leave out every ``None`` field.

    Args:
        converter: The converter to configure, for instance a fresh ``cattrs.Converter``.

    .. versionadded:: 0.1.0
    """
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook_factory(_is_optional, _optional_factory)
    converter.register_structure_hook_factory(_is_list, _list_factory)
    # Registered after the list factory, so these win for their exact types. An embedding
    # is thousands of floats: the parser's list is taken as it is, in O(1).
    converter.register_structure_hook_func(lambda t: t == list[float], _structure_json_array)
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], _structure_json_object)
    if _generates(converter):
        # Registered before the special classes below, which take precedence.
        converter.register_structure_hook_factory(can_generate, _fast_class_factory)
    converter.register_structure_hook_factory(
        lambda t: t is ModelMetadata, _structure_model_metadata
    )
    converter.register_structure_hook_factory(_has_status_field, _structure_native_result)
    converter.register_unstructure_hook_factory(_has_status_field, _unstructure_native_result)
    converter.register_structure_hook(InferenceResult, lambda value, _: inference_result(value))
    converter.register_unstructure_hook_factory(
        lambda t: t is InferenceResult, _unstructure_inference_result
    )
    for cls, hook in _REQUEST_UNSTRUCTURE_HOOKS.items():
        converter.register_unstructure_hook(cls, hook)


def make_converter(
    *, forbid_extra_keys: bool = False, detailed_validation: bool = True
) -> cattrs.Converter:
    """Build a converter for the types in this package.

    Args:
        forbid_extra_keys: Reject response keys the types do not know (the test suite uses
            this to catch drift between the types and the server); by default they are
            ignored, so new server fields never break old clients.
        detailed_validation: Collect every error with its path (cattrs' error groups).
            Without it, generated code is leaner and stops at the first error.

    Returns:
        A new, configured converter; structure hooks are generated on first use per type.

    .. versionadded:: 0.1.0
    """
    result = cattrs.Converter(
        forbid_extra_keys=forbid_extra_keys, detailed_validation=detailed_validation
    )
    configure_converter(result)
    return result


converter: Final = make_converter()
"""The library's converter; register nothing on it (build your own with make_converter)."""

fast_converter: Final = make_converter(detailed_validation=False)
"""The converter on the library's hot paths: lean generated code, no error collection. When
it fails, the library structures again with :data:`converter` to describe what was wrong."""
