"""plait: an asyncio networking toolkit and application server with native cores."""
from plait.core.loop import run
from plait.epsilon.version import version

__version__ = version.short()
__all__ = ["__version__", "run", "version"]
