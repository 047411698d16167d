"""Django's cache: where log-in failure counters and API throttle counts live.

Those counters must be shared by every process that answers requests (gunicorn runs several
workers; Django docs, "Cache framework": the local-memory cache "is per-process", so it would
let an attacker spread guesses over the workers). With REDIS_URL the cache is Redis
(`django.core.cache.backends.redis.RedisCache`, in the same database as the Celery broker, so
never call `cache.clear()`, which would flush the queues too); without it, the embedded demo
uses a file cache under var/, which every process on the machine shares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cache_settings(redis_url: str, var_dir: Path) -> dict[str, dict[str, Any]]:
    """The CACHES setting for a deployment with (or without) Redis."""
    if redis_url:
        default: dict[str, Any] = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
        }
    else:
        default = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(var_dir / "cache"),
        }
    default["KEY_PREFIX"] = "fetalbench"
    return {"default": default}
