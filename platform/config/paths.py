"""Put the repository root and `platform/` on sys.path for entry points outside manage.py.

Celery and gunicorn import `config` directly; they need the same path layout as manage.py.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for entry in (ROOT, ROOT / "platform"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))
