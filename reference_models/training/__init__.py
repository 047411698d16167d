"""Training one model with one fine-tuning strategy: `loop` (`train`, the result and the log),
`strategies` (the papers' strategies as data, `apply_strategy`), `configs` (`cpu_quick`,
`gpu_full`), `data` (truth sets, the split by exam), `preprocessing` (resize, normalisation),
`augment`, `losses` and `checkpoints` (save, load, rebuild a model).

May import `reference_models.errors`, `reference_models.nets` and the evaluator (truth sets,
masks).
"""
