"""Settings: one frozen struct built once from FIELDCHECK_* environment variables.

Nothing reads the environment at import time; `Settings.from_env()` is called by the CLI, and tests
build their own `Settings(...)`."""

from __future__ import annotations

import logging
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
    #: Pixels a photo may declare. Phone cameras save 12-50 MP (108 MP in full-resolution modes);
    #: 120 MP refuses decompression bombs early. Memory is bounded separately (decode_memory_bytes).
    max_image_pixels: int = 120_000_000
    #: Estimated memory all photo decodes of one worker process may take at once; a photo that
    #: alone needs more is refused (413), one that must wait longer than decode_wait_s gets 503.
    decode_memory_bytes: int = 512 * 1024 * 1024
    max_concurrent_decodes: int = 2
    decode_wait_s: float = 10.0
    #: Free space the photo store keeps on its file system: uploads that would eat into it get 507.
    min_free_bytes: int = 256 * 1024 * 1024
    #: Where photos live: "files" (the data directory) or "database" (chunked in the database,
    #: shared by every node of one deployment).
    blob_store: str = "files"
    #: How long a request waits for the database (SQLite lock, PostgreSQL pool/connect) before 503.
    db_timeout_s: float = 10.0
    #: A request body that sends nothing for body_idle_timeout_s, or is not complete after
    #: body_timeout_s, is cut (408) and whatever it had written removed.
    body_idle_timeout_s: float = 30.0
    body_timeout_s: float = 600.0
    #: A request whose headers are not complete this long after the connection opened or its first
    #: byte arrived is cut (408, connection closed): core/http_protocol.py.
    header_timeout_s: float = 20.0
    #: SIGTERM: requests in flight get this long to finish before the worker exits.
    shutdown_timeout_s: int = 20
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
    #: Maximum merge delay of the audit log: an entry is integrated (seq, inclusion proof) at most this
    #: long after its transaction commits. At most 1000 ms; receipts promise it.
    audit_max_merge_delay_ms: int = 1000
    #: Run the audit sequencer inside this server (on PostgreSQL only one process across all workers
    #: and machines actually sequences). Off only where something else integrates (tests, a
    #: dedicated `fieldcheck audit integrate --loop`).
    audit_sequencer: bool = True
    #: The witness: the latest signed checkpoint, kept outside the database (default: in data_dir).
    #: `audit verify` checks the log still reaches it, which catches truncation.
    audit_witness_file: str = ""
    #: Level of the server's and the CLI's log (a `logging` level name: DEBUG, INFO, WARNING, ...).
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if not 0 < self.audit_max_merge_delay_ms <= 1000:
            raise ValueError("audit_max_merge_delay_ms must be within 1..1000")
        if self.blob_store not in ("files", "database"):
            raise ValueError("blob_store must be files or database")
        if self.log_level.upper() not in logging.getLevelNamesMapping():
            raise ValueError("log_level must be a logging level name (DEBUG, INFO, WARNING, ERROR, CRITICAL)")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir) / 'fieldcheck.db'}"

    @property
    def witness_path(self) -> Path:
        if self.audit_witness_file:
            return Path(self.audit_witness_file)
        return Path(self.data_dir) / "audit-checkpoint.txt"

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
            ("decode_memory_bytes", int),
            ("max_concurrent_decodes", int),
            ("decode_wait_s", float),
            ("min_free_bytes", int),
            ("blob_store", str),
            ("db_timeout_s", float),
            ("body_idle_timeout_s", float),
            ("body_timeout_s", float),
            ("header_timeout_s", float),
            ("shutdown_timeout_s", int),
            ("police_notify_hours", int),
            ("clarification_days", int),
            ("supervision_answer_days", int),
            ("public_rate_limit", int),
            ("public_rate_window_s", int),
            ("status_list_ttl_s", int),
            ("sql_echo", bool),
            ("audit_max_merge_delay_ms", int),
            ("audit_sequencer", bool),
            ("audit_witness_file", str),
            ("redis_url", str),
            ("redis_prefix", str),
            ("secret_key", str),
            ("change_poll_s", float),
            ("login_fail_limit", int),
            ("login_fail_address_limit", int),
            ("login_fail_window_s", int),
            ("log_level", str),
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
