"""The installed package's version, from its metadata (pyproject.toml is the one place it is written)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vpcsim")
except PackageNotFoundError:  # pragma: no cover - a source tree that was not installed
    __version__ = "0.0.0+unknown"
