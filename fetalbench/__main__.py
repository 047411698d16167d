import sys

from fetalbench.cli import main

sys.exit(main())
