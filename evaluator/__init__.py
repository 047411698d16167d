"""fetalbench evaluator: exact, fast scoring of fetal-ultrasound segmentations.

Pure Python (NumPy, SciPy, SimpleITK, OpenCV); it never imports Django so that organisers can
run the very same scoring code offline that the platform's workers run.
"""

__version__ = "0.1.0"
