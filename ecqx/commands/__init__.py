"""One module per ``ecqx`` command, each with ``add_arguments(parser)`` and ``run(args) -> exit
code``; ``ecqx/cli.py`` only assembles them. Heavy libraries are imported inside ``run`` so
that ``--help`` answers at once."""
