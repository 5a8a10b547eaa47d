"""Headless Chromium for the tests: Debian's /usr/bin/chromium driven by Playwright, offline.

Every request that is not to 127.0.0.1, localhost or a file is aborted, so a page that needs the
network shows it by failing, not by stalling.
"""
import contextlib, os, re
from pathlib import Path

CHROMIUM = os.environ.get('RNN_LIT_CHROMIUM', '/usr/bin/chromium')
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
         '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost']
_LOCAL = re.compile(r'^(file:|data:|blob:|about:|https?://(127\.0\.0\.1|localhost)(:\d+)?(/|$))')
SHOTS = Path(__file__).resolve().parent/'screenshots'

@contextlib.contextmanager
def browser_page(width=1280, height=900):
    "A fresh headless page whose requests outside this machine are aborted; yields (page, blocked urls)."
    from playwright.sync_api import sync_playwright
    blocked = []
    def route(r):
        if _LOCAL.match(r.request.url): r.continue_()
        else: blocked.append(r.request.url); r.abort()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            ctx = b.new_context(viewport={'width': width, 'height': height})
            ctx.route('**/*', route)
            yield ctx.new_page(), blocked
        finally: b.close()

def screenshot(page, name:str, full_page=True) -> Path:
    "Save a screenshot of `page` as tests/screenshots/NAME.png (git-ignored) and return its path."
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS/f'{name}.png'
    page.screenshot(path=str(path), full_page=full_page)
    return path
