"""Command line: argument parsing and wiring of the stages; no logic of its own."""

from ftbench.cli.app import main

__all__ = ["main"]
