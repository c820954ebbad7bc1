"""Where FaceDesk keeps its files: platformdirs, overridable for tests and demos."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_DIR_NAME = "facedesk"


@dataclass(frozen=True, slots=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "facedesk.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "facedesk.log"

    def ensure(self) -> AppPaths:
        for folder in (self.config_dir, self.data_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def default_paths() -> AppPaths:
    """`FACEDESK_CONFIG_DIR`, `FACEDESK_DATA_DIR`, `FACEDESK_LOG_DIR` override the defaults."""
    data_override = os.environ.get("FACEDESK_DATA_DIR")
    data_dir = Path(data_override) if data_override else platformdirs.user_data_path(APP_DIR_NAME)
    log_override = os.environ.get("FACEDESK_LOG_DIR")
    if log_override:
        log_dir = Path(log_override)
    elif data_override:
        log_dir = Path(data_override) / "logs"
    else:
        log_dir = platformdirs.user_log_path(APP_DIR_NAME)
    config_override = os.environ.get("FACEDESK_CONFIG_DIR")
    config_dir = (
        Path(config_override) if config_override else platformdirs.user_config_path(APP_DIR_NAME)
    )
    return AppPaths(config_dir=config_dir, data_dir=data_dir, log_dir=log_dir)
