"""The CLI is built from the flow signatures: every default is the flow's own, in one place."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from movie_ratings import cli

FLOW_COMMANDS = sorted(cli.FLOW_COMMANDS)


@pytest.mark.parametrize("command", FLOW_COMMANDS)
def test_every_cli_default_is_the_flow_signature_default(command: str) -> None:
    flow = cli.load_flow(command)
    signature = inspect.signature(flow.fn)
    app = cli.build_app()
    arguments = app[command].assemble_argument_collection(parse_docstring=True)
    options = {a.field_info.name: a for a in arguments}
    # One option per flow parameter, with the flow's default and its docstring's help.
    assert set(options) == set(signature.parameters)
    for name, parameter in signature.parameters.items():
        assert options[name].field_info.default == parameter.default, name
        assert options[name].parameter.help, f"{command} --{name} has no help from the docstring"
    # With no options, the command calls the flow with nothing: the flow's defaults apply.
    function, bound, _ = app.parse_args([command])
    assert function is flow and bound.arguments == {}


def test_options_reach_the_flow_as_its_parameters() -> None:
    function, bound, _ = cli.build_app().parse_args(
        ["train", "--test-size", "0.3", "--seed", "7", "--candidates", "ridge,svr", "--force"])
    assert function is cli.load_flow("train")
    arguments = dict(bound.arguments)
    cli._check_flow_arguments("train", arguments)
    assert arguments == {"test_size": 0.3, "seed": 7, "candidates": ["ridge", "svr"], "force": True}
    function, bound, _ = cli.build_app().parse_args(["infer", "--recent-days", "14", "--as-of", "2026-05-01"])
    assert bound.arguments["recent_days"] == 14 and str(bound.arguments["as_of"]) == "2026-05-01"


def test_the_help_of_a_flow_command_is_the_summary_and_the_flow_docstring(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["infer", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "predict upcoming films with the production model; build the site" in out
    assert "Predict upcoming and newly released films with the production model" in out
    assert "films released this many days back are still predicted" in out
    assert "[default: 28]" in out


def test_the_command_list_keeps_every_command_and_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for command, (_, summary) in cli.FLOW_COMMANDS.items():
        assert f"{command} {summary}" in out
    for command in ("predict", "status", "doctor", "site"):
        assert f" {command} " in out


def test_a_bad_option_value_exits_2_with_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--nope"]) == 2
    assert "--nope" in "".join(capsys.readouterr())
    assert cli.main(["predict", "--input", "a.csv", "--output", "b.csv", "--as-of", "2026-13-01"]) == 2
    assert 'Invalid value for --as-of: unable to convert "2026-13-01" into date' in "".join(capsys.readouterr())


def test_the_command_list_imports_no_flow_and_no_prefect() -> None:
    code = ("import sys; from movie_ratings.cli import main; main(['--help']); "
            "assert not [m for m in sys.modules if m == 'prefect' or m.startswith('flows')], 'imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
