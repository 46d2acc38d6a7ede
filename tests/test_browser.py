"""The solution notebooks in a real browser: JupyterLab, driven headless through Chromium.

Each test copies a notebook into a temporary folder (JupyterLab autosaves), starts
JupyterLab on a free localhost port with a token, opens the notebook, runs all
cells from the Run menu and reads the page as a learner sees it. A screenshot of
each goes to artifacts/browser/.

What the notebooks need that takes long (the course's Shakespeare model, trained once into
the cache when it is cold) is prepared before the browser starts. Waits scale to the
work: running cells may take as long as they need while cells keep finishing, and a
test that times out names the cell it waited on. Fixed waits (the page, the kernel)
grow with the machine's load.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); without a
browser the tests are skipped and say why.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
TOKEN = "gpt2course-browser-test"

pytestmark = [
    pytest.mark.slow,
    # make test runs these in a step of their own, one at a time (`-m browser`): two
    # JupyterLabs and two Chromiums at once would starve each other on a 2-core machine.
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="no browser: install Debian's chromium and chromium-driver"),
]


def _scaled(seconds: float) -> float:
    """A wait for an idle machine, stretched by how busy this one is (at most 5 times)."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * min(5.0, max(1.0, load))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prepared() -> None:
    """The course model the lessons generate with, loaded or trained into the cache now,
    so that no cell in the browser trains it (minutes on a cold cache)."""
    from gpt2course.pretrained import course_model

    course_model(verbose=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, prepared) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on localhost; yields (base URL, its notebook folder)."""
    folder = tmp_path_factory.mktemp("lab")
    home = tmp_path_factory.mktemp("lab-home")  # settings and workspaces, not the user's
    news = home / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # Render every cell, not only those on screen, so the page holds every output; start
    # the notebook's kernel without asking (a slow machine may otherwise ask).
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(
        '{"windowingMode": "none", "autoStartDefaultKernel": true}')
    port = _free_port()
    log = open(folder / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={folder}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1",
             "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
             "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + _scaled(60)
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (folder / "jupyterlab.log").read_text()[-2000:])
    yield url, folder
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


class Notebook:
    """A notebook open in JupyterLab, seen through the browser."""

    run_menu = "Run"  # the menu's label in the interface's language

    def __init__(self, driver, lab: tuple[str, Path], source: Path) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.By = driver, By
        url, folder = lab
        name = source.name
        # Stored outputs removed: what the page shows must come from this run.
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, folder / name)
        self.name = name
        self.code = [c.source for c in nb.cells if c.cell_type == "code"]
        # A workspace of its own, reset: only this notebook is open.
        driver.get(f"{url}/lab/workspaces/{source.stem}/tree/{name}?token={TOKEN}&reset")
        self.wait_for(lambda: self.find(".jp-Notebook .jp-Cell"), 60, "the notebook to open")
        self.wait_for(self.kernel_ready, 90, "the kernel to start")

    def find(self, css: str) -> list:
        return self.driver.find_elements(self.By.CSS_SELECTOR, css)

    def find_in_notebook(self, css: str) -> list:
        return self.find(f".jp-NotebookPanel:not(.lm-mod-hidden) {css}")

    def wait_for(self, condition, timeout: float, what: str):
        """Poll ``condition`` until it gives something true, for ``timeout`` seconds on an
        idle machine (longer on a busy one)."""
        from selenium.common.exceptions import StaleElementReferenceException

        timeout = _scaled(timeout)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                value = condition()
            except StaleElementReferenceException:  # the page re-rendered: look again
                value = None
            if value:
                return value
            time.sleep(0.5)
        self.screenshot("timeout")
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def kernel_ready(self) -> bool:
        """Idle, with no dialog in the way. On a slow machine JupyterLab sometimes asks
        which kernel to start although the notebook names one: take its default."""
        for dialog in self.find(".jp-Dialog"):
            if "Select Kernel" in dialog.text:
                dialog.find_element(self.By.CSS_SELECTOR, ".jp-mod-accept").click()
                return False
        return self.kernel_idle() and not self.find(".jp-Dialog")

    def kernel_idle(self) -> bool:
        status = self.driver.execute_script(
            "const s = document.querySelector("
            "'.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');"
            "return s ? s.getAttribute('data-status') : null;")
        return status == "idle"

    def run_all(self, cell_timeout: float = 300) -> None:
        """Run all cells; wait while cells keep finishing. Fails, naming the cell, when one
        runs ``cell_timeout`` seconds (scaled to the machine's load) with none finishing."""
        dialogs = [d.text for d in self.find(".jp-Dialog")]
        assert not dialogs, f"JupyterLab shows a dialog: {dialogs}"
        def started() -> bool:
            return any("*" in p or any(c.isdigit() for c in p) for p in self.prompts())

        for _ in range(3):  # on a busy machine the first click can come too early
            menu = next(m for m in self.find(".lm-MenuBar-item") if m.text == self.run_menu)
            menu.click()
            self.wait_for(lambda: self.find('li.lm-Menu-item[data-command="runmenu:run-all"]'),
                          10, "the Run menu")[0].click()
            deadline = time.time() + _scaled(20)
            while time.time() < deadline and not started():
                time.sleep(0.5)
            if started():
                break

        self.wait_until_settled(_scaled(cell_timeout))
        not_run = [i for i, p in enumerate(self.prompts()) if not any(c.isdigit() for c in p)]
        assert not not_run, (f"code cells {not_run} did not run; errors on the page: "
                             f"{self.errors()}")

    def wait_until_settled(self, cell_timeout: float) -> None:
        """Wait until the kernel is idle with no cell queued; the clock restarts each time
        a cell finishes, so a long notebook has as long as it needs."""
        from selenium.common.exceptions import StaleElementReferenceException

        quiet, finished, deadline = 0, -1, time.time() + cell_timeout
        while quiet < 4:  # polls in a row with the kernel idle and no cell queued
            try:
                prompts = self.prompts()
                idle = self.kernel_idle()
            except StaleElementReferenceException:  # the page re-rendered: look again
                continue
            done = sum(any(c.isdigit() for c in p) for p in prompts)
            if done > finished:
                finished, deadline = done, time.time() + cell_timeout
            running = [i for i, p in enumerate(prompts) if "*" in p]
            quiet = quiet + 1 if idle and not running else 0
            if time.time() > deadline:
                self.screenshot(f"timeout-{Path(self.name).stem}")
                pytest.fail(f"{self.name}: timed out after {cell_timeout:.0f} s waiting for "
                            f"{self.describe(running[0] if running else None)} to finish; "
                            f"errors on the page: {self.errors()}")
            time.sleep(0.5)

    def describe(self, index: int | None) -> str:
        """A code cell as a person finds it: its number and first line."""
        if index is None or index >= len(self.code):
            return "the kernel to become idle"
        first = next((line for line in self.code[index].splitlines() if line.strip()), "")
        return f"code cell {index + 1} (starting {first[:80]!r})"

    def prompts(self) -> list[str]:
        """The execution prompts of the code cells: "[3]:", "[*]:" (running), "[ ]:"."""
        return self._texts(".jp-CodeCell .jp-InputPrompt")

    def _texts(self, css: str) -> list[str]:
        # Read in one script: cells re-render while they run, so element handles go stale.
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText);",
            f".jp-NotebookPanel:not(.lm-mod-hidden) {css}")

    def printed(self) -> str:
        """Everything the cells printed (stdout), as the page shows it."""
        return "\n".join(self._outputs("application/vnd.jupyter.stdout"))

    def errors(self) -> list[str]:
        """Tracebacks shown on the page (JupyterLab renders them as stderr)."""
        return [t for t in self._outputs("application/vnd.jupyter.stderr")
                if "Error" in t or "Traceback" in t]

    def _outputs(self, mime: str) -> list[str]:
        return self._texts(f'.jp-OutputArea-output[data-mime-type="{mime}"]')

    def screenshot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{label}.png"
        self.driver.save_screenshot(str(path))
        return path


