"""autostream: a declarative, spec-driven video compiler."""

__version__ = "0.1.0"
