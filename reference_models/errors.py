"""The errors a user can cause (and fix); the CLI prints these as one line, not a trace."""

from __future__ import annotations

from reference_models.checkpoints import CheckpointError
from reference_models.data import DataError
from reference_models.export import ExportError
from reference_models.pretrained import PretrainedWeightsError
from reference_models.strategies import StrategyError
from reference_models.zoo import UnknownModelError

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