def test_solution_runs_in_jupyterlab_with_verdicts_and_no_errors(browser, lab):
    notebook = Notebook(browser, lab, ROOT / "solutions" / "04_mlp.ipynb")
    notebook.run_all()
    assert notebook.errors() == []
    printed = notebook.printed()
    for function in ("gelu", "mlp", "MLP"):  # each check cell's verdict line says it passed
        assert re.search(rf"^{function}: .*\bpassed\b", printed, re.MULTILINE), printed
    assert notebook.screenshot("04_mlp").stat().st_size > 10_000


def test_the_page_reader_sees_an_error_when_there_is_one(browser, lab, tmp_path):
    """The error detector above must be able to fail: here a cell raises."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print('before')"),
                nbformat.v4.new_code_cell("1 / 0")]
    path = tmp_path / "raises.ipynb"
    nbformat.write(nb, path)
    notebook = Notebook(browser, lab, path)
    notebook.run_all()
    assert "before" in notebook.printed()
    assert any("ZeroDivisionError" in e for e in notebook.errors())


def test_attention_viewer_renders_and_answers_a_click(browser, lab):
    """Lesson 03's viewer: choosing another layer redraws the heatmap for it."""
    from selenium.webdriver.support.ui import Select

    notebook = Notebook(browser, lab, ROOT / "solutions" / "03_attention.ipynb")
    notebook.run_all()
    assert notebook.errors() == []
    select = notebook.wait_for(
        lambda: notebook.find_in_notebook(".widget-dropdown select"), 30, "the layer dropdown")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", select)
    def image_source() -> str:
        images = notebook.find_in_notebook(".widget-output img")
        return images[0].get_attribute("src") if images else ""

    before = notebook.wait_for(image_source, 30, "the first heatmap")
    assert before.startswith("data:image/png")
    Select(select).select_by_visible_text("3")
    after = notebook.wait_for(lambda: (s := image_source()) != before and s, 30,
                              "the heatmap of layer 3")
    assert after.startswith("data:image/png")
    assert notebook.screenshot("03_attention_viewer").stat().st_size > 10_000


