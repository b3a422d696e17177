"""config.yamlsource: libyaml's loader (fast) and PyYAML's (the error texts) agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackup.config import yamlsource
from stackup.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted([ROOT / "stack.yaml", *ROOT.glob("examples/*/stack.yaml")])


@pytest.mark.skipif(yamlsource.FAST_LOADER is None, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", STACKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_loaders_give_the_same_data_and_key_lines(path: Path) -> None:
    text = path.read_text()
    fast = yamlsource._compose(path, yamlsource.FAST_LOADER(text))
    slow = yamlsource._compose(path, yaml.SafeLoader(text))
    assert (fast.data, fast.lines) == (slow.data, slow.lines)
    assert fast.lines  # key lines were indexed at all


def test_a_file_libyaml_rejects_is_reported_in_pyyaml_words(tmp_path: Path) -> None:
    bad = tmp_path / "stack.yaml"
    bad.write_text("services:\n  api: {command: x\n")  # an unclosed flow mapping
    with pytest.raises(ConfigError) as err:
        yamlsource.read_source(bad)
    with pytest.raises(yaml.MarkedYAMLError) as pyyaml:
        yaml.SafeLoader(bad.read_text()).get_single_node()
    assert pyyaml.value.problem in str(err.value)
