"""Running a model or container submission on the phase's test images (the `inference` queue).

queued -> running inference -> (validating -> scoring -> done) | failed. The runner only ever
gets a fresh folder of the phase's test *images* plus inputs.json (`sandbox.inputs.prepare_input`);
labels stay in the truth set, which only `score_predictions` reads afterwards. The run's
summary (status, message, log tail, wall time, measured counts) is kept on the submission;
every temporary folder is removed whatever happens.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import traceback
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from sandbox.backends import backend_for
from sandbox.inputs import OUTPUT_SUFFIXES, Case, prepare_input
from sandbox.limits import RunLimits
from sandbox.model_files.bundle import BundleError
from sandbox.outcome import BackendUnavailable, Outcome

from challenges.models import Phase, Submission, truth_dir
from challenges.services.messages import participant_text, redact
from challenges.services.run_log import kept_log, shown_log
from challenges.services.scoring import score_predictions
from challenges.services.states import (
    ClaimLost,
    Failure,
    claim_runnable,
    fail,
    owned_rows,
    set_state,
)
from evaluator.results import json_safe
from evaluator.truth import TruthSet

log = logging.getLogger(__name__)

OUTCOME_WORDS = {
    "timeout": "ran past its time limit",
    "oom": "ran out of memory",
    "crashed": "failed",
    "output_too_large": "wrote more output than allowed",
    "rejected": "was rejected",
}


class InferenceUnavailable(Exception):
    """The phase or worker cannot run models (not the participant's fault); message says why."""


def run_inference(submission_id: int, resume_attempt: int | None = None) -> str:
    """Run one model/container submission and score its output; returns the final status
    ('superseded' when another run took the submission over meanwhile)."""
    return claim_runnable(
        submission_id,
        Submission.Status.INFERRING,
        Submission.RUN_KINDS,
        _run_and_score,
        resume_attempt=resume_attempt,
        wrong_kind="are not run by the inference worker",
    )


def _run_and_score(submission: Submission) -> str:
    submission_id = submission.pk
    scratch = Path(settings.INFERENCE_SCRATCH)
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"submission-{submission_id}-", dir=scratch))
    try:
        try:
            input_dir = prepare_test_input(submission.phase, work / "input")
            outcome = _run(submission, input_dir, work / "output")
        except BundleError as exc:
            return fail(submission_id, Failure.BAD_BUNDLE, f"Model submission: {exc}")
        except InferenceUnavailable as exc:
            return fail(submission_id, Failure.UNAVAILABLE, str(exc))
        except ClaimLost:
            raise
        except Exception as exc:  # noqa: BLE001 - a worker must record every failure
            log.error(
                "Inference for submission %s crashed: %s",
                submission_id,
                redact("".join(traceback.format_exception(exc))),
            )
            return fail(
                submission_id,
                Failure.INTERNAL_ERROR,
                f"Running the submission failed with an internal error ({type(exc).__name__}); "
                "the organisers can see the worker log and rerun it.",
            )
        _record_outcome(submission, outcome)
        if not outcome.ok:
            return fail(submission_id, Failure.INFERENCE_FAILED, describe_outcome(outcome))
        set_state(submission_id, Submission.Status.VALIDATING, "Inference finished; scoring.")
        result = score_predictions(
            submission,
            work / "output",
            explain_invalid=lambda report: explain_invalid_output(report, outcome),
        )
        return result.status
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prepare_test_input(phase: Phase, dest: Path) -> Path:
    """The runner's /input: the phase's test images and inputs.json, never a label."""
    truth = TruthSet.load(truth_dir(phase.pk))
    missing = [c.case for c in truth.cases if c.image_path is None]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise InferenceUnavailable(
            f"The test set of this phase has no images for {len(missing)} case(s) ({shown}), "
            "so models cannot be run on it; ask the organisers to load the images."
        )
    return prepare_input(
        (Case(c.case, Path(c.image_path), (c.spacing[1], c.spacing[0])) for c in truth.cases),
        dest,
    )


