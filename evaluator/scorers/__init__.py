"""Scorers: one module per way of turning a submission into a results document.

`registry.py` is the only module here that `evaluator.tasks` imports: it names every scorer
by dotted path and loads a scorer's module the first time it is asked for, so that parsing a
task never pays for OpenCV or SimpleITK it does not use. Each scorer module holds everything
about its scorer (metrics with directions, metric paths, task checks, `validate`, `score`):
adding a scorer or a metric touches one module plus one line in the registry.

- `registry.py`: the `Scorer` base class, the `TaskSpec` it reads tasks through, `SCORERS`.
- `standard.py`: per-class segmentation metrics and biometry; also runs the case-by-case
  segmentation pipeline that `psfhs2023` reuses.
- `psfhs2023.py`: the MICCAI 2023 PSFHS challenge's own formulas.
- `classification.py`: a CSV of class probabilities.

Scorers may import `evaluator.io`, `metrics`, `truth`, `validation`, `aggregate`, `errors`,
`results` and `parallel`, never `evaluator.tasks` or `evaluator.scoring` (they import this).
"""
