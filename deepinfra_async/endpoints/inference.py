"""``client.inference``: DeepInfra's native per-model endpoint, generic and typed by task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

from .._codec import FileInput
from .._errors import ResponseValidationError
from .._streaming import AsyncStream
from ..types.inference import (
    EmbeddingsResult,
    InferenceResult,
    RerankResult,
    TextGenerationResult,
    TextGenerationStreamEvent,
    inference_result,
)
from ..types.inference_media import SpeechRecognitionResult, TextToImageResult, TextToSpeechResult
from ..types.inference_tasks import (
    FillMaskResult,
    ImageClassificationResult,
    ObjectDetectionResult,
    QuestionAnsweringResult,
    TextClassificationResult,
    TokenClassificationResult,
    ZeroShotImageClassificationResult,
)
from ._base import merge_options, structure, structurer
from ._native import CallOptions, NativeResource, binary_input, check_text

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Inference", "TextGenerationOptions"]

R = TypeVar("R")

_CALL: Final = frozenset(CallOptions.__annotations__)


class TextGenerationOptions(CallOptions, total=False):
    """Options of ``client.inference.text_generation`` (plus every :class:`CallOptions`)."""

    max_new_tokens: int | None
    temperature: float | None
    top_p: float | None
    top_k: int | None
    repetition_penalty: float | None
    presence_penalty: float | None
    frequency_penalty: float | None
    stop: Sequence[str] | None
    num_responses: int | None
    seed: int | None
    response_format: Mapping[str, Any] | None


class TextToImageOptions(CallOptions, total=False):
    """Options of ``client.inference.text_to_image`` (plus every :class:`CallOptions`)."""

    negative_prompt: str | None
    num_images: int | None
    num_inference_steps: int | None
    guidance_scale: float | None
    width: int | None
    height: int | None
    seed: int | None


class SpeechRecognitionOptions(CallOptions, total=False):
    """Options of ``client.inference.speech_recognition`` (plus every :class:`CallOptions`)."""

    task: str | None
    language: str | None
    temperature: float | None
    initial_prompt: str | None
    chunk_level: str | None
    chunk_length_s: int | None


_GENERATION: Final = frozenset(TextGenerationOptions.__annotations__) - _CALL
_IMAGE: Final = frozenset(TextToImageOptions.__annotations__) - _CALL
_SPEECH: Final = frozenset(SpeechRecognitionOptions.__annotations__) - _CALL


def _split(
    options: Mapping[str, Any], allowed: frozenset[str], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate task parameters from call options, rejecting unknown names."""
    params: dict[str, Any] = {}
    call: dict[str, Any] = {}
    for name, value in options.items():
        if name in _CALL:
            call[name] = value
        elif name in allowed:
            params[name] = value
        else:
            msg = f"{where}() got an unexpected keyword argument {name!r}"
            raise TypeError(msg)
    return params, call


def _is_final_event(obj: Any) -> bool:
    return type(obj) is dict and (
        obj.get("generated_text") is not None or obj.get("details") is not None
    )


def _token_text(event: TextGenerationStreamEvent) -> str | None:
    token = event.token
    return token.text if token is not None and not token.special else None


_parse_event: Final = structurer(TextGenerationStreamEvent)


