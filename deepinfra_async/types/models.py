"""The model list (``GET /models``)."""

import attrs

__all__ = ["Model", "ModelList", "ModelMetadata"]


@attrs.frozen(kw_only=True)
class ModelMetadata:
    """DeepInfra's description of a model (sent with ``?filter=with_meta``).

    Attributes:
        description: A short description.
        context_length: The context window in tokens.
        max_tokens: The most tokens one call can generate.
        pricing: Prices in USD by unit, e.g. ``input_tokens`` and ``output_tokens`` (per
            million tokens); the keys depend on the kind of model.
        tags: The kind of model (``"chat"``, ``"embeddings"``...) and features such as
            ``"vision"`` or ``"prompt_cache"``; empty when the server sends none.
        discount: The current discount, when there is one.

    .. versionadded:: 0.1.0
    """

    description: str | None = None
    context_length: int | None = None
    max_tokens: int | None = None
    pricing: dict[str, float] | None = None
    tags: list[str] = attrs.field(factory=list)
    discount: float | None = None


@attrs.frozen(kw_only=True)
class Model:
    """A model that can be called.

    Attributes:
        id: The model id, e.g. ``"deepseek-ai/DeepSeek-V3"``.
        created: Unix time the model was added, when sent.
        owned_by: Its owner, when sent.
        object: ``"model"``.
        root: The model it is served from, when sent.
        parent: The model it derives from, when sent.
        metadata: Description, limits, pricing and tags, when asked for.

    .. versionadded:: 0.1.0
    """

    id: str
    created: int | None = None
    owned_by: str | None = None
    object: str = "model"
    root: str | None = None
    parent: str | None = None
    metadata: ModelMetadata | None = None


@attrs.frozen(kw_only=True)
class ModelList:
    """The answer to ``GET /models``.

    Attributes:
        data: The models.
        object: ``"list"``.
        request_id: DeepInfra's id for the request, when known.

    .. versionadded:: 0.1.0
    """

    data: list[Model]
    object: str = "list"
    request_id: str | None = None
