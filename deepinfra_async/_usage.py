"""Per-model totals of requests, tokens and cost, for every call made through a client."""

from __future__ import annotations

from typing import Any, final

import attrs

__all__ = ["ModelUsage", "UsageTracker", "tokens_and_cost"]


@attrs.frozen(kw_only=True)
class ModelUsage:
    """Totals for one model (or for all models).

    Attributes:
        requests: Calls that completed with a response body.
        input_tokens: Prompt (input) tokens reported by the server.
        output_tokens: Completion (generated) tokens reported by the server.
        cost: USD, from ``usage.estimated_cost`` or ``inference_status.cost``.

    .. versionadded:: 0.1.0
    """

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return 0


def tokens_and_cost(body: object) -> tuple[int, int, float] | None:
    """Read token counts and cost from a decoded response body of any DeepInfra shape.

    Understands OpenAI-style ``usage`` (``prompt_tokens``, ``completion_tokens``,
    ``estimated_cost``) and native ``inference_status`` (``tokens_input``,
    ``tokens_generated``, ``cost``).

    Returns:
        ``(input_tokens, output_tokens, cost)``, or ``None`` when the body reports neither.
    """
    if type(body) is not dict:
        return None
    usage = body.get("usage")
    if type(usage) is dict:
        return (
            int(_number(usage.get("prompt_tokens"))),
            int(_number(usage.get("completion_tokens"))),
            float(_number(usage.get("estimated_cost"))),
        )
    status = body.get("inference_status")
    if type(status) is dict:
        return (
            int(_number(status.get("tokens_input"))),
            int(_number(status.get("tokens_generated"))),
            float(_number(status.get("cost"))),
        )
    return None


@final
class UsageTracker:
    """Running per-model totals; ``client.usage`` is one.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_stream_done", "_totals")

    def __init__(self) -> None:
        # model -> [requests, input tokens, output tokens, cost]; mutable for cheap updates.
        self._totals: dict[str, list[Any]] = {}
        # model -> the on_done callback its streams share.
        self._stream_done: dict[str, StreamUsage] = {}

    def stream_done(self, model: str) -> StreamUsage:
        """The callback a finished stream of ``model`` calls to be counted; one per model."""
        done = self._stream_done.get(model)
        if done is None:
            done = self._stream_done[model] = StreamUsage(self, model)
        return done

    def add(self, model: str, input_tokens: int, output_tokens: int, cost: float) -> None:
        """Count one completed call."""
        row = self._totals.get(model)
        if row is None:
            self._totals[model] = [1, input_tokens, output_tokens, cost]
        else:
            row[0] += 1
            row[1] += input_tokens
            row[2] += output_tokens
            row[3] += cost

    def add_body(self, model: str | None, body: object) -> None:
        """Count one call from its decoded body (the served model wins over the requested).

        Runs once per response on the hot path, so it reads the few keys it needs directly;
        values of an unexpected type count as zero rather than failing the call.
        """
        if type(body) is not dict:
            if model is not None:
                self.add(model, 0, 0, 0.0)
            return
        served = body.get("model")
        name = served if type(served) is str and served else model
        if name is None:
            return
        usage = body.get("usage")
        if type(usage) is dict:
            tokens_in = usage.get("prompt_tokens")
            tokens_out = usage.get("completion_tokens")
            cost = usage.get("estimated_cost")
        else:
            status = body.get("inference_status")
            if type(status) is not dict:
                self.add(name, 0, 0, 0.0)
                return
            tokens_in = status.get("tokens_input")
            tokens_out = status.get("tokens_generated")
            cost = status.get("cost")
        row = self._totals.get(name)
        if row is None:
            row = self._totals[name] = [0, 0, 0, 0.0]
        row[0] += 1
        if type(tokens_in) is int:
            row[1] += tokens_in
        if type(tokens_out) is int:
            row[2] += tokens_out
        if type(cost) is float or type(cost) is int:
            row[3] += cost

    def by_model(self) -> dict[str, ModelUsage]:
        """Return a snapshot of the totals per model."""
        return {
            model: ModelUsage(
                requests=row[0], input_tokens=row[1], output_tokens=row[2], cost=row[3]
            )
            for model, row in self._totals.items()
        }

    @property
    def total(self) -> ModelUsage:
        """The totals across every model."""
        rows = self._totals.values()
        return ModelUsage(
            requests=sum(r[0] for r in rows),
            input_tokens=sum(r[1] for r in rows),
            output_tokens=sum(r[2] for r in rows),
            cost=sum(r[3] for r in rows),
        )

    def reset(self) -> None:
        """Forget every total."""
        self._totals.clear()

    def __repr__(self) -> str:
        total = self.total
        return (
            f"<UsageTracker models={len(self._totals)} requests={total.requests} "
            f"cost=${total.cost:.6f}>"
        )


class StreamUsage:
    """Counts a finished stream's usage for one model: a stream's ``on_done`` callback.

    A slotted object rather than a closure, shared by the streams of one model
    (:meth:`UsageTracker.stream_done`).
    """

    __slots__ = ("_model", "_tracker")

    def __init__(self, tracker: UsageTracker, model: str) -> None:
        self._tracker = tracker
        self._model = model

    def __call__(self, final: Any) -> None:
        """Count the stream, with the usage object it ended with (or ``None``)."""
        if final is None:
            self._tracker.add(self._model, 0, 0, 0.0)
        else:
            self._tracker.add(
                self._model,
                final.prompt_tokens or 0,
                final.completion_tokens or 0,
                final.estimated_cost or 0.0,
            )
