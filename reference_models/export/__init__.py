"""From a checkpoint to what the platform takes: `model_file` (`export_model`: `.pt2`, ONNX,
TorchScript and their submission zips), `platform_spec` (the `model.json` spec, built with the
platform's own parser), `formats` (file names), `predict` (runs an exported file offline), and
`container` + `wheels` + `container_context/` (a model-container build context).

May import `reference_models.errors`, `reference_models.nets`, `reference_models.training`
and the platform's `sandbox` spec parser; never `experiments` or the CLI.
"""
