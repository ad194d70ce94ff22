"""Configuration classes: defaults, validation, environment resolution, and secrecy."""

from __future__ import annotations

import math

import attrs
import pytest
from yarl import URL

from deepinfra_async import ClientConfig, DeepInfra, Limits, RetryPolicy, Timeout

KEY = "sk-config-test-0123456789"


def test_timeout_defaults_match_the_design() -> None:
    """Defaults are connect 10 s, pool 60 s, read 120 s, total 600 s."""
    t = Timeout()
    assert (t.connect, t.pool, t.read, t.total) == (10.0, 60.0, 120.0, 600.0)


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
def test_timeout_rejects_non_positive_values(bad: float) -> None:
    """Zero, negative and non-finite timeouts are refused with the field named."""
    with pytest.raises(ValueError, match="read"):
        Timeout(read=bad)


def test_timeout_rejects_wrong_types_and_accepts_none() -> None:
    """A string is a TypeError naming the field; None disables a phase."""
    with pytest.raises(TypeError, match="connect"):
        Timeout(connect="5")  # type: ignore[arg-type]
    assert Timeout(total=None).total is None


def test_timeout_is_frozen_and_evolves() -> None:
    """Timeouts are immutable; per-call overrides come from attrs.evolve."""
    t = Timeout()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.read = 1.0  # type: ignore[misc]
    assert attrs.evolve(t, total=5.0).total == 5.0


def test_limits_validation() -> None:
    """Limits reject zero connections and zero concurrency, accept None as 'no limit'."""
    assert Limits().per_model_concurrency == 200
    assert Limits(per_model_concurrency=None).per_model_concurrency is None
    with pytest.raises(ValueError, match="per_model_concurrency"):
        Limits(per_model_concurrency=0)
    with pytest.raises(ValueError, match="max_event_bytes"):
        Limits(max_event_bytes=0)
    with pytest.raises(TypeError, match="max_connections"):
        Limits(max_connections=1.5)  # type: ignore[arg-type]


def test_retry_policy_validation() -> None:
    """Retry policies need at least one attempt, jitter in [0, 1], and real status codes."""
    policy = RetryPolicy(retry_statuses=frozenset([429]))
    assert policy.retry_statuses == frozenset({429})
    assert RetryPolicy().retry_statuses == frozenset({408, 429, 500, 502, 503, 504})
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ValueError, match="retry_statuses"):
        RetryPolicy(retry_statuses=frozenset({42, 429}))
    with pytest.raises(TypeError, match="on_retry"):
        RetryPolicy(on_retry="print")  # type: ignore[arg-type]


def test_key_resolution_order() -> None:
    """The key comes from the argument, then DEEPINFRA_API_KEY, then DEEPINFRA_API_TOKEN."""
    env = {"DEEPINFRA_API_KEY": "from-key", "DEEPINFRA_API_TOKEN": "from-token"}
    assert ClientConfig.from_env("arg", environ=env).api_key == "arg"
    assert ClientConfig.from_env(environ=env).api_key == "from-key"
    assert ClientConfig.from_env(environ={"DEEPINFRA_API_TOKEN": "t"}).api_key == "t"
    assert ClientConfig.from_env(environ={}).api_key is None


def test_key_must_be_a_clean_string() -> None:
    """Empty keys and keys with line breaks (header injection) are refused."""
    with pytest.raises(ValueError, match="api_key"):
        ClientConfig.from_env("  ", environ={})
    with pytest.raises(ValueError, match="api_key"):
        ClientConfig.from_env("abc\r\nX-Evil: 1", environ={})
    with pytest.raises(TypeError, match="api_key"):
        ClientConfig.from_env(123, environ={})  # type: ignore[arg-type]


def test_base_url_resolution_and_openai_default() -> None:
    """base_url: argument, then DEEPINFRA_BASE_URL, then the public API; OpenAI under /v1/openai."""
    cfg = ClientConfig.from_env("k", environ={})
    assert cfg.base_url == URL("https://api.deepinfra.com")
    assert cfg.openai_base_url == URL("https://api.deepinfra.com/v1/openai")
    cfg = ClientConfig.from_env("k", environ={"DEEPINFRA_BASE_URL": "http://127.0.0.1:9/proxy/"})
    assert cfg.base_url == URL("http://127.0.0.1:9/proxy")
    assert cfg.openai_base_url == URL("http://127.0.0.1:9/proxy/v1/openai")
    cfg = ClientConfig.from_env(
        "k", base_url="http://a.test", openai_base_url="http://b.test/v1", environ={}
    )
    assert cfg.openai_base_url == URL("http://b.test/v1")


@pytest.mark.parametrize("bad", ["api.deepinfra.com", "ftp://x.test", "http://x.test/?a=1"])
def test_base_url_must_be_absolute_http(bad: str) -> None:
    """Relative, non-HTTP or query-carrying base URLs are refused."""
    with pytest.raises(ValueError, match="base URL"):
        ClientConfig.from_env("k", base_url=bad, environ={})


def test_key_never_in_repr_or_str() -> None:
    """The key and header values stay out of the reprs of the config and the client."""
    client = DeepInfra(KEY, default_headers={"X-Secret": KEY})
    texts = [repr(client), str(client), repr(client.config), str(client.config)]
    for text in texts:
        assert KEY not in text
    assert "state=unopened" in repr(client)
    assert "base_url='https://api.deepinfra.com'" in repr(client)
    assert "'X-Secret': '[secure]'" in repr(client.config)


def test_client_rejects_bad_timeout_argument() -> None:
    """A per-call timeout of the wrong type is a TypeError; a number replaces the total."""
    client = DeepInfra(KEY)
    assert client.resolve_timeout(5).total == 5.0
    assert client.resolve_timeout(None) is client.config.timeout
    with pytest.raises(TypeError, match="timeout"):
        client.resolve_timeout("5")  # type: ignore[arg-type]


def test_client_cannot_be_subclassed() -> None:
    """DeepInfra forbids subclassing, pointing at composition and hooks instead."""
    with pytest.raises(TypeError, match="subclassing"):

        class Mine(DeepInfra):  # type: ignore[misc]
            pass
