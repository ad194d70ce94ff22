"""Generated structuring functions for the hot path: one straight-line function per class.

cattrs' generated code calls a hook per field and builds each frozen object through its
``__init__`` (keyword arguments, then one ``object.__setattr__`` call per field). On a
streamed chunk that is most of the client's CPU time. The functions generated here read
each key once, check the common types inline (``value.__class__ is str``), call a hook
only for the other types, and fill the new instance's slots directly. The instances are
the same frozen attrs objects that ``__init__`` would build.

They are registered on the converter without detailed validation (the library's fast
converter, see :mod:`._converter`); they stop at the first problem, and the library then
structures again with the detailed converter to describe it. Both converters accept and
refuse the same values: the test suite checks that with generated inputs.
"""

import linecache
from collections.abc import Callable, Mapping
from typing import Any, Final, get_args, get_origin

import attrs
import cattrs

__all__ = ["can_generate", "make_fast_structure_fn"]

_Hook = Callable[[Any, Any], Any]

_NoneType: Final = type(None)
_MISSING: Final = object()
_IMMUTABLE: Final = (str, int, float, bool, bytes, type(None))
_HASH_CACHE: Final = "_attrs_cached_hash"  # the slot attrs adds for cache_hash=True


def _name_of(value: object) -> str:
    return type(value).__name__


def _expected(key: str, what: str, value: object) -> TypeError:
    return TypeError(f"{key}: expected {what}, got {_name_of(value)}")


def _not_object(key: str, value: object) -> Any:
    raise _expected(key, "a list of objects", value)


def _to_int(value: Any, key: str) -> int:
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise _expected(key, "an integer", value)


def _to_float(value: Any, key: str) -> float:
    if value.__class__ is int:
        return float(value)
    raise _expected(key, "a number", value)


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """The slot's own ``__set__``: fills a frozen instance without its ``__setattr__``."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            setter: Callable[[Any, Any], None] = descriptor.__set__
            return setter
    msg = f"{cls.__name__}.{name} has no slot"  # pragma: no cover - checked by can_generate
    raise TypeError(msg)  # pragma: no cover


def can_generate(cls: Any) -> bool:
    """Whether ``cls`` is a slotted attrs class whose ``__init__`` only stores its fields."""
    if not isinstance(cls, type) or not attrs.has(cls) or "__slots__" not in cls.__dict__:
        return False
    if getattr(cls, "__attrs_post_init__", None) is not None:
        return False
    if getattr(cls, "__attrs_pre_init__", None) is not None:
        return False
    if any(_HASH_CACHE in getattr(klass, "__slots__", ()) for klass in cls.__mro__):
        return False  # cache_hash=True: __init__ also clears the cached hash
    for field in attrs.fields(cls):
        if not field.init or field.validator is not None or field.converter is not None:
            return False
        if field.alias != field.name:
            return False
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                return False
        elif default is not attrs.NOTHING and not isinstance(default, _IMMUTABLE):
            return False
    return True


def _inner_of_optional(type_: Any) -> Any:
    args = get_args(type_)
    if len(args) == 2 and _NoneType in args:
        return args[0] if args[1] is _NoneType else args[1]
    return None


def make_fast_structure_fn(
    cls: type[Any],
    converter: cattrs.Converter,
    *,
    keys: Mapping[str, str] | None = None,
    hooks: Mapping[str, _Hook] | None = None,
) -> _Hook:
    """Generate the structuring function of ``cls`` (see :func:`can_generate`).

    Args:
        cls: The attrs class.
        converter: Where the hooks of the other field types come from.
        keys: Wire keys for fields whose key is not the field name.
        hooks: Hooks for particular fields, called with every present value (``None``
            included).

    Returns:
        A hook ``(data, cls) -> instance``; it raises on the first mismatch.
    """
    attrs.resolve_types(cls)
    keys = keys or {}
    hooks = hooks or {}
    names: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_M": _MISSING,
        "_expected": _expected,
        "_to_int": _to_int,
        "_to_float": _to_float,
        "_not_object": _not_object,
    }
    lines = ["    o = _new(_cls)"]
    for i, field in enumerate(attrs.fields(cls)):
        key = keys.get(field.name, field.name)
        names[f"_k{i}"] = key
        names[f"_s{i}"] = _slot_setter(cls, field.name)
        type_ = field.type
        hook = hooks.get(field.name)
        inner = _inner_of_optional(type_)
        optional = inner is not None and hook is None
        check = _check(i, inner if optional else type_, hook, converter, names)
        default = field.default
        if default is attrs.NOTHING:
            lines.append(f"    v = d[_k{i}]")
            body = check
        elif optional and default is None:
            lines.append(f"    v = d.get(_k{i})")
            body = check
            optional = True
        else:
            lines.append(f"    v = d.get(_k{i}, _M)")
            lines.append("    if v is _M:")
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                names[f"_f{i}"] = default.factory
                lines.append(f"        v = _f{i}()")
            else:
                names[f"_d{i}"] = default
                lines.append(f"        v = _d{i}")
            if check:
                lines.append("    else:")
                lines.extend("    " + line for line in _guarded(check, optional))
            optional = False
            body = []
        lines.extend(_guarded(body, optional))
        lines.append(f"    _s{i}(o, v)")
    lines.append("    return o")
    source = "\n".join(["def structure(d, _):", *lines]) + "\n"
    filename = f"<deepinfra_async fast structure {cls.__module__}.{cls.__qualname__}>"
    code = compile(source, filename, "exec")
    # Tracebacks through the generated code show its source.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(code, names, namespace)  # the source names fields by index only
    function: _Hook = namespace["structure"]
    function.__name__ = function.__qualname__ = f"structure_{cls.__name__}"
    return function


def _guarded(check: list[str], optional: bool) -> list[str]:
    """The check's lines, skipped for ``None`` when the field may be ``None``."""
    if not check:
        return []
    if optional:
        return ["    if v is not None:", *("    " + line for line in check)]
    return check


