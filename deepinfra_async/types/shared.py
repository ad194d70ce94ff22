"""Types shared by several API areas: token usage and its cost."""

import attrs

__all__ = ["CompletionTokensDetails", "PromptTokensDetails", "Usage"]


@attrs.frozen(kw_only=True)
class PromptTokensDetails:
    """Breakdown of the prompt tokens.

    Attributes:
        cached_tokens: Prompt tokens served from the prompt cache.
        cache_write_tokens: Prompt tokens written to the prompt cache.

    .. versionadded:: 0.1.0
    """

    cached_tokens: int | None = None
    cache_write_tokens: int | None = None


@attrs.frozen(kw_only=True)
class CompletionTokensDetails:
    """Breakdown of the completion tokens.

    Attributes:
        reasoning_tokens: Tokens spent on reasoning (thinking) by reasoning models.

    .. versionadded:: 0.1.0
    """

    reasoning_tokens: int | None = None


@attrs.frozen(kw_only=True)
class Usage:
    """Token counts of one call, and what it cost.

    ``total_tokens`` is what the server reports: for some models it is not the sum of the
    other two (DeepInfra may leave reasoning tokens out of ``completion_tokens``).

    Attributes:
        prompt_tokens: Tokens in the prompt.
        completion_tokens: Tokens generated.
        total_tokens: Tokens billed in total.
        estimated_cost: The cost in USD, as DeepInfra estimates it.
        prompt_tokens_details: Cache hits and writes, when reported.
        completion_tokens_details: Reasoning tokens, when reported.

    .. versionadded:: 0.1.0
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated_cost: float | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
