"""packaging/: every file carries pyproject's version, and the icon set is complete."""

from __future__ import annotations

import configparser
import importlib.util
import plistlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


version_tool = _load("version")
VERSION = version_tool.read_version()


def test_stamped_files_carry_the_pyproject_version() -> None:
    assert version_tool.stale_files(VERSION) == {}
    assert version_tool.main(["--check"]) == 0
    import app

    assert app.__version__ == VERSION


def test_stamping_a_new_version_touches_every_file(tmp_path: Path) -> None:
    stale = version_tool.stale_files("9.8.7rc1")
    names = {p.name for p in stale}
    assert names == {"__init__.py", "facedesk.metainfo.xml", "facedesk.iss", "Info.plist"}
    assert '__version__ = "9.8.7rc1"' in stale[ROOT / "app" / "__init__.py"]
    plist = plistlib.loads(stale[PACKAGING / "macos" / "Info.plist"].encode())
    assert plist["CFBundleShortVersionString"] == "9.8.7"  # macOS wants numbers only
    assert '#define AppVersion "9.8.7rc1"' in stale[PACKAGING / "windows" / "facedesk.iss"]
    metainfo = ET.fromstring(stale[PACKAGING / "linux" / "facedesk.metainfo.xml"])
    releases = metainfo.findall("./releases/release")
    assert [r.get("version") for r in releases[:2]] == ["9.8.7rc1", VERSION]


def test_linux_desktop_entry_and_metainfo_agree() -> None:
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # type: ignore[assignment,method-assign]
    desktop.read(PACKAGING / "linux" / "facedesk.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "facedesk"
    assert entry["Icon"] == "facedesk"
    assert entry["Categories"].endswith(";")
    metainfo = ET.parse(PACKAGING / "linux" / "facedesk.metainfo.xml").getroot()
    assert metainfo.findtext("launchable") == "facedesk.desktop"
    assert metainfo.findtext("./provides/binary") == "facedesk"
    assert metainfo.find("./releases/release").get("version") == VERSION  # type: ignore[union-attr]


def test_macos_plists_are_valid() -> None:
    info = plistlib.loads((PACKAGING / "macos" / "Info.plist").read_bytes())
    assert info["CFBundleExecutable"] == "facedesk"
    assert info["CFBundleIconFile"] == "facedesk.icns"
    assert info["CFBundleShortVersionString"] == version_tool.numeric_version(VERSION)
    entitlements = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert all(value is True for value in entitlements.values())


def test_inno_setup_script_points_at_the_bundle_and_icon() -> None:
    text = (PACKAGING / "windows" / "facedesk.iss").read_text(encoding="utf-8")
    assert f'#define AppVersion "{VERSION}"' in text
    assert r"dist\facedesk\*" in text
    assert r"resources\icons\facedesk.ico" in text
    assert (ICONS / "facedesk.ico").is_file()


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_icons_exist_at_every_size(size: int) -> None:
    with Image.open(ICONS / f"facedesk-{size}.png") as image:
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0  # transparent corner: the tile is rounded


def test_ico_and_icns_hold_the_platform_sizes() -> None:
    with Image.open(ICONS / "facedesk.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS / "facedesk.icns") as icns:
        assert icns.size == (1024, 1024)
    assert _load("make_icons").main(["--check"]) == 0
