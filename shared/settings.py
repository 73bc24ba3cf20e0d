"""One settings base for every service: environment variables with the ``BAOXUE_`` prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "change_me", "secret", "dev", "development", "test",
                                 "baoxue", "please-change"})


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``service_name`` and ``http_port`` defaults."""

    model_config = SettingsConfigDict(env_prefix="BAOXUE_", env_file=".env", extra="ignore")

    service_name: str = "baoxue"
    environment: Literal["development", "test", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Processes serving the port (uvicorn workers). One process uses one core: set it to the
    # number of cores the service may have. Each worker runs the relay, the consumer and the
    # jobs too, as replicas do: the consumer group shares the partitions, jobs claim in the database.
    http_workers: int = Field(default=1, ge=1, le=64)
    # Each service owns its database; the default is an SQLite file under var/.
    database_url: str = ""
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Real Kafka supports the idempotent producer; the embedded Tansu broker does not.
    kafka_idempotence: bool = False
    # Services create the contract topics they use when missing (disable where ops own topics).
    kafka_create_topics: bool = True
    kafka_topic_partitions: int = Field(default=3, ge=1, le=1000)
    kafka_replication_factor: int = Field(default=1, ge=1, le=10)
    # retention.ms of the topics a service creates: -1 keeps records forever, so a rebuild (and a
    # county system) finds the whole term; Kafka's own default would drop them after 7 days.
    kafka_topic_retention_ms: int = Field(default=-1, ge=-1)
    kafka_send_timeout_s: float = Field(default=10.0, gt=0)
    # How long the group waits for a silent consumer before giving its partitions to the others:
    # a crashed replica's partitions move after about this long. The embedded Tansu broker also
    # holds every join for about half of it, and a member of its first generation cannot leave
    # (aiokafka sends no LeaveGroup for generation 0), so the next start waits out about twice it.
    kafka_session_timeout_ms: int = Field(default=6_000, ge=1_000, le=300_000)
    outbox_poll_interval_s: float = Field(default=0.2, gt=0)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    # The outbox is the durable log (shared/outbox_log.py): sent rows are kept this long (a school
    # year and its summer), so what a broker loses can be published again.
    outbox_retention_days: int = Field(default=400, ge=1)
    # How often the relay reads back acknowledged records to check the broker still holds them
    # (also at every connection to the broker, before publishing).
    outbox_check_interval_s: float = Field(default=300.0, gt=0)
    # How often sent rows older than the retention are deleted.
    outbox_prune_interval_s: float = Field(default=3600.0, gt=0)
    consumer_group: str = ""
    log_level: str = "INFO"
    # Bearer tokens (issue 7): an HS256 shared key, or a JWKS file of public keys (RS256/ES256).
    jwt_secret: SecretStr | None = None
    jwt_jwks_file: Path | None = None
    # Abuse limits (shared/limits.py): body size, writes per client per minute, request time.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A spreadsheet upload (multipart/form-data): a county's 10,000 students are ~2 MB of CSV.
    max_upload_bytes: int = Field(default=16_777_216, ge=1024)
    writes_per_minute: int = Field(default=600, ge=1)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # Idempotency-Key (shared/idempotency.py): how long a key and its stored answer are kept.
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    jwt_issuer: str = "baoxue"
    jwt_audience: str = "baoxue"
    timezone: str = "Asia/Shanghai"

    @field_validator("jwt_secret", "jwt_jwks_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `BAOXUE_JWT_SECRET=` in a .env file means "not set", not "the empty key".
        return None if value == "" else value

    @model_validator(mode="after")
    def _defaults_from_service_name(self) -> ServiceSettings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///var/{self.service_name}.db"
        if not self.consumer_group:
            self.consumer_group = f"baoxue-{self.service_name}"
        if self.environment == "production":
            self._refuse_weak_token_key()
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError(
                "BAOXUE_DATABASE_URL must point at PostgreSQL in production "
                f"(got {self.database_url!r})"
            )
        return self

    def _refuse_weak_token_key(self) -> None:
        if self.jwt_jwks_file is not None:
            return
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if not secret:
            raise ValueError("BAOXUE_JWT_SECRET or BAOXUE_JWT_JWKS_FILE must be set in production")
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 32:
            raise ValueError("BAOXUE_JWT_SECRET is a placeholder or shorter than 32 characters; "
                             "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
