"""docker-compose.yml stays in step with the code: every service and every Celery queue the
settings route tasks to has a worker, and the GPU worker actually reserves a GPU."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"web", "worker-scoring", "worker-gpu", "beat", "redis", "postgres"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _argv(service: dict) -> list[str]:
    command = service.get("command", "")
    return command if isinstance(command, list) else shlex.split(command)


def _queues(service: dict) -> set[str]:
    argv = _argv(service)
    if "worker" not in argv:
        return set()
    for flag in ("-Q", "--queues"):
        if flag in argv:
            return set(argv[argv.index(flag) + 1].split(","))
    return {settings.CELERY_TASK_DEFAULT_QUEUE}


def test_names_every_service(compose: dict) -> None:
    assert set(compose["services"]) >= EXPECTED_SERVICES


def test_every_routed_queue_has_a_worker(compose: dict) -> None:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    routed.add(settings.CELERY_TASK_DEFAULT_QUEUE)
    consumed = set().union(*(_queues(s) for s in compose["services"].values()))
    assert routed <= consumed, f"queues without a worker: {routed - consumed}"


def test_workers_and_web_use_the_config_app(compose: dict) -> None:
    services = compose["services"]
    assert "config.wsgi" in " ".join(_argv(services["web"]))
    assert "gunicorn" in " ".join(_argv(services["web"])).split()
    for name in ("worker-scoring", "worker-gpu", "beat"):
        argv = _argv(services[name])
        assert argv[:3] == ["celery", "-A", "config"], name
    assert _argv(services["beat"])[3] == "beat"
    assert _queues(services["worker-scoring"]) == {"scoring"}
    assert _queues(services["worker-gpu"]) == {"inference"}


def test_gpu_worker_reserves_a_gpu(compose: dict) -> None:
    devices = compose["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in d.get("capabilities", []) for d in devices)


def test_python_services_share_var_and_backends(compose: dict) -> None:
    services = compose["services"]
    for name in ("web", "worker-scoring", "worker-gpu", "beat"):
        svc = services[name]
        mounts = {v.split(":")[1] for v in svc["volumes"]}
        env = svc["environment"]
        assert env["FETALBENCH_VAR"] in mounts, name
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
    assert "var" in compose["volumes"]


def test_dockerfile_builds_from_the_requirements() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in text and "WITH_MODELS" in text
