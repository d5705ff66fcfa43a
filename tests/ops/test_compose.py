"""docker-compose.yml: every process of the deployment shares the Redis cache."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat")


def test_web_worker_and_beat_share_one_redis_cache():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    urls = {
        name: compose["services"][name]["environment"].get("CACHE_URL") for name in APP_SERVICES
    }

    assert len(set(urls.values())) == 1, urls
    url = urls["web"]
    assert url.startswith("redis://redis:")
    # Not the broker's database: a cache flush must never drop queued tasks.
    assert url != compose["services"]["web"]["environment"]["CELERY_BROKER_URL"]


def test_the_settings_turn_cache_url_into_a_redis_cache():
    env = {
        **os.environ,
        "CACHE_URL": "redis://redis:6379/1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    script = (
        "from django.conf import settings; c = settings.CACHES['default']; "
        "print(c['BACKEND'], c['LOCATION'])"
    )

    out = subprocess.run(  # noqa: S603 - our own interpreter and settings
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert out.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://redis:6379/1",
    ]
