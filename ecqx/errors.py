"""The one base class of every error ecqx reports to a user: bad input, a broken file, a
failing device. The CLI prints these as one line (exit code 2); anything else is a bug and
keeps its traceback."""


class EcqxError(Exception):
    """A problem with the user's input, files or device; the message says what to do."""
