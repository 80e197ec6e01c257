"""The one error family of the pipeline: what went wrong with an ECG, in words a nurse can read.

Every error a user can cause with a file or a recording is an `EcgError`. Its message is
shown as it is on the dashboard, so it says what is wrong and, where it can, what to do,
without jargon, file-system paths or tracebacks. The technical cause (a reader's exception)
is kept as ``__cause__`` for the logs.

`EcgError` subclasses `ValueError` so that code which already guards against bad values
keeps working; catch `EcgError` to catch the whole family.

Families:

- `EcgFormatError`: the file cannot be read (missing, corrupt, cut short, wrong format, unsafe).
- `EcgSignalError`: the file is read, but the signal in it cannot be used (gaps, flat, clipped,
  leads of unequal length, unknown units).
- `EcgRateError`: the sampling rate is missing, implausible or contradictory.
- `EcgTooShortError`: the recording is shorter than the analysis needs.
- `EcgTooLargeError`: the file is larger than the server accepts; refused before reading.
- `EcgLeadError`: a lead asked for by name is not in the recording.
"""

from __future__ import annotations


class EcgError(ValueError):
    """Base of every error about an ECG file or signal; ``str(error)`` is the readable message."""


class EcgFormatError(EcgError):
    """The file is missing, unreadable, corrupt, cut short, unsafe or not an ECG format we read."""


class EcgSignalError(EcgError):
    """The signal was read but cannot be analysed: gaps, flat or clipped leads, unequal leads, units."""


class EcgRateError(EcgError):
    """The sampling rate (samples per second) is missing, outside what we accept, or contradictory."""


class EcgTooShortError(EcgError):
    """The recording is too short to analyse."""


class EcgTooLargeError(EcgError):
    """The file is larger than the configured limit; it is refused before it is read."""

    @classmethod
    def for_size(cls, size_bytes: int, max_bytes: int) -> EcgTooLargeError:
        """The error for a file of ``size_bytes`` against a limit of ``max_bytes`` (both in bytes)."""
        return cls(
            f"The file is too large ({size_bytes / 1e6:,.0f} MB); files up to {max_bytes / 1e6:,.0f} MB "
            "are accepted. Please send a shorter recording."
        )


class EcgLeadError(EcgError):
    """A lead asked for by name is not in the recording."""
