"""`python -m reference_models ...`: see reference_models.cli."""

import sys

from reference_models.cli import main

sys.exit(main())
