"""The error every rejected input ends in: Lambda reports the class name; the state machine routes on it."""


class InvalidInputError(ValueError):
    """The execution input or a function's event (or a value it names, such as an unknown country) is not
    acceptable."""


class InvalidStackParameterError(ValueError):
    """The stack's own defaults break the input's rules (a template parameter set wrong). Every execution
    relying on them fails, a scheduled one too, so the failure path notifies (unlike an input's typo)."""
