"""The browser for the tests: found or obtained in ONE place, driven by Playwright, offline.

`python tests/browser.py` (what `make test` runs before pytest) makes sure a Chromium is there, in this order:
1. one already on this machine: `$CHROMIUM`, then `chromium`, `chromium-browser`, `google-chrome`,
   `google-chrome-stable`, `chrome` on PATH, then Playwright's own browser folder
   (`$PLAYWRIGHT_BROWSERS_PATH` or ~/.cache/ms-playwright);
2. else `python -m playwright install chromium` (a download; given 15 s when its host does not answer);
3. else, as root with apt-get, Debian's package: `apt-get update`, `apt-get install -y chromium`;
4. else it stops, before any test runs, with one message saying what to install and how to point
   `$CHROMIUM` at a browser.
Each candidate counts only if Playwright can launch it headless.

`python3 tests/browser.py --start` (what `make test` runs first, before the virtual environment exists; standard
library only) looks for a browser on this machine; where there is none and Playwright's download host does not
answer, it starts step 3 in the background (it then overlaps the install of the Python packages and waits for
nothing); where no step can work it stops `make test` at once, before any test, with the message of step 4. The tests call `chromium()`, which
looks in the same places (1) and never installs; the `browser_page` fixture fails the same way when
nothing is there, so a browser test is never skipped silently.

Every request that is not to 127.0.0.1, localhost or a file is aborted, so a page that needs the
network shows it by failing, not by stalling.
"""
import atexit, contextlib, functools, glob, json, os, re, shutil, socket, subprocess, sys, time
from pathlib import Path

FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
         '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost']
_LOCAL = re.compile(r'^(file:|data:|blob:|about:|https?://(127\.0\.0\.1|localhost)(:\d+)?(/|$))')
SHOTS = Path(__file__).resolve().parent.parent/'_build'/'screenshots'
NAMES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome')
HELP = """No Chromium or Chrome for the browser tests.
Install one, then run `make test` again:
  - with internet access:   .venv/bin/python -m playwright install --with-deps chromium
  - on Debian/Ubuntu (root): apt-get update && apt-get install -y chromium
  - or point CHROMIUM at a Chromium/Chrome you have:   CHROMIUM=/path/to/chrome make test"""

class NoBrowser(RuntimeError): pass

def _playwright_folder() -> list:
    "Chromium binaries in Playwright's own browser folder, newest first."
    root = os.environ.get('PLAYWRIGHT_BROWSERS_PATH') or str(Path.home()/'.cache'/'ms-playwright')
    pats = ['chromium-*/chrome-linux*/chrome', 'chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium',
            'chromium-*/chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
            'chromium_headless_shell-*/chrome-*/*headless_shell']
    found = [p for pat in pats for p in glob.glob(os.path.join(root, pat))]
    return sorted(found, key=lambda p: int(re.search(r'-(\d+)', p).group(1)) if re.search(r'-(\d+)', p) else 0, reverse=True)

def candidates() -> list:
    "(where, path) of every browser already on this machine, in the order they are tried."
    out = []
    if os.environ.get('CHROMIUM'): out.append(('$CHROMIUM', os.environ['CHROMIUM']))
    for n in NAMES:
        p = shutil.which(n)
        if p: out.append(('PATH', p))
    out += [("Playwright's browser folder", p) for p in _playwright_folder()]
    return out

def _launch(path:str) -> str:
    "'' when Playwright launches `path` headless and opens a page, else why not."
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=path, headless=True, args=FLAGS, timeout=30000)
            try: b.new_page().goto('about:blank')
            finally: b.close()
        return ''
    except Exception as e: return str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__

