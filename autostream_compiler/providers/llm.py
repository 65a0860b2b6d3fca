"""Language models behind one small protocol: chat messages in, the answer's text out.

Both adapters use their vendor's official SDK (groq, openai), which already retries 408/409/429/5xx,
timeouts and lost connections with exponential backoff and honours Retry-After.
"""

from __future__ import annotations

import os
from typing import Protocol

from autostream_compiler.env import public_url, redact
from autostream_compiler.errors import AutostreamError, BuildError, UserError
from autostream_compiler.specfile.models import Llm

DEFAULT_MODELS = {"groq": "llama-3.3-70b-versatile", "openai": "gpt-4o-mini"}
KEY_ENV = {"groq": "GROQ_API_KEY", "openai": "OPENAI_API_KEY"}
URL_ENV = {"groq": "GROQ_BASE_URL", "openai": "OPENAI_BASE_URL"}


class LLM(Protocol):
    """A chat model that answers in JSON."""

    provider: str
    model: str

    def chat(self, messages: list[dict[str, str]], schema: dict) -> str:
        """The model's answer to `messages`, asked to follow the JSON `schema`."""


def model_id(config: Llm) -> str:
    """The model a config names, or its provider's default."""
    return config.model or DEFAULT_MODELS.get(config.provider, "")


def missing_key(config: Llm) -> str | None:
    """Why `config` cannot reach a model here (no key), or None when it can."""
    if config.provider == "openai" and (config.base_url or os.environ.get(URL_ENV["openai"])):
        return None  # a local server (Ollama, vLLM, llama.cpp, LM Studio) needs no key
    env = KEY_ENV.get(config.provider)
    return f"{env} is not set" if env and not os.environ.get(env) else None


def open_llm(config: Llm, seed: int) -> LLM:
    """A client for the configured provider (the caller checked `missing_key` first)."""
    if config.provider == "groq":
        import groq as sdk

        client = sdk.Groq(
            api_key=os.environ.get(KEY_ENV["groq"]),
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=config.max_retries,
        )
    elif config.provider == "openai":
        import openai as sdk

        client = sdk.OpenAI(
            api_key=os.environ.get(KEY_ENV["openai"]) or "no-key",
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=config.max_retries,
        )
    else:
        raise UserError(f"llm provider {config.provider!r} is not a language model; use groq or openai")
    return ChatModel(config.provider, model_id(config), sdk, client, config, seed)


class ChatModel:
    """An OpenAI-style chat completions client (groq and openai SDKs share the interface)."""

    def __init__(self, provider: str, model: str, sdk, client, config: Llm, seed: int):
        self.provider, self.model = provider, model
        self._sdk, self._client, self._config, self._seed = sdk, client, config, seed
        self._schema_ok = True  # JSON schema output until the server says it has none, then JSON mode

    def chat(self, messages: list[dict[str, str]], schema: dict) -> str:
        while True:
            if self._schema_ok:
                fmt = {"type": "json_schema", "json_schema": {"name": "video", "schema": schema, "strict": True}}
            else:
                fmt = {"type": "json_object"}
            try:
                reply = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=self._config.temperature,
                    seed=self._seed,
                    response_format=fmt,
                )
            except self._sdk.BadRequestError as exc:
                failed = _failed_generation(exc)
                if failed is not None:
                    return failed  # Groq checks JSON itself and returns a bad answer as an error: repair it
                if not self._schema_ok or not _about_output_format(exc):
                    raise self._error(exc) from None
                self._schema_ok = False  # this model has no structured output: fall back to JSON mode
                continue
            except self._sdk.APIError as exc:
                raise self._error(exc) from None
            return (reply.choices[0].message.content or "") if reply.choices else ""

    def _error(self, exc: Exception) -> AutostreamError:
        cfg = self._config
        where = f"{self.provider} at {public_url(str(self._client.base_url))}"
        return api_error(
            exc,
            self._sdk,
            where,
            cfg.max_retries,
            cfg.timeout,
            key=KEY_ENV[self.provider],
            missing=f"has no model {self.model!r} (HTTP 404); fix `llm.model` in the spec",
            slow="try again later or raise `llm.timeout`",
            settings="`llm.base_url`",
        )


def api_error(
    exc: Exception, sdk, where: str, retries: int, timeout: float, key: str, missing: str, slow: str, settings: str
):
    """One line for an error of an OpenAI-compatible server through the openai (or groq) SDK: a refused
    key (exit 2, naming the variable, never the key), no such model (exit 2), a timeout, no connection,
    rate limiting, or another HTTP error (exit 1)."""
    tries = f"{retries} retries" if retries != 1 else "1 retry"
    if isinstance(exc, (sdk.AuthenticationError, sdk.PermissionDeniedError)):
        return UserError(f"{where} refused the API key (HTTP {exc.status_code}); set {key} to a valid key")
    if isinstance(exc, sdk.NotFoundError):
        return UserError(f"{where} {missing}")
    if isinstance(exc, sdk.APITimeoutError):
        return BuildError(f"{where} did not answer within {timeout:g} s ({tries}); {slow}")
    if isinstance(exc, sdk.APIConnectionError):
        return BuildError(f"cannot reach {where} ({tries}); check the network or {settings}")
    if isinstance(exc, sdk.RateLimitError):
        return BuildError(f"{where} is rate limiting (HTTP 429) after {tries}; wait a minute and try again")
    status = getattr(exc, "status_code", None)
    detail = " ".join(str(getattr(exc, "message", exc)).split())[:200]
    return BuildError(redact(f"{where} failed (HTTP {status}): {detail}; try again or check {settings}"))


def _failed_generation(exc: Exception) -> str | None:
    """The answer inside Groq's `json_validate_failed` error (its JSON check failed), else None."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") == "json_validate_failed":
        return str(error.get("failed_generation") or "")
    return None


def _about_output_format(exc: Exception) -> bool:
    """Whether a 400 complains about the requested output format (no structured output here)."""
    text = str(getattr(exc, "message", exc)).lower()
    return any(word in text for word in ("response_format", "json_schema", "structured", "strict"))
