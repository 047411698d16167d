"""The networks: `zoo` (the model registry: `MODELS`, `build_model`, `count_parameters`,
`model_info`), `plain_unet` (the Ronneberger U-Net) and `pretrained` (ImageNet MobileNetV2
encoder weights, checked by sha256).

May import `reference_models.errors` only (and torch, segmentation-models-pytorch, and the
evaluator's `results.sha256_file`, the project's one file hash).
"""
