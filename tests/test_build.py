"""The build produced the native module and the package imports."""
import plait
from plait import _native


def test_native_module_is_built() -> None:
    assert _native.__version__ == "0.1.0"


def test_package_version() -> None:
    assert plait.__version__.startswith("0.1.0")
