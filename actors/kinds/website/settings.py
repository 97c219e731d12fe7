"""The website kind's settings section: the external generator, its poll schedule and deadline, and the
per-user limit on starting website jobs; read from ``WEBSITE_*`` variables (and ``PUBLIC_URL``)."""

from __future__ import annotations

import msgspec

from actors.env import KindEnv, SettingsError


class WebsiteConfig(msgspec.Struct, frozen=True):
    generator_url: str = ""
    # PUBLIC_URL: the job's own page is its tracking URL (``actors.links``).
    public_url: str = "http://127.0.0.1:8000"
    # A secret: never logged, never put in a job's params, result or error.
    generator_api_key: str = ""
    poll_schedule: tuple[tuple[float, float | None], ...] = ((30, 120), (45, 600), (60, 1080), (90, None))
    deadline_seconds: float = 1200.0
    backoff_initial_seconds: float = 30.0
    backoff_max_seconds: float = 300.0
    http_timeout_seconds: float = 30.0
    # Website jobs a user may start per window (0: no limit); administrators are not limited.
    rate_limit: int = 10
    rate_limit_window_seconds: float = 3600.0


def parse_poll_schedule(raw: str) -> tuple[tuple[float, float | None], ...]:
    """``"30@120,45@600,60@1080,90"`` -> every 30 s until 120 s, ..., then every 90 s (seconds, floats)."""
    steps: list[tuple[float, float | None]] = []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for i, part in enumerate(parts):
        every, _, until = part.partition("@")
        try:
            step = (float(every), float(until) if until else None)
        except ValueError:
            raise SettingsError(f"WEBSITE_POLL_SCHEDULE: {part!r} is not <seconds>[@<until seconds>]") from None
        if step[0] <= 0 or (step[1] is None and i != len(parts) - 1):
            raise SettingsError(f"WEBSITE_POLL_SCHEDULE: bad step {part!r} (positive interval; only the last is open)")
        steps.append(step)
    if not steps or steps[-1][1] is not None:
        raise SettingsError("WEBSITE_POLL_SCHEDULE must end with an open step, e.g. '30@120,45@600,60@1080,90'")
    return tuple(steps)


def load_settings(env: KindEnv) -> WebsiteConfig:
    d = WebsiteConfig()
    schedule = env.text("WEBSITE_POLL_SCHEDULE").strip()
    return WebsiteConfig(
        public_url=env.public_url,
        generator_url=env.text("WEBSITE_GENERATOR_URL").rstrip("/"),
        generator_api_key=env.text("WEBSITE_GENERATOR_API_KEY"),
        poll_schedule=parse_poll_schedule(schedule) if schedule else d.poll_schedule,
        deadline_seconds=env.number("WEBSITE_DEADLINE_SECONDS", d.deadline_seconds, float),
        backoff_initial_seconds=env.number("WEBSITE_BACKOFF_INITIAL_SECONDS", d.backoff_initial_seconds, float),
        backoff_max_seconds=env.number("WEBSITE_BACKOFF_MAX_SECONDS", d.backoff_max_seconds, float),
        http_timeout_seconds=env.number("WEBSITE_HTTP_TIMEOUT_SECONDS", d.http_timeout_seconds, float),
        rate_limit=env.number("WEBSITE_RATE_LIMIT", d.rate_limit, int),
        rate_limit_window_seconds=env.number("WEBSITE_RATE_LIMIT_WINDOW_SECONDS", d.rate_limit_window_seconds, float),
    )


def rate_limit(settings: WebsiteConfig) -> tuple[int, float] | None:
    return (settings.rate_limit, settings.rate_limit_window_seconds) if settings.rate_limit > 0 else None


def check_params(params: object, settings: WebsiteConfig) -> None:
    """Refuse website jobs up front when this deployment has no generator configured."""
    if not settings.generator_url:
        raise ValueError("website generation is not configured on this server (WEBSITE_GENERATOR_URL)")
