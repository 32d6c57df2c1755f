"""`python -m canvas_sync` runs the command line."""

from canvas_sync.cli import main

main()
