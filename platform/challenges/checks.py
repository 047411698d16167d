"""System checks: the hidden truth store must never sit where a URL could reach it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register


def _inside(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


@register()
def truth_root_is_private(app_configs=None, **kwargs) -> list[Error]:
    truth = Path(settings.TRUTH_ROOT)
    errors = []
    for name in ("MEDIA_ROOT", "STATIC_ROOT"):
        other = getattr(settings, name, None)
        if other and (_inside(truth, Path(other)) or _inside(Path(other), truth)):
            errors.append(
                Error(
                    f"TRUTH_ROOT and {name} overlap: hidden labels could become downloadable.",
                    hint=f"Point TRUTH_ROOT outside {name} (default: var/truth).",
                    id="challenges.E001",
                )
            )
    return errors
