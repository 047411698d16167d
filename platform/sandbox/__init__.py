"""Sandbox for participants' models: validate, load and run untrusted containers and ONNX files.

Plain Python (no Django): the Celery task `challenges.tasks.run_inference` calls into it on the
`inference` queue. The runner only ever receives a folder of test images plus `inputs.json`
(built by `sandbox.inputs.prepare_input`); hidden labels are never given to it.
"""

from sandbox.limits import SandboxLimits
from sandbox.outcome import Outcome, Status

__all__ = ["Outcome", "SandboxLimits", "Status"]
