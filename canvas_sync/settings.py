"""Configuration: a TOML file validated once at the edge, then `CANVAS_*` environment overrides
(SPEC §5, §7).

Nothing else in the package reads `os.environ`. Unknown keys and bad values are rejected with the
file, the key and the reason in one sentence. The token is wrapped in `Secret` so it never shows up
in reprs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canvas_sync._config_file import read_toml
from canvas_sync.domain import PolicyConfig, Secret, Selection
from canvas_sync.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_DATABASE_URL",
    "ReadingSpec",
    "Settings",
    "canvas_access",
    "database_url_only",
    "load_all_settings",
    "load_settings",
    "shipped_config",
]

DEFAULT_CONFIG = "canvas-sync.toml"
DEFAULT_DATABASE_URL = "sqlite:///canvas_sync.db"


def shipped_config() -> Path:
    """The CS 598 policy shipped in the repository (`config/cs598-s26.toml`)."""
    return Path(__file__).resolve().parent.parent / "config" / "cs598-s26.toml"


# --- the file's schema ---------------------------------------------------------------------


class _Strict(BaseModel):
    # defer_build: pydantic builds a model's validator when it first validates, not when the
    # class is defined, so commands that import settings without loading them start faster,
    # and a load builds one validator for the whole file instead of one per section.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class _Canvas(_Strict):
    url: str = "http://127.0.0.1:8900"
    course_id: int | None = Field(default=None, gt=0)
    token: str | None = None  # allowed, but CANVAS_TOKEN is the recommended place
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    concurrency: int = Field(default=2, ge=1, le=8)
    backoff_base_seconds: float = Field(default=0.5, gt=0)
    backoff_max_seconds: float = Field(default=30.0, gt=0)
    throttle_max_wait_seconds: float = Field(default=30.0, ge=0)
    # Whole exchange, connect to last byte (timeout_seconds is per network operation).
    request_deadline_seconds: float = Field(default=120.0, gt=0)
    max_response_megabytes: float = Field(default=32.0, gt=0)
    max_listing_megabytes: float = Field(default=256.0, gt=0)
    max_listing_pages: int = Field(default=1000, ge=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class _Database(_Strict):
    url: str = DEFAULT_DATABASE_URL


class _Course(_Strict):
    name: str = ""
    time_zone: str = "America/Chicago"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class _Policy(_Strict):
    required: int = Field(default=14, ge=1)
    points_per_summary: float = Field(default=10.0, gt=0)
    selection: Literal["best", "first"] = "best"
    weight: float = Field(default=20.0, ge=0, le=100)
    grace_seconds: int = Field(default=0, ge=0)
    ungraded_after_days: int = Field(default=7, ge=0)
    rubric_items: list[str] = Field(default_factory=lambda: ["P1", "P2", "P3", "P4", "P5"])
    rubric_item_max: float = Field(default=2.0, gt=0)
    rubric_step: float = Field(default=1.0, gt=0)
    # Apply the syllabus to readings with a Canvas custom grade status (default: leave them).
    apply_to_custom_statuses: bool = False


class _Reading(_Strict):
    title: str = Field(min_length=1)
    lecture: date | None = None  # no lecture date: the Canvas due date is not checked


class _Readings(_Strict):
    group: str = "Reading Summaries"
    match_titles: bool = True
    ids: list[int] = Field(default_factory=list)
    due_time: time = time(23, 59, 59)
    list_: list[_Reading] = Field(default_factory=list, alias="list")


class _Push(_Strict):
    auto: bool = False
    total_assignment: str = "Reading Summaries Total"
    total_column: str = "Counted reading summaries"
    comment_missing: bool = False
    progress_timeout_seconds: float = Field(default=120.0, gt=0)
    # Push even though the Canvas course Late Policy deducts from late work too.
    allow_canvas_late_policy: bool = False


class _Schedule(_Strict):
    interval_minutes: float = Field(default=30.0, gt=0)
    after_due_minutes: float = Field(default=5.0, ge=0)
    lock_wait_seconds: float = Field(default=60.0, ge=0)
    # Hours between the daemon's full pulls: since-filters miss what Canvas changes without
    # moving `graded_at` (a cleared grade, an un-excuse, a late-policy re-score).
    full_pull_hours: float = Field(default=24.0, gt=0)


class _Web(_Strict):
    # Host names the web app answers to besides loopback ones (DNS rebinding guard).
    allowed_hosts: list[str] = Field(default_factory=list)
    ta_can_exempt: bool = False  # may TAs add late-rule exemptions in the web app?

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not host or any(c in host for c in "/ @?#") or not host.isascii():
                raise ValueError(f"{host!r} is not a host name (no scheme, path or port)")
        return [h.lower() for h in value]


class _Logging(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class _File(_Strict):
    include: list[str] = Field(default_factory=list)  # more course configs, for the daemon
    canvas: _Canvas = Field(default_factory=_Canvas)
    database: _Database = Field(default_factory=_Database)
    course: _Course = Field(default_factory=_Course)
    policy: _Policy = Field(default_factory=_Policy)
    weights: dict[str, float] = Field(default_factory=dict)
    readings: _Readings = Field(default_factory=_Readings)
    push: _Push = Field(default_factory=_Push)
    schedule: _Schedule = Field(default_factory=_Schedule)
    logging: _Logging = Field(default_factory=_Logging)
    web: _Web = Field(default_factory=_Web)


# --- what the rest of the package sees ---------------------------------------------------------


@dataclass(frozen=True)
class ReadingSpec:
    """A syllabus reading: its title and the due instant the syllabus implies (UTC)."""

    title: str
    lecture: date | None
    due_at: datetime | None


@dataclass(frozen=True)
class Settings:
    canvas_url: str
    token: Secret
    course_id: int
    database_url: str
    course_name: str
    time_zone: str
    policy: PolicyConfig
    readings: tuple[ReadingSpec, ...]
    readings_group: str = "Reading Summaries"
    match_titles: bool = True
    reading_ids: tuple[int, ...] = ()
    rubric_items: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5")
    rubric_item_max: float = 2.0
    weights: Mapping[str, float] = field(default_factory=dict)
    push_auto: bool = False
    total_assignment: str = "Reading Summaries Total"
    total_column: str = "Counted reading summaries"
    comment_missing: bool = False
    progress_timeout: float = 120.0
    allow_canvas_late_policy: bool = False
    interval_minutes: float = 30.0
    after_due_minutes: float = 5.0
    lock_wait_seconds: float = 60.0
    full_pull_hours: float = 24.0
    http_timeout: float = 60.0
    max_attempts: int = 6
    concurrency: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    throttle_max_wait: float = 30.0
    request_deadline: float = 120.0
    max_response_megabytes: float = 32.0
    max_listing_megabytes: float = 256.0
    max_listing_pages: int = 1000
    log_level: str = "INFO"
    web_allowed_hosts: tuple[str, ...] = ()
    ta_can_exempt: bool = False
    source: str = "defaults"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def syllabus_due(lecture: date, due_time: time, zone: ZoneInfo) -> datetime:
    """Due instant of a summary: `due_time` local on the day before the lecture (SPEC §7).

    Built as a local wall time in the course zone, then converted, so the UTC offset follows DST.
    """
    local = datetime.combine(lecture - timedelta(days=1), due_time, tzinfo=zone)
    return local.astimezone(UTC)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config (SPEC §5: --config, else $CANVAS_SYNC_CONFIG, else ./canvas-sync.toml)."""
    environ = os.environ if env is None else env
    chosen = path or environ.get("CANVAS_SYNC_CONFIG") or DEFAULT_CONFIG
    config_path = Path(chosen)
    raw = read_toml(config_path)
    return settings_from_dict(raw, source=str(config_path), env=environ)


