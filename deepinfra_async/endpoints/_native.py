"""Plumbing of the native endpoint ``POST /v1/inference/{model}``: ids, URLs, bodies, media."""

from __future__ import annotations

import re
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, Final, TypedDict

from yarl import URL

from .._codec import FileInput, build_multipart
from .._config import Timeout, join_path
from .._errors import ResponseValidationError
from .._transport import Response
from ..types.inference_media import GeneratedImage, is_data_url, parse_data_url
from ._base import Resource, merge_options, require_files

__all__ = ["CallOptions", "NativeResource", "binary_input", "check_text", "model_path"]

_SEGMENT: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*\Z")
_URL_CACHE_SIZE: Final = 1024
_CALL_OPTIONS: Final = frozenset({"version", "webhook", "extra_body", "extra_headers", "timeout"})


class CallOptions(TypedDict, total=False):
    """Options every native call takes.

    Attributes:
        version: Pin a model version (sent as ``?version=``).
        webhook: A URL DeepInfra POSTs the result to; the call then returns at once with
            ``status.status == "queued"``.
        extra_body: Fields merged into the body last (model-specific options).
        extra_headers: Extra headers for this call.
        timeout: Timeouts for this call (a number replaces the total).
    """

    version: str | None
    webhook: str | None
    extra_body: Mapping[str, Any] | None
    extra_headers: Mapping[str, str] | None
    timeout: Timeout | float | None


def model_path(model: object) -> tuple[str, ...]:
    """Check a model id and return its path segments (``owner/name`` keeps its ``/``).

    Raises:
        TypeError: ``model`` is not a str.
        ValueError: ``model`` is empty, or has a segment that is empty, ``.``, ``..``, or holds
            anything but letters, digits, ``.``, ``_``, ``+`` and ``-`` (so no ``?``, ``#``,
            ``%``, ``:``, whitespace or control characters).
    """
    if not isinstance(model, str):
        msg = f"model must be a str, got {type(model).__name__}"
        raise TypeError(msg)
    segments = tuple(model.split("/"))
    if not model or any(s in ("", ".", "..") or not _SEGMENT.match(s) for s in segments):
        msg = (
            "model must be an id like 'owner/name', made of letters, digits, '.', '_', '+' "
            f"and '-' between single slashes, got {model!r}"
        )
        raise ValueError(msg)
    return segments


def check_text(name: str, value: object) -> str:
    """Return ``value`` if it is a str.

    Raises:
        TypeError: It is not (the argument is named).
    """
    if not isinstance(value, str):
        msg = f"{name} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    return value


class NativeResource(Resource):
    """Shared machinery of ``client.inference``."""

    __slots__ = ("_base", "_urls")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._base = join_path(self._config.base_url, "/v1/inference")
        self._urls: dict[str, URL] = {}

    def _model_url(self, model: str, version: str | None) -> URL:
        url = self._urls.get(model)
        if url is None:
            url = self._base.joinpath(*model_path(model))
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[model] = url
        if version is not None:
            given: object = version
            if not isinstance(given, str) or not version or not version.isprintable():
                msg = f"version must be a non-empty str, got {version!r}"
                raise ValueError(msg)
            url = url.with_query(version=version)
        return url

    def _post(
        self,
        model: str,
        body: dict[str, Any],
        files: Iterable[tuple[str, FileInput]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> Coroutine[Any, Any, Response]:
        """Send a native request, as JSON, or as multipart when files are given.

        Returns the transport's coroutine, to await: no extra coroutine layer per call.
        """
        opts = options or {}
        if opts:
            unknown = set(opts) - _CALL_OPTIONS
            if unknown:
                msg = f"unexpected keyword argument {sorted(unknown)[0]!r}"
                raise TypeError(msg)
        url = self._model_url(model, opts.get("version"))
        webhook = opts.get("webhook")
        if webhook is not None:
            if not isinstance(webhook, str) or not webhook.startswith(("http://", "https://")):
                msg = f"webhook must be an http(s) URL, got {webhook!r}"
                raise ValueError(msg)
            body["webhook"] = webhook
        merge_options(body, {}, frozenset(), opts.get("extra_body"), "inference")
        extra_headers = opts.get("extra_headers")
        timeout = opts.get("timeout")
        file_list = list(files)
        if not file_list:
            return self._send_json(
                "POST", url, body, model=model, extra_headers=extra_headers, timeout=timeout
            )
        require_files(file_list)
        multipart = build_multipart(body.items(), file_list)
        transport = self._ready()
        return transport.send(
            "POST",
            url,
            multipart=multipart,
            headers=extra_headers,
            model=model,
            timeout=self._timeout(timeout),
            fail_fast=body.get("fail_fast") is True,
        )

    async def _fetch(self, url: str, timeout: Timeout | float | None) -> tuple[bytes, str | None]:
        """Download a result URL; the key is sent only to DeepInfra's own origin."""
        target = URL(url)
        base = self._config.base_url
        trusted = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
        transport = self._ready()
        response = await transport.send(
            "GET", target, timeout=self._timeout(timeout), authorize=trusted
        )
        return response.content, response.headers.get("Content-Type")

    async def _media(
        self, value: object, what: str, options: Mapping[str, Any]
    ) -> tuple[bytes, str | None, str | None]:
        """Decode a media value the server sent: a data URL, or a URL to download."""
        if not isinstance(value, str):
            msg = f"{what} must be a data URL or a URL, got {type(value).__name__}"
            raise ResponseValidationError(msg, body=value, type_name=what)
        if is_data_url(value):
            try:
                data, mime = parse_data_url(value)
            except ValueError as exc:
                raise ResponseValidationError(str(exc), body=value[:200], type_name=what) from exc
            return data, mime, None
        if value.startswith(("http://", "https://")):
            fetched, fetched_type = await self._fetch(value, options.get("timeout"))
            return fetched, fetched_type, value
        msg = f"{what} is neither a data URL nor a URL: {value[:80]!r}"
        raise ResponseValidationError(msg, body=value[:200], type_name=what)

    async def _images(self, values: object, options: Mapping[str, Any]) -> list[GeneratedImage]:
        if not isinstance(values, list):
            msg = f"images must be a list, got {type(values).__name__}"
            raise ResponseValidationError(msg, body=values, type_name="TextToImageResult")
        images = []
        for value in values:
            data, mime, url = await self._media(value, "image", options)
            images.append(GeneratedImage(data=data, content_type=mime, url=url))
        return images


def binary_input(name: str, value: object) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Place a binary argument: a str (data URL or URL) goes in JSON, anything else in a part.

    Returns:
        ``(json_fields, file_parts)`` to merge into the request.
    """
    if isinstance(value, str):
        if not (is_data_url(value) or value.startswith(("http://", "https://"))):
            msg = f"{name} as a str must be a data URL or an http(s) URL; pass bytes or a Path"
            raise ValueError(msg)
        return {name: value}, []
    return {}, [(name, value)]
