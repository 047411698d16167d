"""fetalbench evaluator: exact, fast scoring of fetal-ultrasound segmentations.

Pure Python (NumPy, SciPy, SimpleITK, OpenCV); it never imports Django so that organisers can
run the very same scoring code offline that the platform's workers run.

What lives where, lowest first (a module imports only from rooms listed before it):

- `geometry/`: ellipses (fit, rasterise, perimeter); NumPy and OpenCV only.
- `io/`: reading masks and MetaImage, safe archive unpacking, scratch folders, problems.
- `metrics/`: the functional metrics (segmentation, surface distances, biometry).
- `truth.py`, `tasks.py`, `suggest.py`, `validation.py`, `aggregate.py`: truth sets, task
  specs, matching files to cases, per-site summaries.
- `errors.py`: `InvalidSubmission` and `TruthError`, raised by every scorer.
- `results.py`: the results document, built once (`build_results`) for every scorer.
- `parallel.py`: the process-pool engine, which knows nothing about metrics.
- `scorers/`: the scorer registry and one module per scorer (`standard`, `psfhs2023`,
  `classification`); `tasks.py` imports only `scorers/registry.py`, which loads a scorer on use.
- `metric_spec.py`: `MetricSpec`, a metric with its direction (higher/lower is better, or none
  for a measurement) and its words, read from the scorers' declarations; the one such type,
  shared by tasks, the platform's leaderboards and pages. Imports only `scorers/registry.py`.
- `statistics/`: leaderboard statistics on entries x cases matrices (competition ranks by
  sorting, ranking methods, one-sided Wilcoxon + Holm, bootstrap rank intervals, ties, Kendall's
  tau, per-case ranks; `analysis.analyse_board`); NumPy and SciPy only, no metric knowledge
  beyond the missing-value policy (docs/statistics.md).
- `scoring.py`: the public API (`validate_submission`, `score_submission`).
- `importers/`: turning public releases into truth sets; `cli.py`: `fetalbench-eval`.
"""

__version__ = "0.1.0"
