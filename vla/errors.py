"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class UserError(ValueError):
    """Bad input from a user, a file or a peer: the message says what was wrong and what is valid."""
