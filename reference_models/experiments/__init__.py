"""Experiments over trained models: `sweep` (every strategy on one split: `reproduce`),
`evaluation` (held-out scoring with the evaluator's metrics), `submit` (to a challenge phase
through the public API), `paper` (the papers' stated findings) and `relabel` (one-class truth
sets for cross-site runs).

May import every other wing, the evaluator and the client `fetalbench.api`.
"""
