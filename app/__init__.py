"""FaceDesk service layer: vendors, images, sessions and the audit trail, without Qt."""

from importlib import metadata

try:
    __version__ = metadata.version("facedesk")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

APP_NAME = "FaceDesk"
