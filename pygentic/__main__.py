"""``python -m pygentic``: the same as the ``pygentic`` command."""

from pygentic.cli import main

raise SystemExit(main())
