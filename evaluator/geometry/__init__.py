"""Ellipse geometry (fit, rasterise, Ramanujan perimeter) shared by metrics, io and importers.

May import: nothing of the evaluator (NumPy and OpenCV only).
"""
