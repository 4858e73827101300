"""``python -m nnpde``: see :mod:`nnpde.cli`."""

import sys

from nnpde.cli import main

sys.exit(main())
