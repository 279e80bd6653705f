"""Times with a resolution, parsed from and written as ISO 8601, RFC 2822, HTTP dates and
the way people write them (Divmod Epsilon's ``extime``, for today's Python)."""
from ._time import UTC, Precision, Time

__all__ = ["UTC", "Precision", "Time"]