def launches(path:str) -> str:
    "'' when Playwright launches `path` (tried in a separate process, whatever this one runs), else why not."
    try: r = subprocess.run([sys.executable, __file__, '--launch', path], capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired: return 'did not start in 90 s'
    return r.stdout.strip() if r.returncode == 0 else (r.stderr.strip().splitlines() or ['failed'])[-1][:300]

VERIFIED = SHOTS.parent/'browser-verified.json'  # the last browser found to launch, among which candidates

def _verified(found:list) -> str:
    "The browser an earlier `chromium()` launched, if the candidates and that binary are as they were then; else ''."
    try: v = json.loads(VERIFIED.read_text())
    except (OSError, ValueError): return ''
    same = v.get('candidates') == found and os.path.exists(v['path']) and os.stat(v['path']).st_mtime == v.get('mtime')
    return v['path'] if same else ''

@functools.lru_cache(None)
def chromium() -> str:
    """The browser the tests use: the first that launches of `candidates()`; raises NoBrowser with HELP otherwise.
    A browser found to launch is recorded (_build/browser-verified.json): `make test`'s steps and test processes
    after the first do not launch it again to ask, while the candidates and the binary stay the same."""
    tried, found = [], [list(c) for c in candidates()]
    known = _verified(found)
    if known: return known
    for where, path in found:
        why = launches(path)
        if not why:
            VERIFIED.parent.mkdir(parents=True, exist_ok=True)
            VERIFIED.write_text(json.dumps(dict(candidates=found, path=path, mtime=os.stat(path).st_mtime)))
            return path
        tried.append(f'  {path} ({where}): {why}')
    if os.environ.get('CHROMIUM') and tried: raise NoBrowser(f'$CHROMIUM does not launch:\n' + '\n'.join(tried) + '\n\n' + HELP)
    raise NoBrowser(HELP + ('\nTried:\n' + '\n'.join(tried) if tried else ''))

def _log(msg): print(f'browser: {msg}', flush=True)

def _run(cmd, timeout, env=None) -> bool:
    t0 = time.time()
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired: _log(f'`{" ".join(cmd)}` gave no result in {timeout} s'); return False
    except OSError as e: _log(f'`{" ".join(cmd)}`: {e}'); return False
    if r.returncode:
        lines = (r.stderr + r.stdout).strip().splitlines() or ['(no output)']
        _log(f'`{" ".join(cmd)}` failed ({time.time()-t0:.0f} s): ' + next((l.strip() for l in lines if 'rror' in l), lines[-1]).strip())
    return r.returncode == 0

def _download_host_answers() -> bool:
    host = re.sub(r'^\w+://', '', os.environ.get('PLAYWRIGHT_DOWNLOAD_HOST', 'cdn.playwright.dev')).split('/')[0]
    try: socket.create_connection((host, 443), timeout=5).close(); return True
    except OSError: return False

_APT_PID, _APT_LOG = SHOTS.parent/'browser-apt.pid', SHOTS.parent/'browser-apt.log'
_APT_CMD = 'apt-get update -q && apt-get install -y -q chromium'

def _can_apt() -> bool: return hasattr(os, 'geteuid') and os.geteuid() == 0 and bool(shutil.which('apt-get'))

def start() -> int:
    "The early step of `make test`: 0 when a browser is here or on its way, else 2 with the message."
    found = [p for _, p in candidates() if os.access(p, os.X_OK)]
    if found: _log(f'{found[0]} is here (checked before the browser tests)'); return 0
    if _download_host_answers(): _log('none here yet: `playwright install chromium` once the Python packages are in'); return 0
    if _can_apt():
        _APT_PID.parent.mkdir(parents=True, exist_ok=True)
        log = open(_APT_LOG, 'w')
        proc = subprocess.Popen(['sh', '-c', _APT_CMD], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'})
        _APT_PID.write_text(str(proc.pid))
        _log(f"none here, Playwright's download host does not answer: `{_APT_CMD}` started in the background (log: {_APT_LOG})")
        return 0
    print(f'\n{HELP}\n', file=sys.stderr); return 2

def _wait_for_background_apt():
    "Wait for the apt-get that `start` began, if it still runs; True if there was one."
    try: pid = int(_APT_PID.read_text())
    except (OSError, ValueError): return False
    t0 = time.time()
    while time.time() - t0 < 900:
        try: os.kill(pid, 0)
        except OSError: break
        try:  # a zombie child of this process counts as finished
            if open(f'/proc/{pid}/stat').read().split(')')[-1].split()[0] == 'Z': break
        except OSError: break
        time.sleep(1)
    _APT_PID.unlink(missing_ok=True)
    _log(f'the background apt-get ended ({time.time()-t0:.0f} s waited for it here; its log: {_APT_LOG})')
    return True

def _found(how, t0):
    chromium.cache_clear()
    try: path = chromium()
    except NoBrowser: return None
    _log(f'{path} ({how}, {time.time()-t0:.0f} s)')
    return path

def ensure() -> str:
    "Find or obtain a browser in the documented order; returns its path or raises NoBrowser."
    t0 = time.time()
    apt = _wait_for_background_apt()
    try:
        path = chromium()
        where = next(w for w, p in candidates() if p == path)
        _log(f'{path} (' + ('installed with apt-get in the background, ' if apt else 'already here: ') + f'{where})')
        return path
    except NoBrowser as e:
        if os.environ.get('CHROMIUM'): raise
    # 2. Playwright's download: quick to fail where its host cannot be reached (as here), long where it can
    slow = _download_host_answers()
    _log('none found; trying `python -m playwright install chromium`' + ('' if slow else ' (its download host does not answer: 15 s at most)'))
    if _run([sys.executable, '-m', 'playwright', 'install', 'chromium'], 900 if slow else 15):
        path = _found('downloaded by playwright install', t0)
        if path: return path
    # 3. Debian's package, as root
    if _can_apt():
        _log('installing Debian\'s chromium: apt-get update && apt-get install -y chromium (about a minute)')
        env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
        if _run(['apt-get', 'update', '-q'], 300, env) and _run(['apt-get', 'install', '-y', '-q', 'chromium'], 600, env):
            path = _found('installed with apt-get', t0)
            if path: return path
    raise NoBrowser(HELP + '\n(`python -m playwright install chromium` and, as root, apt-get were tried and gave none.)')

_SHARED = {}

def _browser():
    "One headless Chromium for this process (tests get a fresh context each): a launch costs seconds."
    b = _SHARED.get('browser')
    if b is None or not b.is_connected():
        from playwright.sync_api import sync_playwright
        try: exe = chromium()
        except NoBrowser as e:
            import pytest
            pytest.fail(str(e), pytrace=False)
        if 'pw' not in _SHARED:
            _SHARED['pw'] = sync_playwright().start()
            atexit.register(_close)
        _SHARED['browser'] = b = _SHARED['pw'].chromium.launch(executable_path=exe, headless=True, args=FLAGS)
    return b

def _close():
    for k, close in (('browser', lambda b: b.close()), ('pw', lambda pw: pw.stop())):
        try: close(_SHARED.pop(k))
        except Exception: pass

@contextlib.contextmanager
def browser_page(width=1280, height=900):
    "A fresh headless page (own context: no cookies, cache or storage shared) whose requests outside this machine are aborted; yields (page, blocked urls)."
    blocked = []
    def route(r):
        if _LOCAL.match(r.request.url): r.continue_()
        else: blocked.append(r.request.url); r.abort()
    ctx = _browser().new_context(viewport={'width': width, 'height': height})
    try:
        ctx.route('**/*', route)
        yield ctx.new_page(), blocked
    finally: ctx.close()

def shot_path(name:str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS/f'{name}.png'

def screenshot(page, name:str, full_page=True) -> Path:
    "Save a screenshot of `page` as _build/screenshots/NAME.png and return its path."
    path = shot_path(name)
    page.screenshot(path=str(path), full_page=full_page)
    return path

if __name__ == '__main__':
    if sys.argv[1:2] == ['--launch']: print(_launch(sys.argv[2])); sys.exit(0)
    if sys.argv[1:2] == ['--start']: sys.exit(start())
    VERIFIED.unlink(missing_ok=True)  # `make browser` asks the browser afresh; the test processes after it trust its answer
    try: ensure()
    except NoBrowser as e:
        print(f'\n{e}\n', file=sys.stderr); sys.exit(2)
