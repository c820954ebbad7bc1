"""FaceDesk service layer: vendors, images, sessions and the audit trail, without Qt."""

import sys
import types

# Stamped from pyproject.toml by packaging/version.py (a test holds them equal): a literal,
# because importlib.metadata costs the window's first paint about 15 ms.
__version__ = "0.1.0"

APP_NAME = "FaceDesk"


def _skip_httpx_command_line() -> None:
    """Keep `import httpx` from importing its command-line tool (click, rich, pygments: ~70 ms).

    httpx's `__init__` does `from ._main import main` whenever click and rich are installed.
    FaceDesk never runs that tool, so a stand-in module answers the import instead.
    """
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    stand_in = types.ModuleType("httpx._main", "Stand-in: FaceDesk does not ship the httpx CLI.")

    def main() -> None:
        raise SystemExit("The httpx command line is not part of FaceDesk.")

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


_skip_httpx_command_line()
