"""The one error every agent tool raises when it refuses its input (kept apart so tool modules share it)."""


class ToolError(ValueError):
    """A tool refused its input (the message says what and why)."""
