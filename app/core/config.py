"""One settings object for the whole service, read from `MINGA_*` variables and `.env`."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-dev-only-secret-key-for-minga-local-use"  # noqa: S105
# Where the public pages are served (the origin page behind every label's QR code): the dev
# server's address in development and tests; required everywhere else.
DEV_PUBLIC_BASE_URL = "http://127.0.0.1:8000"


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    production = "production"


# The longest route search the API accepts (declared in its schema); a server may allow less.
ROUTE_TIME_LIMIT_BOUND_S = 60.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MINGA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Environment.dev
    database_url: str = "sqlite+aiosqlite:///./minga.db"
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    access_token_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    jwt_algorithm: str = "HS256"

    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None

    # Argon2id cost of password hashes (the defaults are argon2-cffi's, about 0.1 s here).
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=1024, le=1_048_576)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)

    # Login attempts, counted before the password is checked (app/accounts/throttle.py): at
    # most this many per account from one address / per client address in the window, and
    # per account from anywhere in its own shorter window (a back-off, not a lock-out).
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_account_anywhere: int = Field(default=30, ge=1)
    login_account_window_seconds: int = Field(default=120, ge=1)
    # Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips): none by
    # default, so a client cannot pick the address its login attempts are counted under.
    trusted_proxies: list[str] = Field(default_factory=list)

    # how often the scheduler reconciles card holds with orders (app/payments/reconcile.py)
    reconcile_interval_seconds: int = Field(default=3600, ge=1)

    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None

    # Cycles open and close by themselves: an in-process scheduler for the embedded default
    # (turn it off where `minga cycles tick` runs from cron instead).
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(default=5.0, gt=0, le=3600)

    # Background jobs (app/jobs): on PostgreSQL `minga worker` runs them (procrastinate); on
    # the embedded SQLite the API process does, unless jobs_in_process is off (the tests run
    # them when they choose). A worker that sends no heartbeat for jobs_stalled_after_seconds
    # is dead: its jobs run again.
    jobs_in_process: bool = True
    jobs_heartbeat_seconds: float = Field(default=10.0, gt=0, le=600)
    jobs_stalled_after_seconds: float = Field(default=30.0, gt=0, le=3600)
    # how often the sweeps look for work a dead worker left (a divisor of 60, or minutes)
    jobs_sweep_seconds: int = Field(default=30, ge=1, le=3600)

    # E-mail (app/notifications): through this SMTP server, or, with no host, written as .eml
    # files to mail_dir (development and the demo). A message a worker is sending is its own
    # for notification_lease_seconds (longer than an SMTP conversation may take).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True  # STARTTLS on a plain connection (port 587)
    smtp_tls: bool = False  # TLS from the first byte (port 465)
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    mail_from: str = "Minga <no-reply@minga.localhost>"
    mail_dir: str = "./mail"
    notification_lease_seconds: float = Field(default=120.0, gt=0, le=3600)
    # Integrators' webhooks (app/webhooks) go only to public addresses: a URL whose host
    # resolves to loopback, a private or link-local network (cloud metadata), CGNAT… is
    # refused. MINGA_WEBHOOKS_ALLOW_PRIVATE_URLS=true lifts that (development, tests, a
    # receiver inside the same network); never on a server that can reach internal services.
    webhooks_allow_private_urls: bool = False
    # buyers are reminded this many hours before a cycle closes
    cycle_closing_reminder_hours: int = Field(default=2, ge=1, le=168)

    # Account e-mails: a password-reset or e-mail-change link works once, for this long; at
    # most password_reset_per_hour requests per address and per account in an hour.
    account_token_minutes: int = Field(default=60, ge=5, le=60 * 24 * 7)
    password_reset_per_hour: int = Field(default=5, ge=1)

    osrm_url: str | None = None
    route_detour_factor: float = 1.3
    route_speed_kmh: float = 35.0
    # The most a route plan's search may take, in seconds (a request may ask for less or, up
    # to route_max_time_limit_s, more). Within it plans are deterministic; a search cut by
    # it depends on the machine's speed (docs/bench-routes.md).
    route_time_limit_s: float = Field(default=2.5, gt=0, le=600)
    route_max_time_limit_s: float = Field(
        default=ROUTE_TIME_LIMIT_BOUND_S, gt=0, le=ROUTE_TIME_LIMIT_BOUND_S
    )
    # A delivery day of this many stops or more is planned by a job: POST …/routes answers
    # 202 with the operation to poll (a client may ask for that with Prefer: respond-async)
    route_async_min_stops: int = Field(default=120, ge=1)
    # One crate holds the goods of one order line up to this weight: a line takes
    # ceil(weight / crate) crates (vehicles may limit the crates they carry).
    route_crate_kg: float = Field(default=20.0, gt=0, le=1000)
    # Request bodies: JSON and forms, and multipart uploads (photos, CSV imports).
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_multipart_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    media_dir: str = "./media"
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # Photos and issued documents go to this bucket through the S3 API when it is set
    # (AWS, MinIO, Garage…), to media_dir otherwise (app/core/storage.py).
    s3_bucket: str | None = None
    # the service's address when it is not AWS, e.g. http://minio:9000
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    # no key given: botocore's own chain (AWS_* variables, profile, instance role)
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # keys start with it ("minga/" puts everything under minga/ in a shared bucket)
    s3_prefix: str = ""
    log_level: str = "INFO"
    cors_origins: list[str] = []
    public_base_url: str = ""  # MINGA_PUBLIC_BASE_URL; see DEV_PUBLIC_BASE_URL

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Self:
        if (
            self.environment is Environment.production
            and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
        ):
            raise ValueError(
                "MINGA_SECRET_KEY is still the development default; "
                "set a long random secret before running in production"
            )
        if not self.public_base_url:
            if self.environment not in (Environment.dev, Environment.test):
                raise ValueError(
                    "MINGA_PUBLIC_BASE_URL is required outside development: the address "
                    "that the QR codes on labels point at, e.g. https://minga.example.org"
                )
            self.public_base_url = DEV_PUBLIC_BASE_URL
        self.public_base_url = self.public_base_url.rstrip("/")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("MINGA_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
