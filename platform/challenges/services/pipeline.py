"""Former home of the scoring pipeline, kept so existing imports keep working.

The code now lives in `challenges.services.states` (the lifecycle: claims, state changes,
the watchdog), `challenges.services.scoring` (scoring masks, storing the evaluation) and
`challenges.services.messages` (what a participant reads). New code imports from those;
nothing in `platform/` imports this module.
"""

from __future__ import annotations

from challenges.services.messages import (
    MAX_PROBLEMS_SHOWN,
    NO_TRUTH_DETAIL,
    describe_invalid,
    redact,
)
from challenges.services.scoring import (
    PROGRESS_MIN_INTERVAL_S,
    PROGRESS_MIN_STEP,
    ProgressReporter,
    ScoringResult,
    run_scoring,
    score_predictions,
    scoring_workers,
)
from challenges.services.states import (
    MAX_ATTEMPTS,
    WORKING,
    Claim,
    ClaimLost,
    as_owner,
    claim,
    claim_runnable,
    fail_safely,
    has_truth,
    owned_rows,
    recover_stuck,
    release,
    set_state,
)

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_PROBLEMS_SHOWN",
    "NO_TRUTH_DETAIL",
    "PROGRESS_MIN_INTERVAL_S",
    "PROGRESS_MIN_STEP",
    "WORKING",
    "Claim",
    "ClaimLost",
    "ProgressReporter",
    "ScoringResult",
    "as_owner",
    "claim",
    "claim_runnable",
    "describe_invalid",
    "fail_safely",
    "has_truth",
    "owned_rows",
    "recover_stuck",
    "redact",
    "release",
    "run_scoring",
    "score_predictions",
    "scoring_workers",
    "set_state",
]