#: Which sandbox backend (`sandbox.backends`) runs which kind of submission.
BACKEND_FOR_KIND = {Submission.Kind.CONTAINER: "container", Submission.Kind.MODEL: "model_file"}


def _run(submission: Submission, input_dir: Path, output_dir: Path) -> Outcome:
    backend = backend_for(BACKEND_FOR_KIND[submission.kind])
    limits = RunLimits(
        wall_seconds=float(submission.phase.inference_seconds or settings.INFERENCE_SECONDS),
        memory_bytes=settings.INFERENCE_MEMORY_BYTES,
        cpus=settings.INFERENCE_CPUS,
        pids=settings.INFERENCE_PIDS,
        output_bytes=settings.INFERENCE_OUTPUT_BYTES,
        gpu=settings.INFERENCE_GPU,
    )
    try:
        return backend.run(
            Path(submission.file.path),
            input_dir,
            output_dir,
            limits,
            run_id=f"s{submission.pk}-{uuid.uuid4().hex[:8]}",
        )
    except BackendUnavailable as exc:
        raise InferenceUnavailable(str(exc)) from exc


def _record_outcome(submission: Submission, outcome: Outcome) -> None:
    """Keep the run's summary; model files also get their measured size and speed."""
    details = {k: v for k, v in outcome.details.items() if k != "image" or isinstance(v, dict)}
    summary = {
        "status": str(outcome.status),
        "message": participant_text(outcome.message),
        **kept_log(list(outcome.log_tail), list(getattr(outcome, "log_streams", []))),
        "wall_seconds": round(outcome.wall_seconds, 3),
        "exit_code": outcome.exit_code,
        "details": json_safe(details, text=participant_text),  # jsonb refuses NUL like text
    }
    fields: dict[str, Any] = {"inference": summary}
    if submission.kind == Submission.Kind.MODEL and outcome.details.get("parameters") is not None:
        fields.update(
            params_total=int(outcome.details["parameters"]),
            params_source=Submission.ParamsSource.MEASURED,
            flops=outcome.details.get("flops"),
            latency_ms=outcome.details.get("median_latency_ms"),
        )
        trainable = submission.params_trainable
        if trainable is not None and trainable > fields["params_total"]:
            fields["params_trainable"] = None  # a declared part larger than the measured whole
    if not owned_rows(submission.pk).update(**fields):
        raise ClaimLost(submission.pk)
    for name, value in fields.items():
        setattr(submission, name, value)


def explain_invalid_output(report: str, outcome: Outcome) -> str:
    """A model that ran fine but wrote unusable files: the bare validation report ("no
    prediction for case X") does not tell a container author that it is about /output and
    its file names, nor why nothing was written; add both (the rule and the log tail).
    Only for an invalid output: `score_predictions` calls it, and an internal scoring error
    keeps its own message."""
    lines = [
        "The model ran to the end, but what it wrote to /output is not a valid submission "
        f"(one label map per case, named <case_id>{OUTPUT_SUFFIXES[0]} or "
        f"{' or '.join(OUTPUT_SUFFIXES[1:])}).",
        report,
    ]
    tail = [redact(line) for line in _shown(outcome)]
    if tail:
        lines.append(f"Last {len(tail)} line(s) of its log:")
        lines += tail
    return "\n".join(lines)


def describe_outcome(outcome: Outcome) -> str:
    """What the participant reads: what happened, why, and the end of the model's log."""
    what = OUTCOME_WORDS.get(str(outcome.status), "failed")
    message = redact(outcome.message.strip()) or "no further detail."
    if message.lower().startswith(f"the model {what}"):
        # The runner already said it in full ("the model ran out of memory (limit 64 MiB)").
        lines = [message[0].upper() + message[1:]]
    else:
        lines = [f"The model {what}: {message}"]
    tail = [redact(line) for line in _shown(outcome)]
    if tail:
        lines.append(f"Last {len(tail)} line(s) of its log:")
        lines += tail
    return "\n".join(lines)


def _shown(outcome: Outcome) -> list[str]:
    """The log lines a message quotes: the last ones, the last stderr lines always included."""
    return shown_log(list(outcome.log_tail), list(getattr(outcome, "log_streams", [])))

