"""The manhole: evaluation, multi-line statements, errors, colours on the screen (native
buffer cells), output limits, and the tokenize-based highlighter."""
from __future__ import annotations

from conch.apps.screen import Term
from plait.conch.apps import manhole as manhole_module
from plait.conch.apps.manhole import (
    COMMENT,
    KEYWORD,
    NUMBER,
    STRING,
    Manhole,
    highlight_python,
)
from plait.conch.insults.terminal import BLUE, CYAN, MAGENTA, RED


def term(**namespace: object) -> Term:
    return Term(Manhole, dict(namespace), width=60, height=12)


def test_evaluates_with_the_servers_objects() -> None:
    t = term(server_thing={"answer": 41})
    t.send("server_thing['answer'] + 1\r")
    assert "42" in t.lines()
    t.send("_ * 2\r")
    assert "84" in t.lines()


def test_multi_line_statement_and_prompts() -> None:
    t = term()
    t.send("def f(x):\r")
    assert t.lines()[-1].startswith("...") or "..." in t.text()
    t.send("    return x * 3\r\r")
    t.send("print(f(5))\r")
    lines = t.lines()
    assert "15" in lines
    assert any(line.startswith("...     return x * 3") for line in lines)


def test_errors_are_shown_in_red_and_the_repl_goes_on() -> None:
    t = term()
    t.send("1/0\r")
    text = t.text()
    assert "ZeroDivisionError: division by zero" in text
    row = text.split("\n").index("ZeroDivisionError: division by zero")
    assert t.buffer.cell(0, row).fg == RED
    t.send("(\r)\r")                    # an unfinished bracket continues, then closes
    t.send("def\r")
    assert "SyntaxError" in t.text()
    t.send("raise SystemExit\r")
    assert "SystemExit ignored" in t.text()
    t.send("7 * 6\r")
    assert "42" in t.lines()


def test_input_and_results_are_coloured() -> None:
    t = term()
    t.send("if 1: 'x'  # c")
    row = t.buffer.cursor[1]
    assert t.buffer.cell(4, row).fg == BLUE and t.buffer.cell(4, row).bold   # if
    assert t.buffer.cell(7, row).fg == CYAN                                   # 1
    assert t.buffer.cell(10, row).fg == MAGENTA                               # 'x'
    assert t.buffer.cell(15, row).fg == 2                                     # comment
    t.send("\r\r")
    t.send("[1, 'a']\r")
    lines = t.lines()
    row = lines.index("[1, 'a']")
    assert t.buffer.cell(1, row).fg == CYAN and t.buffer.cell(4, row).fg == MAGENTA


def test_ctrl_c_drops_the_statement() -> None:
    t = term()
    t.send("for i in range(3):\r")
    t.send("\x03")
    assert "KeyboardInterrupt" in t.text()
    assert t.app.buffer == [] and t.app.prompt == ">>> "


def test_output_is_cut_at_the_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(manhole_module, "MAX_OUTPUT", 50)
    t = term()
    t.send("print('y' * 500)\r")
    assert "[output cut at 50 characters]" in t.text()
    assert "y" * 51 not in t.text().replace("\n", "")


def test_source_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(manhole_module, "MAX_SOURCE", 30)
    t = term()
    t.send("if True:\r")
    t.send("    x = '" + "z" * 40 + "'\r")
    assert "statement longer than 30 characters: dropped" in t.text()
    assert t.app.prompt == ">>> "


def test_ctrl_d_ends_the_session() -> None:
    t = term()
    t.send(b"\x04")
    assert t.wire.closed


def test_highlight_python_spans() -> None:
    spans = highlight_python("for x in 'ab': pass  # done")
    assert spans[0] == (KEYWORD, "for")
    assert (STRING, "'ab'") in spans and (COMMENT, "# done") in spans
    assert "".join(text for _, text in spans) == "for x in 'ab': pass  # done"
    assert highlight_python("x = 12")[-1] == (NUMBER, "12")
    # unfinished input (an open string, a lone dedent) never raises and keeps the text
    for text in ("'open", '"""doc', "  )", "\x00", "f'{x"):
        assert "".join(piece for _, piece in highlight_python(text)) == text
