"""A test keyring backend kept in a JSON file: a persistent keyring for CLI subprocess tests.

Select it with PYTHON_KEYRING_BACKEND=tests.file_keyring.FileKeyring and FACEDESK_TEST_KEYRING
set to the file. Never used outside tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.file = Path(os.environ.get("FACEDESK_TEST_KEYRING", "test-keyring.json"))

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self.file.read_text())
        except FileNotFoundError:
            return {}
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        values = self._load()
        values[f"{service}/{username}"] = password
        self.file.write_text(json.dumps(values))

    def delete_password(self, service: str, username: str) -> None:
        values = self._load()
        values.pop(f"{service}/{username}", None)
        self.file.write_text(json.dumps(values))
