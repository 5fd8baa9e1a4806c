"""Installing: a plain `pip install .` (not editable) into a fresh virtualenv, then `ferryman
up` from inside the clean clone: the checkout's own `ferryman/` folder (which has no `api`:
the layout is mapped only when installed) must not shadow the installed package. And
`scripts/install.sh` on a clean clone: quiet, once, again only when pyproject.toml changes."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.paths import ROOT
from tests.support.processes import cli_env
from tests.support.up import Up, alive

INSTALL_TIMEOUT = 600


def clean_clone(target: Path) -> Path:
    """The files a clone of this working tree has: tracked ones and new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def fresh_install(clone: Path, venv: Path) -> Path:
    """`python -m venv` + `pip install <clone>`; the venv's bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(clone)]
    installed = subprocess.run(pip, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv / "bin"


async def test_a_plain_install_runs_up_from_inside_the_clone(tmp_path: Path) -> None:
    clone = await asyncio.to_thread(clean_clone, tmp_path / "clone")
    bin_dir = await asyncio.to_thread(fresh_install, clone, tmp_path / "venv")
    # Without the fix the checkout's folder wins wherever the current directory is searched.
    shadowed = await asyncio.to_thread(
        subprocess.run,
        [str(bin_dir / "python"), "-c", "import ferryman.api"],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert "No module named 'ferryman.api'" in shadowed.stderr, shadowed.stderr
    up = Up(
        data_dir=tmp_path / "data",
        log=tmp_path / "up.log",
        command=[str(bin_dir / "ferryman")],
        cwd=clone,
        env=cli_env(PATH=f"{bin_dir}:{cli_env()['PATH']}"),
    )
    try:
        up.start()
        await up.wait_ready()
        key = (up.data_dir / "dev-api-key").read_text().strip()
        async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:
            listed = await http.get("/api/v1/workflows", headers={"X-API-Key": key})
            assert listed.status_code == 200, listed.text
            # The dashboard's templates and assets are in the package (package data).
            signed = await http.post("/ui/login", data={"key": key})
            assert signed.status_code == 303, signed.text
            page = await http.get("/ui/runs", cookies=signed.cookies)
            assert page.status_code == 200 and "<h1>Runs</h1>" in page.text, page.text[:300]
            for asset in re.findall(r'(?:src|href)="(/ui/static/[^"?]+)', page.text):
                served = await http.get(asset)
                assert served.status_code == 200 and served.content, asset
            assert "htmx-2.0.11.min.js" in page.text and "htmx-ext-sse" in page.text
        assert up.stop() == 0
        assert [pid for pid in up.seen if alive(pid)] == []
        assert "No module named" not in up.log.read_text()
    finally:
        up.kill_all()


def install_script(clone: Path) -> str:
    """`bash scripts/install.sh` in `clone`; what it printed."""
    ran = subprocess.run(
        ["bash", "scripts/install.sh"],
        cwd=clone,
        env=cli_env(PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    return ran.stdout + ran.stderr


async def test_the_install_script_installs_once_quietly_and_the_checkout_runs(
    tmp_path: Path,
) -> None:
    clone = await asyncio.to_thread(clean_clone, tmp_path / "clone")
    first = await asyncio.to_thread(install_script, clone)
    assert "==> installing" in first
    assert "Editable installation" not in first and "!!" not in first, first
    # Editable: the clone's own files are what runs, from any directory.
    where = await asyncio.to_thread(
        subprocess.run,
        [
            str(clone / ".venv/bin/python"),
            "-c",
            "import ferryman.api; print(ferryman.api.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(clone / "api" / "__init__.py")
    assert await asyncio.to_thread(install_script, clone) == ""  # nothing to do, nothing said
    with (clone / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# changed\n")
    assert "==> installing" in await asyncio.to_thread(install_script, clone)