def test_next_token_explorer_appends_the_clicked_token(browser, lab):
    """Lesson 06's explorer: clicking a candidate token adds it to the prompt."""
    notebook = Notebook(browser, lab, ROOT / "solutions" / "06_sampling.ipynb")
    notebook.run_all()
    assert notebook.errors() == []
    box = notebook.wait_for(lambda: notebook.find_in_notebook(".gpt2course-explorer"), 30,
                            "the explorer")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)

    # Elements are looked up afresh each time: the widget redraws after every change.
    def prompt() -> str:
        return notebook.find_in_notebook(".gpt2course-explorer textarea")[0].get_attribute("value")

    def candidates() -> list:
        return notebook.find_in_notebook(".gpt2course-explorer .gpt2course-candidate")

    before = notebook.wait_for(prompt, 30, "the prompt")
    assert len(notebook.wait_for(candidates, 30, "the candidate tokens")) == 10
    notebook.wait_for(lambda: candidates()[1].click() or True, 30, "a click on a token")
    after = notebook.wait_for(lambda: (v := prompt()) != before and v, 60, "the prompt to grow")
    assert after.startswith(before) and len(after) > len(before)
    assert notebook.screenshot("06_explorer").stat().st_size > 10_000


def test_a_cell_that_never_finishes_is_named(browser, lab, tmp_path):
    """A red browser test says which cell it waited on (last: its kernel stays busy)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import time"),
                nbformat.v4.new_code_cell("time.sleep(3600)  # stuck"),
                nbformat.v4.new_code_cell("print('never')")]
    path = tmp_path / "stuck.ipynb"
    nbformat.write(nb, path)
    notebook = Notebook(browser, lab, path)
    with pytest.raises(pytest.fail.Exception) as failed:
        notebook.run_all(cell_timeout=5)
    assert "code cell 2 (starting 'time.sleep(3600)  # stuck')" in str(failed.value)
