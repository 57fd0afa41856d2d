"""Errors that services raise and the web layer turns into 4xx responses."""


class OutOfScope(LookupError):
    """The thing does not exist, or the user may not see it. Both become a plain 404,
    so ids in URLs cannot be used to learn what other organisations hold."""


class Forbidden(PermissionError):
    """The user can see the thing but may not do this to it (403)."""


class InvalidInput(ValueError):
    """A value a person typed is not acceptable; the message is shown to them."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
