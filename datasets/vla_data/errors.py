"""The one error type of `vla_data`: bad datasets, bad frames, bad arguments."""

from __future__ import annotations

try:  # the project-wide base class, so the CLI prints one line and exits 2
    from vla.errors import UserError as _Base
except ImportError:  # pragma: no cover - vla_data used on its own
    _Base = ValueError  # type: ignore[misc,assignment]


class DatasetError(_Base):
    """A dataset that cannot be read or written as asked; the message names the file or key."""
