"""The signed-in person's home: which organisation they are looking at, and a health check."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from lms.models import Organisation

ORGANISATION_KEY = "organisation_id"


def current_organisation_id(session_data, organisations: list[Organisation]) -> int | None:
    """The organisation chosen in the header switcher, or the first one the person belongs to."""
    ids = [organisation.id for organisation in organisations]
    chosen = session_data.get(ORGANISATION_KEY)
    if chosen in ids:
        return chosen
    return ids[0] if ids else None


def redis_reachable(url: str) -> bool:
    """Whether the Redis the limiter (and, later, the job queue) uses answers a PING within a second."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure to reach it means not ready, whatever the client raises
        return False


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure to reach the database means unhealthy, whatever the driver raises
        return False
