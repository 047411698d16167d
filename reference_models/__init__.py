"""Reference models: U-Net baselines and fine-tuning strategies for fetalbench challenges.

Baselines train, export and submit exactly as a participant would, so every leaderboard has
real entries and fine-tuning strategies can be compared by accuracy against trainable size.
Heavy dependencies (torch, segmentation-models-pytorch) are imported by the submodules that
need them, so `import reference_models` itself stays cheap.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
