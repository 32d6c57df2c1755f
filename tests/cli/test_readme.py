"""The README's commands, run as written from a fresh copy of the repository (issue 12).

The first command creates a fresh virtualenv and installs into it (pip reuses its cache), then
runs the demo; the "by hand" simulator block and the daemon walk-through follow, in the same
copy, with a PATH that does not hold any virtualenv, so a command that needs `canvas-sync` on
PATH fails here as it would for a newcomer. Long-running commands (`simulate`, `daemon`, a line
ending in `&`) are started in the background and stopped where the README says `kill`.
The time each step took is printed (`pytest -s`), not asserted.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _blocks() -> dict[str, str]:
    """Each ```bash block of the README, keyed by the text just before it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r"([^\n]*)\n+```bash\n(.*?)```", text, re.S):
        found[match.group(1).strip()] = match.group(2)
    return found


def _lines(block: str) -> list[str]:
    """Shell lines, continuation backslashes joined, comments and blank lines dropped."""
    joined = block.replace("\\\n", " ")
    lines = []
    for line in joined.splitlines():
        code = re.sub(r"\s+#.*$", "", line).strip()
        if code and not code.startswith("#"):
            lines.append(code)
    return lines


def _copy_repository(to: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)


class Shell:
    """Runs README lines in `cwd` like a newcomer's shell: exports persist, `&` backgrounds."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        venvs = {str(ROOT / ".venv" / "bin"), os.environ.get("VIRTUAL_ENV", "") + "/bin"}
        path = [p for p in os.environ.get("PATH", "").split(":") if p and p not in venvs]
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CANVAS_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")
        }
        self.env["PATH"] = ":".join(path)
        self.background: list[tuple[str, subprocess.Popen[str]]] = []
        self.logs: dict[int, Path] = {}

    def run(self, line: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        if line.startswith("export "):
            for pair in shlex.split(line)[1:]:
                key, _, value = pair.partition("=")
                self.env[key] = value
            return subprocess.CompletedProcess(line, 0, "", "")
        if line.startswith("kill "):
            self.stop(line)
            return subprocess.CompletedProcess(line, 0, "", "")
        if line.endswith("&") or re.search(r"canvas-sync (simulate|.* daemon$)", line):
            self.start(line.rstrip("&").strip())
            return subprocess.CompletedProcess(line, 0, "", "")
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        print(f"[{time.monotonic() - started:5.1f} s] {line}")
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, line: str) -> None:
        log = self.cwd / f"background-{len(self.background)}.log"
        with log.open("w") as errors:  # a file, not a pipe: a chatty process never blocks
            process = subprocess.Popen(
                ["bash", "-c", f"exec {line}"],
                cwd=self.cwd,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self.logs[process.pid] = log
        self.background.append((line, process))
        if "simulate" in line:  # ready once it prints where it listens
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("Canvas simulator at"), first + log.read_text()
            print(f"[background] {line}\n  {first.strip()}")
        if line.endswith(" daemon"):  # a person types the next shell's commands a bit later
            deadline = time.monotonic() + 60
            while "trigger=interval" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            while "event=run_" in log.read_text() and not re.search(
                r"event=run_(finished|skipped|failed) course=\d+ trigger=interval", log.read_text()
            ):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)

    def stop(self, line: str) -> None:
        which = "daemon" if "daemon" in line else "simulate"
        for command, process in self.background:
            if which in command and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)
                if which == "daemon":  # a clean stop (the simulator just dies, like `kill %1`)
                    assert process.returncode == 0, (command, process.returncode)

    def stop_all(self) -> None:
        for _command, process in self.background:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


def test_readme_commands_work_as_written(tmp_path: Path) -> None:
    blocks = _blocks()
    clone = tmp_path / "canvas-sync"
    _copy_repository(clone)
    shell = Shell(clone)
    try:
        (first,) = _lines(blocks["## Try it (no Canvas account needed)"])
        started = time.monotonic()
        demo = shell.run(first, timeout=900)
        print(f"fresh virtualenv + install + demo: {time.monotonic() - started:.1f} s")
        assert demo.stdout.strip().splitlines()[-1].startswith("Web app on this database:")
        simulate, sync = _lines(blocks["### Against the simulator by hand"])
        shell.run(simulate)
        assert "Synced (full): 298 students" in shell.run(sync).stdout
        # The push section's dry run, against that simulator and database (the section's
        # commands take the environment of the ones before it).
        environment = sync.split(" .venv/bin/canvas-sync", 1)[0]
        dry = next(line for line in _lines(_push_block(blocks)) if "--output plan.csv" in line)
        shell.run(f"{environment} {dry}")
        assert (clone / "plan.csv").read_text(encoding="utf-8").startswith("student_id,")
        shell.stop("kill simulate")
        _daemon_walkthrough(shell, blocks)
    finally:
        shell.stop_all()


def _push_block(blocks: dict[str, str]) -> str:
    return next(b for b in blocks.values() if "push --dry-run" in b)


def _daemon_walkthrough(shell: Shell, blocks: dict[str, str]) -> None:
    walkthrough = next(b for b in blocks.values() if "daemon.db" in b and " trigger" in b)
    outputs = {}
    for line in _lines(walkthrough):
        outputs[line] = shell.run(line, timeout=120).stdout
    trigger = next(v for k, v in outputs.items() if k.endswith(" trigger"))
    assert "succeeded" in trigger
    status = next(v for k, v in outputs.items() if k.endswith(" status"))
    assert re.search(r"\d\d:\d\d:\d\d C[SD]T", status)  # the course time zone
    daemon = next(p for c, p in shell.background if c.endswith(" daemon"))
    assert daemon.returncode == 0
    log = shell.logs[daemon.pid].read_text(encoding="utf-8")
    # The first run at start really runs on the walk-through's fresh database.
    assert "reason=recent" not in log
    assert re.search(r"event=run_finished course=598 trigger=interval", log), log
