"""canvas-sync: keeps a Canvas course's reading-summary grades true to its syllabus."""

__version__ = "0.1.0"
__all__ = ["__version__"]
