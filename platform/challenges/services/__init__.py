"""Domain operations shared by the admin, the API, the web pages and the Celery tasks.

What lives where (the submission lifecycle, lowest first; each module imports only the ones
above it, all at the top of the file):

* `messages` - the text a participant reads: `participant_text` (readable, private, storable),
  `describe_invalid`, `NO_TRUTH_DETAIL`. Imports nothing of the project but settings.
* `dispatch` - `queue_scoring`: sends a submission's Celery task by its registered name on
  commit. Imports the models only.
* `states` - the one owner of a submission's state: `claim`, `claim_runnable` (the preamble of
  every run), `set_state`/`fail` (with `Submission.FailureCode`), `release`, the watchdog
  `recover_stuck`, and the ownership of a run by attempt (`Claim`, `ClaimLost`, `as_owner`,
  `fail_safely`, `owned_rows`).
* `scoring` - `run_scoring`, `score_predictions` (returns a `ScoringResult`), progress,
  storing the evaluation.
* `inference` - running a model or container, then `scoring.score_predictions` on its output.
* `submissions`, `truth`, `teams`, `quota`, `scores`, `truth_status`, `run_log` - intake,
  truth sets, teams and what pages show (a model-file zip is checked by
  `sandbox.model_files.bundle`).

Rules: no service imports `challenges.tasks` (tasks import services, and services queue
tasks by name through `dispatch`); code matches a failure on `Submission.failure_code`, never
on the prose of `status_detail`.
"""
