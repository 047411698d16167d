"""The errors a user can cause (and fix); the CLI prints these as one line, not a trace.

Every wing raises the errors defined here and imports them from here, so this module is the
ground floor of the package: it imports nothing of `reference_models` (and the client only
optionally), which keeps the export wing free of import cycles (`model_file` -> `container` ->
`wheels` all raise `ExportError`).
"""

from __future__ import annotations

__all__ = [
    "EXPECTED_ERRORS",
    "CheckpointError",
    "DataError",
    "ExportError",
    "PretrainedWeightsError",
    "StrategyError",
    "UnknownModelError",
]


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or is not a reference-model checkpoint."""


class DataError(ValueError):
    """Training data that cannot be used; the message says what to fix."""


class ExportError(ValueError):
    """An export that cannot be done here; the message says what is missing."""


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights were asked for but cannot be had; the message says how to fix it."""


class StrategyError(ValueError):
    """A strategy that does not exist or does not fit the model; the message says why."""


class UnknownModelError(ValueError):
    """A model name that is not in the zoo; the message lists the valid names."""


try:
    from fetalbench.api import ApiError
except ImportError:  # the client is optional for training and export
    ApiError = OSError  # type: ignore[misc,assignment]

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    CheckpointError,
    DataError,
    ExportError,
    PretrainedWeightsError,
    StrategyError,
    UnknownModelError,
    ValueError,
    OSError,
    ApiError,
)
