"""The demo as a person at a terminal meets it: driven through a pseudo-terminal, end to end."""

from __future__ import annotations

import codecs
import fcntl
import json
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.i18n import texts
from bot.settings import PROJECT_ROOT

# Generous: the machine is shared; a healthy run answers in well under a second per step.
PATIENCE = 60.0
AR = texts("ar")


def _housing_ar() -> str:
    """The Arabic name of the housing category, as the bot shows it (data, not gettext)."""
    reference = json.loads((PROJECT_ROOT / "bot" / "data" / "reference.json").read_text("utf-8"))
    found = [c for c in reference["categories"] if c["code"] == "housing"]
    return str(found[0]["name_ar"])


def _take_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (so ^C is SIGINT)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """``python -m bot demo`` on a pseudo-terminal, read and typed into like a person would."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        master, slave = os.openpty()
        env = {
            **os.environ,
            "SANAD_DEMO_PAUSE": "0.15",
            "SANAD_MODELS_DIR": str(tmp_path / "models"),
            "BOT_TOKEN": "",
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", "bot", "demo", *args]
        command += ["--database", str(tmp_path / "demo.db")]
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, cwd=PROJECT_ROOT, env=env,
            preexec_fn=_take_terminal, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.output = ""
        self.mark = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def _read(self, timeout: float) -> bool:
        """Reads what the demo printed within ``timeout``; False at end of output."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the demo exited and closed the terminal
            return False
        if not chunk:
            return False
        self.output += self._decoder.decode(chunk).replace("\r\n", "\n")
        return True

    def expect(self, pattern: str) -> str:
        """Waits until the output after the mark matches; moves the mark past the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + PATIENCE
        while True:
            found = regex.search(self.output, self.mark)
            if found:
                self.mark = found.end()
                return self.output[found.start() : found.end()]
            if time.monotonic() > deadline or not self._read(0.2):
                found = regex.search(self.output, self.mark)
                if found:
                    self.mark = found.end()
                    return found.group(0)
                raise AssertionError(
                    f"{pattern!r} not printed; output since the mark:\n{self.output[self.mark :]}"
                )

    def expect_all(self, *patterns: str) -> None:
        """Waits until every pattern matched after the mark, in any order; moves the mark past all."""
        start, end = self.mark, self.mark
        for pattern in patterns:
            self.mark = start
            self.expect(pattern)
            end = max(end, self.mark)
        self.mark = end

    def prompt(self, persona: str = "amina") -> None:
        """Waits for the input prompt."""
        self.expect(re.escape(f"[{persona}]> "))

    def type(self, line: str) -> None:
        """Types a line and presses Enter."""
        os.write(self.master, (line + "\n").encode())

    def since(self, start: int) -> str:
        """The output printed from ``start`` to the mark."""
        return self.output[start : self.mark]

    def wait(self) -> int:
        """Reads to the end and returns the exit status."""
        deadline = time.monotonic() + PATIENCE
        while self._read(0.2) and time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._read(0.2)
                break
        return self.process.wait(timeout=PATIENCE)

    def close(self) -> None:
        """Never leaves the demo running, whatever the test did."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=PATIENCE)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    """The interactive demo on a pseudo-terminal."""
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def test_interactive_commands_explain_themselves_and_never_crash(terminal: Terminal) -> None:
    terminal.expect("Your turn")
    terminal.prompt()
    start = terminal.mark
    terminal.type(":as")
    terminal.expect(r"Usage: :as NAME")
    terminal.expect(r"stranger")
    terminal.prompt()
    terminal.type(":tap")
    terminal.expect(r"Usage: :tap LABEL")
    terminal.prompt()
    terminal.type(":reply")
    terminal.expect(r"Usage: :reply TEXT")
    terminal.prompt()
    terminal.type(":as nobody")
    terminal.expect(r"no persona called 'nobody'")
    terminal.expect(r"omar")
    terminal.prompt()
    # None of these went to the bot as chat text.
    assert "👤" not in terminal.since(start)
    terminal.type(":as stranger")
    terminal.prompt("stranger")
    terminal.type(":reply hello")
    terminal.expect(r"No ticket message in the stranger's chat to reply to yet")
    terminal.prompt("stranger")
    terminal.type(":tap nothing-like-this")
    terminal.expect(r"No button containing 'nothing-like-this'")
    terminal.prompt("stranger")
    terminal.type(":quit")
    assert terminal.wait() == 0
    assert "Traceback" not in terminal.output
    assert "Demo finished" in terminal.output


def test_messages_print_as_they_arrive_and_reply_hits_the_ticket(terminal: Terminal) -> None:
    terminal.expect("Your turn")
    terminal.prompt()
    # Amina writes outside any flow: a new report starts with her words.
    terminal.type("الغسالة لا تعمل")
    terminal.prompt()
    terminal.type(f":tap {_housing_ar()}")
    terminal.prompt()
    terminal.type(f":tap {AR._('✅ Send')}")
    terminal.prompt()
    terminal.type(f":tap {AR._('✅ Yes, send it')}")
    # Sam's card prints while Amina is the active persona: nobody had to switch to Sam.
    terminal.expect(r"Sanad → Sam \(caseworker\): 📥 New request\n   │ Ticket K-0002")
    terminal.prompt()
    terminal.type(":as sam")
    terminal.prompt("sam")
    terminal.type("/tickets")
    terminal.expect(r"Sanad → Sam \(caseworker\): Your open tickets: 1")
    terminal.prompt("sam")
    terminal.type(":reply The engineer comes on Monday.")
    terminal.expect(r"replies to K-0002 \(message #\d+\): The engineer comes on Monday\.")
    # Amina's copy prints as it arrives, though Sam is the active persona; Sam's "sent" answer
    # and her copy travel separately (the outbox delivers hers), so either may print first.
    terminal.expect_all(
        r"Sanad → Amina \(family, Arabic\): [^\n]*K-0002[^\n]*\n"  # her message's first line,
        r"(   │[^\n]*\n)*?   │ The engineer comes on Monday\.",  # and Sam's words in it
        r"Sanad → Sam \(caseworker\): Sent to the family of K-0002",
    )
    terminal.prompt("sam")
    terminal.type(":quit")
    assert terminal.wait() == 0
    assert "Traceback" not in terminal.output


def test_ctrl_c_says_goodbye_in_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    term = Terminal(tmp_path)
    try:
        term.expect("A family member joins")  # mid-story: the bot is busy
        os.write(term.master, b"\x03")  # Ctrl-C on the terminal
        assert term.wait() == 130
    finally:
        term.close()
    tail = term.output[term.mark :]
    assert "Interrupted: the demo stopped everything it started. Goodbye." in tail
    assert "Traceback" not in term.output
    assert term.process.returncode == 130


def test_ctrl_c_at_the_prompt(tmp_path: Path) -> None:
    term = Terminal(tmp_path)
    try:
        term.expect("Your turn")
        term.prompt()
        term.process.send_signal(signal.SIGINT)
        assert term.wait() == 130
    finally:
        term.close()
    assert term.output.rstrip().endswith("Goodbye.")
    assert "Traceback" not in term.output


def test_help_lists_personas_and_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--help"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=PATIENCE, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage: python -m bot demo" in done.stdout
    for word in ("amina", "sam", "kim", "stranger", "omar", ":as NAME", ":tap LABEL"):
        assert word in done.stdout
    assert ":reply TEXT" in done.stdout and ":quit" in done.stdout
    assert done.stderr == ""
