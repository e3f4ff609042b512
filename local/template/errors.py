"""The one error the template reader raises."""

from __future__ import annotations

__all__ = ["TemplateError"]


class TemplateError(ValueError):
    """The template cannot be read or resolved for the local stack."""