def settings_from_dict(
    raw: Mapping[str, Any], *, source: str = "config", env: Mapping[str, str] | None = None
) -> Settings:
    environ = os.environ if env is None else env
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_one_sentence(source, exc)) from None
    return _apply_env(parsed, source, environ)


def _one_sentence(source: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]).replace("list_", "list")
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'; remove it or check its spelling."
    reason = first["msg"].removeprefix("Value error, ")
    return f"{source}: key '{key}' is invalid: {reason}."


def _course_id(parsed: _File, source: str, env: Mapping[str, str]) -> int:
    """CANVAS_COURSE_ID if set, else the file's `canvas.course_id`; one of them is required."""
    course_id = parsed.canvas.course_id
    if "CANVAS_COURSE_ID" in env:
        text = env["CANVAS_COURSE_ID"]
        if not text.isdigit() or int(text) <= 0:
            raise ConfigError(f"CANVAS_COURSE_ID must be a positive integer, not {text!r}.")
        course_id = int(text)
    if course_id is None:
        raise ConfigError(
            f"{source}: key 'canvas.course_id' is missing; set it or CANVAS_COURSE_ID."
        )
    return course_id


def _policy(parsed: _File) -> PolicyConfig:
    return PolicyConfig(
        required=parsed.policy.required,
        points_per_summary=parsed.policy.points_per_summary,
        selection=Selection(parsed.policy.selection),
        weight=parsed.policy.weight,
        grace_seconds=parsed.policy.grace_seconds,
        ungraded_after_days=parsed.policy.ungraded_after_days,
        rubric_step=parsed.policy.rubric_step,
        apply_to_custom_statuses=parsed.policy.apply_to_custom_statuses,
    )


