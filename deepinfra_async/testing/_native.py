"""The emulator's native routes: ``/v1/inference/{model}``, deployments and hosted images.

``POST /v1/inference/{model}`` (the model id keeps its ``/``; ``?version=`` is accepted and
recorded) and ``POST /v1/inference/deploy/{deploy_id}`` (resolved through
``Emulator.deployments``) run the model's task from `TASKS`. The body is JSON (files as data
URLs), ``multipart/form-data`` (files as parts, streamed) or URL-encoded. The answer is the
task's output inside DeepInfra's envelope::

    {"request_id": "...", "inference_status": {"status": "succeeded", "runtime_ms": 41,
     "cost": 0.0000012}, ...output...}

except for raw audio (text to speech) and streams (``"stream": true`` on text generation).
With ``"webhook": "<url>"`` the answer is ``queued`` at once and the result is POSTed to
the URL (loopback hosts only). An unknown model or deployment is 404 ``{"error": "Model not
found"}``; invalid fields are 422 with FastAPI's ``detail`` list.

``GET /v1/images/{image_id}`` serves generated images without auth, as DeepInfra does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from ._controls import read_controls
from ._native_base import NativeCall, NativeTask
from ._native_classify import CLASSIFY_TASKS
from ._native_media import MEDIA_TASKS, send_raw
from ._native_text import TEXT_GENERATION
from ._schema import Field, check_fields, read_body
from ._sse_writer import write_stream
from ._uploads import FormError
from ._wire import json_response, validation_error

if TYPE_CHECKING:
    from ._emulator import Emulator
    from ._openai import Handler

__all__ = [
    "DEFAULT_DEPLOYMENTS",
    "NATIVE_PREFIX",
    "NATIVE_ROUTES",
    "TASKS",
    "get_image",
    "native_deploy",
    "native_inference",
]

#: Where the native routes live.
NATIVE_PREFIX: Final = "/v1/inference/"
#: The deployments an emulator starts with: deploy id -> model id.
DEFAULT_DEPLOYMENTS: Final[Mapping[str, str]] = {
    "emu-deploy-llama3-8b": "meta-llama/Meta-Llama-3-8B-Instruct",
    "emu-deploy-bge-large": "BAAI/bge-large-en-v1.5",
}
#: Native tasks by registry task name (chat models serve native text generation).
TASKS: Final[Mapping[str, NativeTask]] = {
    "chat": TEXT_GENERATION,
    "text-generation": TEXT_GENERATION,
    **CLASSIFY_TASKS,
    **MEDIA_TASKS,
}

_CHECKED: Final = (Field("webhook", "str"),)
# Decoded from forms like any field, but validated by `read_controls`.
_CONTROLS: Final = (Field("emulator", "dict"),)
_QUEUED: Final = {"status": "queued", "runtime_ms": 0, "cost": 0.0}


def _not_found() -> web.Response:
    return json_response({"error": "Model not found"}, 404)


async def native_inference(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST /v1/inference/{model}``: run a model's task.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body, or ``None`` (form bodies are read here).

    Returns:
        The response (a stream or raw body is already sent when this returns).
    """
    return await _infer(emu, request, body, request.match_info["model"])


async def native_deploy(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``POST /v1/inference/deploy/{deploy_id}``: run the task of a deployment's model.

    Args:
        emu: The emulator.
        request: The request.
        body: Its decoded JSON body, or ``None``.

    Returns:
        The response; 404 ``{"error": "Model not found"}`` for an unknown deploy id.
    """
    model = emu.deployments.get(request.match_info["deploy_id"])
    if model is None:
        return _not_found()
    return await _infer(emu, request, body, model)


async def get_image(emu: Emulator, request: web.Request, body: Any) -> web.StreamResponse:
    """``GET /v1/images/{image_id}``: a generated image's PNG bytes (no auth needed).

    Args:
        emu: The emulator.
        request: The request.
        body: Ignored.

    Returns:
        The PNG, or 404 ``{"error": "Image not found"}`` for unknown or expired ids.
    """
    png = emu._images.get(request.match_info["image_id"])
    if png is None:
        return json_response({"error": "Image not found"}, 404)
    return web.Response(body=png, content_type="image/png")


async def _infer(
    emu: Emulator, request: web.Request, json_body: Any, model: str
) -> web.StreamResponse:
    task_name = emu.models.get(model)
    if task_name is None:
        return _not_found()
    task = TASKS.get(task_name)
    if task is None:
        message = f"The emulator has no native implementation of the {task_name!r} task"
        return json_response({"error": message}, 400)
    checked = (*task.fields, *_CHECKED)
    try:
        body, problems = await read_body(request, json_body, (*checked, *_CONTROLS), emu.uploads)
    except FormError as exc:
        return exc.response
    if problems:
        return validation_error(problems)
    controls, found = read_controls(body)
    problems += found
    problems += check_fields(body, checked)
    if task.check is not None:
        problems += task.check(body)
    if problems:
        return validation_error(problems)
    call = NativeCall(emu, request, model, body, controls)
    request_id = emu._new_id("")
    webhook = body.get("webhook")
    if webhook is not None:
        result = task.run(call).envelope(request_id)
        emu._webhook_sender.schedule(webhook, request_id, result)
        return json_response({"request_id": request_id, "inference_status": dict(_QUEUED)})
    if body.get("stream") is True and task.stream is not None:
        return await write_stream(emu, request, model, task.stream(call), controls)
    outcome = task.run(call)
    if outcome.raw is not None:
        return await send_raw(request, outcome.raw)
    return json_response(outcome.envelope(request_id))


#: ``(method, path, handler, public)`` for every native route; public routes need no auth.
NATIVE_ROUTES: Final[tuple[tuple[str, str, Handler, bool], ...]] = (
    ("POST", NATIVE_PREFIX + "deploy/{deploy_id}", native_deploy, False),
    ("POST", NATIVE_PREFIX + "{model:.+}", native_inference, False),
    ("GET", "/v1/images/{image_id}", get_image, True),
)
