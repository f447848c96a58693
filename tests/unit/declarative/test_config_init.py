"""`kongpy config init [FILE]` (Kong's `kong config init`): an example file
that `config parse` accepts, `kong.yml` by default, never overwritten."""
import re

from click.testing import CliRunner

from kongpy.cli import main


def _uncommented(text: str) -> str:
    """The example with its commented entities turned on."""
    lines = []
    for line in text.splitlines():
        if re.match(r"^# (-|  )", line):
            lines.append(line[2:])
        elif re.match(r"^\w+: \[\]$", line) and line.split(":")[0] in (
                "services", "consumers", "plugins", "upstreams"):
            lines.append(line[:-3])
        elif not line.startswith("#"):
            lines.append(line)
    return "\n".join(lines) + "\n"


def test_init_writes_kong_yml_that_parses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = tmp_path / "kongpy.conf"
    conf.write_text(f"prefix = {tmp_path / 'p'}\n")
    runner = CliRunner()
    created = runner.invoke(main, ["config", "init"])
    assert (created.exit_code, created.output) == (0, "")
    parsed = runner.invoke(main, ["config", "parse", "kong.yml", "-c", str(conf)])
    assert (parsed.exit_code, parsed.output) == (0, "parse successful\n")
    full = tmp_path / "full.yml"
    full.write_text(_uncommented((tmp_path / "kong.yml").read_text()))
    parsed = runner.invoke(main, ["config", "parse", str(full), "-c", str(conf)])
    assert (parsed.exit_code, parsed.output) == (0, "parse successful\n")
    again = runner.invoke(main, ["config", "init"])
    assert again.exit_code == 1
    assert again.output == (f"Error: {tmp_path / 'kong.yml'} already exists.\n"
                            "Will not overwrite it.\n")


def test_init_takes_a_file_name(tmp_path):
    target = tmp_path / "mine.yml"
    result = CliRunner().invoke(main, ["config", "init", str(target)])
    assert result.exit_code == 0
    assert target.read_text().count('_format_version: "3.0"') == 1
