"""The error every rejected input ends in: Lambda reports the class name; the state machine routes on it."""


class InvalidInputError(ValueError):
    """The execution input or a function's event (or a value it names, such as an unknown country) is not
    acceptable."""
