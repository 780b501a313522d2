"""The README's "From Python" example runs as written, and prints what it
says it does."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def from_python_example() -> str:
    text = README.read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "one Python example in the From Python section"
    return blocks[0]


def test_the_readme_example_runs():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # A plain (not async) test: the example calls asyncio.run itself.
        exec(compile(from_python_example(), "README.md", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert lines == ["ch1 1 [('alice', {'mood': 'ok'})]"], lines