def _apply_env(parsed: _File, source: str, env: Mapping[str, str]) -> Settings:
    url = env.get("CANVAS_URL", parsed.canvas.url).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("CANVAS_URL must start with http:// or https://; fix the variable.")
    course_id = _course_id(parsed, source, env)
    token = Secret(env.get("CANVAS_TOKEN") or parsed.canvas.token or "")
    zone = ZoneInfo(parsed.course.time_zone)
    readings = tuple(
        ReadingSpec(
            r.title,
            r.lecture,
            syllabus_due(r.lecture, parsed.readings.due_time, zone) if r.lecture else None,
        )
        for r in parsed.readings.list_
    )
    policy = _policy(parsed)
    pool = len(readings) or len(parsed.readings.ids)
    if pool and policy.required > pool:
        raise ConfigError(
            f"{source}: key 'policy.required' is {policy.required} but only {pool} readings "
            "are configured; lower it or add readings."
        )
    return Settings(
        canvas_url=url,
        token=token,
        course_id=course_id,
        database_url=env.get("CANVAS_SYNC_DATABASE_URL", parsed.database.url),
        course_name=parsed.course.name,
        time_zone=parsed.course.time_zone,
        policy=policy,
        readings=readings,
        readings_group=parsed.readings.group,
        match_titles=parsed.readings.match_titles,
        reading_ids=tuple(parsed.readings.ids),
        rubric_items=tuple(parsed.policy.rubric_items),
        rubric_item_max=parsed.policy.rubric_item_max,
        weights=dict(parsed.weights),
        push_auto=parsed.push.auto,
        total_assignment=parsed.push.total_assignment,
        total_column=parsed.push.total_column,
        comment_missing=parsed.push.comment_missing,
        progress_timeout=parsed.push.progress_timeout_seconds,
        allow_canvas_late_policy=parsed.push.allow_canvas_late_policy,
        interval_minutes=parsed.schedule.interval_minutes,
        after_due_minutes=parsed.schedule.after_due_minutes,
        lock_wait_seconds=parsed.schedule.lock_wait_seconds,
        full_pull_hours=parsed.schedule.full_pull_hours,
        http_timeout=parsed.canvas.timeout_seconds,
        max_attempts=parsed.canvas.max_attempts,
        concurrency=parsed.canvas.concurrency,
        backoff_base=parsed.canvas.backoff_base_seconds,
        backoff_max=parsed.canvas.backoff_max_seconds,
        throttle_max_wait=parsed.canvas.throttle_max_wait_seconds,
        request_deadline=parsed.canvas.request_deadline_seconds,
        max_response_megabytes=parsed.canvas.max_response_megabytes,
        max_listing_megabytes=parsed.canvas.max_listing_megabytes,
        max_listing_pages=parsed.canvas.max_listing_pages,
        log_level=parsed.logging.level,
        web_allowed_hosts=tuple(parsed.web.allowed_hosts),
        ta_can_exempt=parsed.web.ta_can_exempt,
        source=source,
    )


def database_url_only(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """The database URL, for commands that need nothing else (`db upgrade`).

    With no config file given and none at the default place, the environment or the default.
    """
    environ = os.environ if env is None else env
    chosen = path or environ.get("CANVAS_SYNC_CONFIG")
    if chosen is None and not Path(DEFAULT_CONFIG).is_file():
        return environ.get("CANVAS_SYNC_DATABASE_URL", DEFAULT_DATABASE_URL)
    return load_settings(chosen, env=environ).database_url


def load_all_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> list[Settings]:
    """The config's course plus every course config it `include`s (SPEC §9: many courses).

    Included files are resolved relative to the including file; each is a whole course config.
    The CANVAS_COURSE_ID override applies to the first course only (it names one course).
    """
    environ = os.environ if env is None else env
    first = load_settings(path, env=environ)
    base = Path(first.source).parent
    raw = read_toml(Path(first.source))
    found = [first]
    others = {k: v for k, v in environ.items() if k != "CANVAS_COURSE_ID"}
    for name in raw.get("include", []):
        try:
            found.append(load_settings(base / name, env=others))
        except ConfigError as exc:
            raise ConfigError(f"{first.source}: include {name!r}: {exc}") from None
    ids = [s.course_id for s in found]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{first.source}: key 'include' lists a course twice; each course once.")
    return found


def canvas_access(env: Mapping[str, str] | None = None) -> tuple[str, Secret, int]:
    """URL, token and course id from the environment alone (`init`, before any config exists)."""
    environ = os.environ if env is None else env
    missing = [k for k in ("CANVAS_URL", "CANVAS_TOKEN", "CANVAS_COURSE_ID") if not environ.get(k)]
    if missing:
        raise ConfigError(f"Set {', '.join(missing)} in the environment to run init.")
    text = environ["CANVAS_COURSE_ID"]
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"CANVAS_COURSE_ID must be a positive integer, not {text!r}.")
    url = environ["CANVAS_URL"].rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("CANVAS_URL must start with http:// or https://; fix the variable.")
    return url, Secret(environ["CANVAS_TOKEN"]), int(text)
