"""Settings are the only reader of FIELDCHECK_* variables, and process-wide switches follow them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from backend import cli
from backend.app import create_app
from backend.settings import Settings


def test_log_level_comes_from_the_environment_through_settings() -> None:
    assert Settings.from_env({}).log_level == "INFO"
    assert Settings.from_env({"FIELDCHECK_LOG_LEVEL": "debug"}).log_level == "debug"
    with pytest.raises(ValueError, match="log_level"):
        Settings.from_env({"FIELDCHECK_LOG_LEVEL": "chatty"})


def test_cli_configures_logging_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDCHECK_LOG_LEVEL", "warning")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: seen.update(kwargs))

    def command(settings: Settings, _args: argparse.Namespace) -> int:
        seen["settings"] = settings
        return 0

    class Parser:
        def parse_args(self, _argv: list[str] | None) -> argparse.Namespace:
            return argparse.Namespace(func=command)

    monkeypatch.setattr(cli, "build_parser", Parser)
    assert cli.main([]) == 0
    assert seen["level"] == "WARNING"
    assert seen["settings"].log_level == "warning"


def test_app_start_sets_pillows_pixel_limit_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Process-wide: put the previous value back whatever happens.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    create_app(Settings(data_dir=str(tmp_path), max_image_pixels=12_345_678, audit_sequencer=False))
    assert Image.MAX_IMAGE_PIXELS == 12_345_678