class Inference(NativeResource):
    """``client.inference``: ``POST /v1/inference/{model}`` for any model, and typed helpers.

    Every method takes the :class:`CallOptions` (``version``, ``webhook``, ``extra_body``,
    ``extra_headers``, ``timeout``). Model ids are checked before anything is sent.

    .. versionadded:: 0.1.0
    """

    __slots__ = ()

    async def _typed(
        self,
        cls: type[R],
        model: str,
        body: dict[str, Any],
        files: list[tuple[str, Any]],
        options: Mapping[str, Any],
    ) -> R:
        response = await self._post(model, body, files, options)
        return structure(cls, self._decoded(response, model))

    async def run(
        self,
        model: str,
        body: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, FileInput] | None = None,
        **options: Unpack[CallOptions],
    ) -> InferenceResult:
        """Call any model with its own body.

        Args:
            model: Model id (``owner/name``), or ``deploy/<id>`` for a deployment.
            body: The model's input fields (binary values may be data URLs).
            files: Binary inputs sent as multipart parts: bytes, a ``pathlib.Path`` (streamed
                from disk), a binary file object, or ``(filename, file[, content_type])``.
            **options: :class:`CallOptions`.

        Returns:
            The model's output fields, with the request id and status (cost, runtime).

        Raises:
            TypeError: An argument of the wrong type (named).
            ValueError: An invalid model id, version or webhook, or a missing file.
            APIStatusError: The server answered with an error status.
            APIConnectionError: No usable response.
            ResponseValidationError: The response was not a JSON object.

        .. versionadded:: 0.1.0
        """
        given: tuple[object, object] = (body, files)
        if given[0] is not None and not isinstance(given[0], Mapping):
            msg = f"body must be a mapping or None, got {type(given[0]).__name__}"
            raise TypeError(msg)
        if given[1] is not None and not isinstance(given[1], Mapping):
            msg = f"files must be a mapping of field name to file, got {type(given[1]).__name__}"
            raise TypeError(msg)
        response = await self._post(model, dict(body or {}), list((files or {}).items()), options)
        data = self._decoded(response, model)
        try:
            return inference_result(data)
        except TypeError as exc:
            raise ResponseValidationError(str(exc), body=data, type_name="InferenceResult") from exc

    @overload
    async def text_generation(
        self,
        model: str,
        input: str,
        *,
        stream: Literal[False] = False,
        **options: Unpack[TextGenerationOptions],
    ) -> TextGenerationResult: ...

    @overload
    async def text_generation(
        self,
        model: str,
        input: str,
        *,
        stream: Literal[True],
        **options: Unpack[TextGenerationOptions],
    ) -> AsyncStream[TextGenerationStreamEvent]: ...

    async def text_generation(
        self,
        model: str,
        input: str,
        *,
        stream: bool = False,
        **options: Unpack[TextGenerationOptions],
    ) -> TextGenerationResult | AsyncStream[TextGenerationStreamEvent]:
        """Generate text from a raw prompt (apply the model's chat template yourself).

        Args:
            model: Model id.
            input: The prompt.
            stream: Return an :class:`AsyncStream` of token events instead; the last event
                carries ``generated_text`` and ``details`` when the server sends them.
            **options: :class:`TextGenerationOptions` (``max_new_tokens``, ``temperature``,
                ``stop``, ...) and :class:`CallOptions`.

        Returns:
            The generated text(s) with token counts, request id and cost; or an open stream.

        Raises:
            TypeError: An argument of the wrong type (named).
            ValueError: An invalid argument (named), or ``stream`` with ``webhook``.
            APIStatusError: The server answered with an error status.
            StreamError: The stream reported an error or was cut short.

        .. versionadded:: 0.1.0
        """
        params, call = _split(options, _GENERATION, "text_generation")
        body: dict[str, Any] = {"input": check_text("input", input)}
        merge_options(body, params, _GENERATION, None, "text_generation")
        if not stream:
            return await self._typed(TextGenerationResult, model, body, [], call)
        if call.get("webhook") is not None:
            msg = "stream=True and webhook cannot be combined"
            raise ValueError(msg)
        body["stream"] = True
        url = self._model_url(model, call.get("version"))
        merge_options(body, {}, frozenset(), call.get("extra_body"), "text_generation")
        # Only the encoded body stays alive while the stream opens (as in chat).
        opening = self._open_stream(
            url, body, model, call.get("extra_headers"), call.get("timeout")
        )
        del body, params, call, options
        return AsyncStream(
            await opening,
            _parse_event,
            max_event_bytes=self._config.limits.max_event_bytes,
            is_final=_is_final_event,
            text_of=_token_text,
            on_done=self._stream_done(model),
        )

    async def embeddings(
        self,
        model: str,
        inputs: Sequence[str],
        *,
        normalize: bool | None = None,
        **options: Unpack[CallOptions],
    ) -> EmbeddingsResult:
        """Embed texts with a native embeddings model.

        Args:
            model: Model id.
            inputs: The texts.
            normalize: Ask for unit-length vectors.
            **options: :class:`CallOptions`.

        Returns:
            One vector per input, in order, with ``input_tokens`` and cost.

        .. versionadded:: 0.1.0
        """
        if isinstance(inputs, str) or not all(isinstance(t, str) for t in inputs) or not inputs:
            msg = "inputs must be a non-empty list of str"
            raise TypeError(msg)
        body: dict[str, Any] = {"inputs": list(inputs)}
        if normalize is not None:
            body["normalize"] = normalize
        return await self._typed(EmbeddingsResult, model, body, [], options)

    async def rerank(
        self,
        model: str,
        query: str,
        documents: Sequence[str],
        **options: Unpack[CallOptions],
    ) -> RerankResult:
        """Score documents against a query with a reranker model.

        Args:
            model: Model id, e.g. ``"Qwen/Qwen3-Reranker-4B"``.
            query: The query.
            documents: The documents to score.
            **options: :class:`CallOptions`.

        Returns:
            One score per document, in the documents' order.

        .. versionadded:: 0.1.0
        """
        if isinstance(documents, str) or not documents:
            msg = "documents must be a non-empty list of str"
            raise TypeError(msg)
        body = {"query": check_text("query", query), "documents": list(documents)}
        return await self._typed(RerankResult, model, body, [], options)

    async def text_to_image(
        self, model: str, prompt: str, **options: Unpack[TextToImageOptions]
    ) -> TextToImageResult:
        """Generate images; they come back decoded, whether sent as data URLs or as URLs.

        Args:
            model: Model id, e.g. ``"black-forest-labs/FLUX-1-schnell"``.
            prompt: What to draw.
            **options: :class:`TextToImageOptions` and :class:`CallOptions`.

        Returns:
            The images as bytes (with their media type and source URL, if any).

        .. versionadded:: 0.1.0
        """
        params, call = _split(options, _IMAGE, "text_to_image")
        body: dict[str, Any] = {"prompt": check_text("prompt", prompt)}
        merge_options(body, params, _IMAGE, None, "text_to_image")
        data = self._decoded(await self._post(model, body, [], call), model)
        envelope = self._envelope(data, "TextToImageResult")
        output = envelope.output
        nsfw = output.get("nsfw_content_detected")
        seed = output.get("seed")
        return TextToImageResult(
            images=await self._images(output.get("images"), call),
            nsfw_content_detected=nsfw if isinstance(nsfw, list) else None,
            seed=seed if type(seed) is int else None,
            request_id=envelope.request_id,
            status=envelope.status,
        )

    async def speech_recognition(
        self,
        model: str,
        audio: FileInput | str,
        **options: Unpack[SpeechRecognitionOptions],
    ) -> SpeechRecognitionResult:
        """Transcribe (or translate) audio with a speech recognition model such as Whisper.

        Args:
            model: Model id, e.g. ``"openai/whisper-large-v3"``.
            audio: Bytes, a ``pathlib.Path`` (streamed), a binary file, a
                ``(filename, file[, content_type])`` tuple, or a data URL / URL string.
            **options: :class:`SpeechRecognitionOptions` and :class:`CallOptions`.

        Returns:
            The text, segments and words.

        .. versionadded:: 0.1.0
        """
        params, call = _split(options, _SPEECH, "speech_recognition")
        fields, files = binary_input("audio", audio)
        body = merge_options(fields, params, _SPEECH, None, "speech_recognition")
        return await self._typed(SpeechRecognitionResult, model, body, files, call)

    async def text_to_speech(
        self,
        model: str,
        text: str,
        *,
        voice: str | None = None,
        output_format: str | None = None,
        speed: float | None = None,
        **options: Unpack[CallOptions],
    ) -> TextToSpeechResult:
        """Synthesise speech; raw audio answers and JSON data-URL answers both give bytes.

        Args:
            model: Model id, e.g. ``"hexgrad/Kokoro-82M"``.
            text: What to say.
            voice: A preset voice of the model (sent as ``preset_voice``).
            output_format: ``"wav"``, ``"mp3"``, ...
            speed: Speaking rate.
            **options: :class:`CallOptions`.

        Returns:
            The audio bytes and their media type.

        .. versionadded:: 0.1.0
        """
        body: dict[str, Any] = {"text": check_text("text", text)}
        if voice is not None:
            body["preset_voice"] = [check_text("voice", voice)]
        if output_format is not None:
            body["output_format"] = check_text("output_format", output_format)
        if speed is not None:
            merge_options(body, {"speed": speed}, frozenset({"speed"}), None, "text_to_speech")
        response = await self._post(model, body, [], options)
        content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("application/json"):
            return TextToSpeechResult(
                audio=response.content,
                content_type=content_type.split(";")[0] or "application/octet-stream",
                request_id=response.headers.get("x-request-id"),
            )
        envelope = self._envelope(self._decoded(response, model), "TextToSpeechResult")
        audio, mime, _ = await self._media(envelope.output.get("audio"), "audio", options)
        return TextToSpeechResult(
            audio=audio,
            content_type=mime or "application/octet-stream",
            request_id=envelope.request_id,
            status=envelope.status,
        )

    @staticmethod
    def _envelope(data: Any, type_name: str) -> InferenceResult:
        try:
            return inference_result(data)
        except TypeError as exc:
            raise ResponseValidationError(str(exc), body=data, type_name=type_name) from exc

    async def text_classification(
        self, model: str, input: str, **options: Unpack[CallOptions]
    ) -> TextClassificationResult:
        """Classify a text (e.g. sentiment with ``"ProsusAI/finbert"``)."""
        body = {"input": check_text("input", input)}
        return await self._typed(TextClassificationResult, model, body, [], options)

    async def token_classification(
        self, model: str, input: str, **options: Unpack[CallOptions]
    ) -> TokenClassificationResult:
        """Find named entities (or other token labels) in a text."""
        body = {"input": check_text("input", input)}
        return await self._typed(TokenClassificationResult, model, body, [], options)

    async def fill_mask(
        self, model: str, input: str, **options: Unpack[CallOptions]
    ) -> FillMaskResult:
        """Fill the ``[MASK]`` token of a text with its most likely candidates."""
        body = {"input": check_text("input", input)}
        return await self._typed(FillMaskResult, model, body, [], options)

    async def question_answering(
        self, model: str, question: str, context: str, **options: Unpack[CallOptions]
    ) -> QuestionAnsweringResult:
        """Find the answer to a question within a context passage."""
        body = {
            "question": check_text("question", question),
            "context": check_text("context", context),
        }
        return await self._typed(QuestionAnsweringResult, model, body, [], options)

    async def image_classification(
        self, model: str, image: FileInput | str, **options: Unpack[CallOptions]
    ) -> ImageClassificationResult:
        """Label an image (bytes, a Path, a binary file, or a data URL / URL)."""
        body, files = binary_input("image", image)
        return await self._typed(ImageClassificationResult, model, body, files, options)

    async def zero_shot_image_classification(
        self,
        model: str,
        image: FileInput | str,
        candidate_labels: Sequence[str],
        **options: Unpack[CallOptions],
    ) -> ZeroShotImageClassificationResult:
        """Score an image against labels of your choosing."""
        if isinstance(candidate_labels, str) or not candidate_labels:
            msg = "candidate_labels must be a non-empty list of str"
            raise TypeError(msg)
        body, files = binary_input("image", image)
        body["candidate_labels"] = list(candidate_labels)
        return await self._typed(ZeroShotImageClassificationResult, model, body, files, options)

    async def object_detection(
        self, model: str, image: FileInput | str, **options: Unpack[CallOptions]
    ) -> ObjectDetectionResult:
        """Find objects in an image, with labels, scores and boxes."""
        body, files = binary_input("image", image)
        return await self._typed(ObjectDetectionResult, model, body, files, options)
