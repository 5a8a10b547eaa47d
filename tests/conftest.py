import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
BROWSER_FILES = ('test_site.py', 'test_lab.py')

def _wants_browser(config) -> bool:
    "Whether this run collects a browser test file (from the paths pytest was given)."
    ignored = {Path(p).resolve() for p in config.getoption('ignore') or []}
    for arg in config.args or ['.']:
        p = Path(str(arg).split('::')[0]).resolve()
        files = [p] if p.is_file() else list(p.rglob('test_*.py')) if p.is_dir() else []
        if any(f.name in BROWSER_FILES and f not in ignored for f in files): return True
    return False

def pytest_configure(config):
    "Browser tests are never skipped: with no browser to drive, stop before any test runs, saying what to install."
    if hasattr(config, 'workerinput') or not _wants_browser(config): return  # checked once, by the main process
    from browser import chromium, NoBrowser
    try: chromium()
    except NoBrowser as e: pytest.exit(f'\n{e}\n(`make test` installs one itself where it can: see tests/browser.py)', returncode=2)
