"""Importers that turn public releases (HC18, PSFHS) into truth sets (`evaluator.truth`).

May import: `evaluator.geometry`, `evaluator.io`, `evaluator.truth` and its own modules.
"""
