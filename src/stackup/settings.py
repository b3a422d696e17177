"""Settings read from the environment (pydantic-settings): NO_COLOR.

(STACKUP_FILE is read by click as the `-f` option's environment variable, so that
`status` never imports this module: pydantic-settings costs ~100 ms to import.)"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # https://no-color.org: any non-empty value turns colour off.
    no_color_env: str = Field(default="", validation_alias="NO_COLOR")

    @property
    def no_color(self) -> bool:
        return bool(self.no_color_env)

    @classmethod
    def from_env(cls) -> Settings:
        return cls()
