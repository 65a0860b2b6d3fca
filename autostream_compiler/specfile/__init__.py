"""Spec v1: models and the loader that reports every error with its place."""

from autostream_compiler.specfile.loader import load_spec
from autostream_compiler.specfile.models import Spec

__all__ = ["Spec", "load_spec"]
