"""``python -m pinnlab``: the ``pinnlab`` command."""

from .cli import main

main()
