"""Settings read from the environment (pydantic-settings): STACKUP_FILE, NO_COLOR."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    file: Path = Field(default=Path("stack.yaml"), validation_alias="STACKUP_FILE")
    # https://no-color.org: any non-empty value turns colour off.
    no_color_env: str = Field(default="", validation_alias="NO_COLOR")

    @property
    def no_color(self) -> bool:
        return bool(self.no_color_env)

    @classmethod
    def from_env(cls) -> Settings:
        return cls()
