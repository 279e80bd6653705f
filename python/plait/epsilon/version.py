"""Versions that know their git revision when run from a checkout."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Version:
    """A release number (``major.minor.micro``, optional release candidate) of one package."""

    package: str
    major: int
    minor: int
    micro: int
    release_candidate: int | None = None

    def base(self) -> str:
        """``1.2.3`` or ``1.2.3rc1``."""
        text = f"{self.major}.{self.minor}.{self.micro}"
        if self.release_candidate is not None:
            text += f"rc{self.release_candidate}"
        return text

    @cached_property
    def git_revision(self) -> str | None:
        """The commit this code runs from, when it runs from a git checkout; else None."""
        here = Path(__file__).resolve().parent
        try:
            out = subprocess.run(
                ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                capture_output=True, text=True, timeout=5, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        revision = out.stdout.strip()
        return revision if out.returncode == 0 and revision else None

    def short(self) -> str:
        """The release number, with ``+g<revision>`` appended when run from a checkout."""
        revision = self.git_revision
        return f"{self.base()}+g{revision}" if revision else self.base()

    def __str__(self) -> str:
        return f"[{self.package}, version {self.short()}]"

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def _key(self) -> tuple[int, int, int, float]:
        rc = float("inf") if self.release_candidate is None else self.release_candidate
        return (self.major, self.minor, self.micro, rc)


version = Version("plait", 0, 1, 0)
