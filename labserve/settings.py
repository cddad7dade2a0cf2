"""Every setting of labserve, typed and read once (no Flask here).

The CLI, the production server and the app factory all receive one ``Settings`` object.
Sources, weakest first: the defaults below, ``<instance>/config.py`` (upper-case names, as in
Flask), ``LABSERVE_<NAME>`` environment variables, ``LABSERVE_<NAME>_FILE`` (a file holding
the value: Docker and Kubernetes secrets), then explicit overrides (the CLI's options, tests).
Nothing here writes to ``os.environ``: worker processes get the object itself.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "LABSERVE_"
#: Settings that may come from a file named by ``LABSERVE_<NAME>_FILE`` (secrets).
SECRET_FILE_SETTINGS = ("database_url", "redis_url", "secret_key")


class SettingsError(ValueError):
    """A setting has a value labserve cannot use; the message names the variable."""


class Settings(BaseSettings):
    """labserve's configuration. Field ``x`` is the environment variable ``LABSERVE_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    instance_path: Path = Field(
        default_factory=lambda: default_instance_path(),
        description="The model store, the database, the audit journal.",
    )
    # -- models ------------------------------------------------------------------------------
    builtin_models: tuple[str, ...] = Field(
        default=("diagnosis", "summarizer"),
        description="Built-in models `labserve serve` creates when the store lacks them.",
    )
    load_models: Literal["sync", "background"] = Field(
        default="background",
        description="sync: load before answering; background: /readyz says when loaded.",
    )
    model_poll_seconds: float = Field(
        default=1.0, ge=0, description="How often a worker looks for added/promoted versions."
    )
    max_pinned_versions: int = Field(
        default=4, ge=0, description="Non-promoted versions a worker keeps loaded for ?version=."
    )
    max_batch_rows: int = Field(default=10_000, ge=1, description="Rows per JSON predict.")
    summarizer_backend: Literal["extractive", "transformers"] = "extractive"
    summarizer_model: str | None = None
    summarizer_max_request_chars: int = Field(
        default=2_000_000,
        ge=1,
        description="Characters of all texts of one summarizer request together (422 above).",
    )
    onnx_threads: int = Field(default=1, ge=1, description="onnxruntime threads per worker.")
    # -- HTTP --------------------------------------------------------------------------------
    max_content_length: int = Field(default=16 * 1024 * 1024, ge=1024)
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Time a client has to send a request's headers."
    )
    body_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Time a client has to send a request's whole body."
    )
    max_requests_per_address: int = Field(
        default=64,
        ge=0,
        description="Requests one client address may have under way per worker (0: no bound).",
    )
    request_threads: int = Field(
        default=32, ge=1, description="Threads per worker that run requests whose body arrived."
    )
    fast_lane: bool = Field(
        default=True,
        description="Answer ordinary successful JSON predictions without Flask's per-request "
        "machinery (same checks, record, metrics and bytes); false sends all through Flask.",
    )
    rate_limit: str | None = Field(
        default=None, description="Requests per caller (key, else address), e.g. 600/minute."
    )
    rate_limit_rows: str | None = Field(
        default=None, description="Prediction rows per caller, all routes, e.g. 100000/minute."
    )
    auth_failure_limit: str | None = Field(
        default="20/minute", description="Failed key checks per client address (429 above)."
    )
    rate_limit_storage_url: str | None = Field(
        default=None,
        description="Counts without Redis; `labserve serve` sets a table its workers share.",
    )
    redis_url: str | None = None
    require_api_key: bool = False
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    secret_key: str | None = Field(
        default=None,
        min_length=32,
        description="Signs page sessions and CSRF tokens (default: <instance>/secret_key, "
        "made once); replicas must share one.",
    )
    session_cookie_secure: bool | None = Field(
        default=None, description="None: Secure when the request came over https."
    )
    # -- storage and audit -------------------------------------------------------------------
    database_url: str | None = None
    migrate_on_start: bool = True
    audit: bool = True
    audit_inputs: Literal["full", "hash"] = "full"
    audit_failure: Literal["refuse", "allow"] = Field(
        default="refuse",
        description="refuse: a prediction whose record cannot be journaled is answered 503; "
        "allow: it is answered, and the record counted as lost.",
    )
    journal_path: Path | None = Field(
        default=None, description="The audit journal's folder (default: <instance>/journal)."
    )
    journal_fsync: Literal["never", "interval", "always"] = Field(
        default="never",
        description="never: a record survives the process's death; always: also power loss.",
    )
    journal_max_bytes: int = Field(
        default=1024**3, ge=1024 * 1024, description="Unshipped journal on disk before refusing."
    )
    shipper_idle_wait_seconds: float = Field(
        default=30.0,
        ge=0,
        description="While every CPU is busy, the shipper process waits up to this long for "
        "idle CPU before it ships (records wait safely in the journal); 0 ships at once.",
    )
    shipper: Literal["process", "thread", "none"] = Field(
        default="thread",
        description="Who moves journal records into the database: `labserve serve` starts a "
        "process (its workers get none); an app made by create_app ships from a thread.",
    )
    # -- CSV output ----------------------------------------------------------------------------
    csv_safe_cells: bool = Field(
        default=True, description="Prefix CSV output cells that spreadsheets run as formulas."
    )
    # -- logs --------------------------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    access_log: bool = Field(
        default=True, description="One line per request from the production server."
    )

    @field_validator("builtin_models", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("instance_path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Strongest first: overrides, ``*_FILE`` secrets, env, instance/config.py."""
        return (
            init_settings,
            SecretFileSource(settings_cls),
            env_settings,
            InstanceConfigSource(settings_cls),
        )

    @field_validator("rate_limit", "rate_limit_rows", "auth_failure_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip() or value.strip().lower() in {"none", "off"}:
            return None
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 600/minute") from None
        return value.strip()

    # -- derived -----------------------------------------------------------------------------
    @property
    def models_path(self) -> Path:
        """The model store: one folder per model, one sub-folder per version."""
        return self.instance_path / "models"

    @property
    def resolved_journal_path(self) -> Path:
        return self.journal_path or self.instance_path / "journal"

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded default: a SQLite file in the instance folder."""
        return self.database_url or f"sqlite:///{self.instance_path / 'labserve.db'}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (and validated again)."""
        return type(self)(**{**self.model_dump(), **changes})

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Read every source once; ``overrides`` (field names, any case) win.

        Raises:
            SettingsError: a value cannot be used; the message names the variable.
        """
        given = {key.lower(): value for key, value in (overrides or {}).items()}
        known = {key: value for key, value in given.items() if key in cls.model_fields}
        try:
            return cls(**known)
        except ValidationError as exc:
            raise SettingsError(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    return f"{ENV_PREFIX}{name.upper()}: {first['msg']}"


def instance_path_from_env(overrides: Mapping[str, Any] | None = None) -> Path:
    """Where ``instance/config.py`` lives: decided before the other settings are read."""
    given = {key.lower(): value for key, value in (overrides or {}).items()}
    chosen = given.get("instance_path") or os.environ.get(f"{ENV_PREFIX}INSTANCE_PATH")
    return Path(chosen).expanduser().resolve() if chosen else default_instance_path()


def default_instance_path() -> Path:
    """The per-user folder every command finds without being told (``labserve`` anywhere).

    ``~/.local/share/labserve`` on Linux (``$XDG_DATA_HOME/labserve`` when set), the
    platform's own user data folder elsewhere.
    """
    import platformdirs

    return platformdirs.user_data_path("labserve").resolve()


class InstanceConfigSource(PydanticBaseSettingsSource):
    """``<instance>/config.py``: upper-case module-level names, as Flask reads them."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file once

    def __call__(self) -> dict[str, Any]:
        init = self.current_state or {}
        instance = init.get("instance_path") or instance_path_from_env()
        path = Path(instance) / "config.py"
        if not path.is_file():
            return {}
        namespace = runpy.run_path(str(path))
        return {
            name.lower(): value
            for name, value in namespace.items()
            if name.isupper() and name.lower() in self.settings_cls.model_fields
        }


class SecretFileSource(EnvSettingsSource):
    """``LABSERVE_DATABASE_URL_FILE=/run/secrets/db`` reads the value from that file."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, env_prefix=ENV_PREFIX)

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SECRET_FILE_SETTINGS:
            variable = f"{ENV_PREFIX}{name.upper()}_FILE"
            path = os.environ.get(variable)
            if not path:
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{variable}: cannot read {path}: {exc.strerror}") from None
        return values
