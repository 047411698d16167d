"""Reference models: U-Net baselines and fine-tuning strategies for fetalbench challenges.

Baselines train, export and submit exactly as a participant would, so every leaderboard has
real entries and fine-tuning strategies can be compared by accuracy against trainable size.

Four wings and a ground floor; each imports only from the rooms listed before it, never
upwards (a test fails on any import cycle):

- `errors`: every error a user can cause (`ExportError`, `CheckpointError`, `DataError`,
  `StrategyError`, `UnknownModelError`, `PretrainedWeightsError`) and `EXPECTED_ERRORS`,
  which the CLI prints as one line. Imports nothing of this package.
- `nets/`: the networks: `zoo` (the registry, `build_model`, `count_parameters`),
  `plain_unet`, `pretrained` (ImageNet MobileNetV2 weights). May import `errors`.
- `training/`: `loop` (`train`), `strategies`, `configs`, `data` (truth sets, exam split),
  `preprocessing`, `augment`, `losses`, `checkpoints`. May import `errors`, `nets`.
- `export/`: `model_file` (`export_model`: `.pt2`, ONNX, TorchScript and their zips),
  `platform_spec` (the platform's own spec parser and pixel functions), `formats`, `predict`
  (runs an exported file through the platform's pixel pipeline), `container` + `wheels` +
  `container_context/` (`--container`). May import `errors`, `nets`, `training`, and the
  platform's `sandbox` spec and pixels.
- `experiments/`: `sweep` (`reproduce`), `evaluation`, `submit` (to a phase, through the
  client), `paper`, `relabel`. May import everything above and the client `fetalbench.api`.
- `cli` (`python -m reference_models`): sits on top of everything.

The wings' `__init__` modules are docstrings only and heavy dependencies (torch,
segmentation-models-pytorch) are imported by the modules that need them, so `import
reference_models` and the light modules (`errors`, `training.configs`, `export.formats`)
stay cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
