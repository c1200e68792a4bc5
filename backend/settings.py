"""Settings: one frozen struct built once from FIELDCHECK_* environment variables.

Nothing reads the environment at import time; `Settings.from_env()` is called by the CLI, and tests
build their own `Settings(...)`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = ""
    data_dir: str = "./var"
    public_base_url: str = "http://127.0.0.1:8000"
    demo: bool = False
    #: Name of this deployment in signed notes (audit checkpoints) and token issuers.
    origin: str = "fieldcheck.ln.gov.cn"
    access_token_ttl_s: int = 3600
    #: JSON bodies; uploads have their own limit.
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 250_000_000
    police_notify_hours: int = 24
    clarification_days: int = 10
    supervision_answer_days: int = 15
    #: Public endpoints (verification pages and API): requests per window per client address.
    public_rate_limit: int = 120
    public_rate_window_s: int = 60
    #: How long a phone may trust a downloaded revocation/suspension list.
    status_list_ttl_s: int = 24 * 3600
    sql_echo: bool = False
    #: Shared rate-limit counters (several workers or machines); empty: in memory, per process.
    redis_url: str = ""
    #: Prefix of every Redis key, so deployments (or test runs) sharing a Redis stay apart.
    redis_prefix: str = "fieldcheck:"
    #: Set: signing keys live in the database (private parts encrypted under it), shared by every
    #: node on the same database. Empty: keys live in the data directory (one node).
    secret_key: str = ""
    #: How often a process checks the change counters (credentials, keys) for changes it was not
    #: notified of; a revocation made elsewhere is visible here within this interval at worst.
    change_poll_s: float = 1.0
    #: Failed logins before further attempts are refused for the window: per account, per address.
    login_fail_limit: int = 10
    login_fail_address_limit: int = 50
    login_fail_window_s: int = 900

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir) / 'fieldcheck.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        fields: dict[str, object] = {}
        for name, field_type in (
            ("database_url", str),
            ("data_dir", str),
            ("public_base_url", str),
            ("origin", str),
            ("demo", bool),
            ("access_token_ttl_s", int),
            ("max_body_bytes", int),
            ("max_upload_bytes", int),
            ("max_image_pixels", int),
            ("police_notify_hours", int),
            ("clarification_days", int),
            ("supervision_answer_days", int),
            ("public_rate_limit", int),
            ("public_rate_window_s", int),
            ("status_list_ttl_s", int),
            ("sql_echo", bool),
            ("redis_url", str),
            ("redis_prefix", str),
            ("secret_key", str),
            ("change_poll_s", float),
            ("login_fail_limit", int),
            ("login_fail_address_limit", int),
            ("login_fail_window_s", int),
        ):
            raw = env.get(f"FIELDCHECK_{name.upper()}")
            if raw is None or raw == "":
                continue
            if field_type is bool:
                fields[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif field_type is int:
                fields[name] = int(raw)
            elif field_type is float:
                fields[name] = float(raw)
            else:
                fields[name] = raw
        if "public_base_url" in fields:
            fields["public_base_url"] = str(fields["public_base_url"]).rstrip("/")
        return cls(**fields)  # type: ignore[arg-type]