def _check(
    i: int, type_: Any, hook: _Hook | None, converter: cattrs.Converter, names: dict[str, Any]
) -> list[str]:
    """Lines that check (and if needed convert) a present value ``v`` of ``type_``."""
    key = f"_k{i}"
    if hook is not None:
        names[f"_h{i}"] = hook
        names[f"_t{i}"] = type_
        return [f"    v = _h{i}(v, _t{i})"]
    if type_ is Any:
        return []
    if type_ is str:
        return ["    if v.__class__ is not str:", f"        raise _expected({key}, 'a string', v)"]
    if type_ is bool:
        return [
            "    if v.__class__ is not bool:",
            f"        raise _expected({key}, 'a boolean', v)",
        ]
    if type_ is int:
        return ["    if v.__class__ is not int:", f"        v = _to_int(v, {key})"]
    if type_ is float:
        return ["    if v.__class__ is not float:", f"        v = _to_float(v, {key})"]
    if get_origin(type_) is list and len(get_args(type_)) == 1 and attrs.has(get_args(type_)[0]):
        # A list of objects, built here rather than by a list hook: one call fewer.
        item_type = get_args(type_)[0]
        names[f"_h{i}"] = converter.get_structure_hook(item_type)
        names[f"_t{i}"] = item_type
        return [
            "    if v.__class__ is not list:",
            f"        raise _expected({key}, 'a list', v)",
            f"    v = [_h{i}(e, _t{i}) if e.__class__ is dict else _not_object({key}, e)"
            " for e in v]",
        ]
    found = converter.get_structure_hook(type_)
    names[f"_h{i}"] = found
    names[f"_t{i}"] = type_
    if attrs.has(type_):
        # A class hook would read a string or a list as an object with every key missing.
        return [
            "    if v.__class__ is not dict:",
            f"        raise _expected({key}, 'an object', v)",
            f"    v = _h{i}(v, _t{i})",
        ]
    return [f"    v = _h{i}(v, _t{i})"]
