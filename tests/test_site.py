"""The rendered site, as a reader gets it: built the way `make docs` builds it, opened in headless Chromium.

Each page has its title, its math typeset by the local MathJax, its plots, the source of the code it exports (cells
marked `#| exports`), no text of `#| hide` cells,
and asks nothing of the network. Screenshots land in tests/screenshots/ (git-ignored): look at them.
"""
import json, re, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT
from browser import browser_page, screenshot

SITE, BUILD = ROOT/'_site', ROOT/'_build'
STEMS = sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.fixture(scope='module')
def site():
    "Build the site once for this module, exactly as `make docs` does."
    r = subprocess.run([sys.executable, str(ROOT/'docs'/'build.py')], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f'site build failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}'
    assert r.stdout.strip().endswith(str(SITE/'index.html')), r.stdout[-500:]
    return json.loads((BUILD/'pages.json').read_text())

def _cells(stem):
    return json.loads((ROOT/'nbs'/f'{stem}.ipynb').read_text())['cells']

def _has_math(stem):
    return any(c['cell_type'] == 'markdown' and re.search(r'\$[^$\n]+\$', ''.join(c['source'])) for c in _cells(stem))

def _hidden_lines(stem):
    "Distinctive code lines that appear only in `#| hide` cells of the notebook."
    shown, hidden = set(), set()
    for c in _cells(stem):
        if c['cell_type'] != 'code': continue
        src = ''.join(c['source'])
        lines = {l.strip() for l in src.splitlines() if l.strip() and not l.startswith('#|')}
        (hidden if re.search(r'^#\|\s*hide\s*$', src, re.M) else shown).update(lines)
    return sorted(l for l in hidden - shown if len(l) > 15 and not l.startswith(('import ', 'from ')))

def _exported_defs(stem):
    "The first line of every function or class the notebook exports (its source should show on the page)."
    return [l.strip() for c in _cells(stem) if c['cell_type'] == 'code' and re.match(r'#\|\s*exports?\s*$', ''.join(c['source']).split('\n')[0])
            for l in ''.join(c['source']).splitlines() if re.match(r'(def|class) [A-Za-z]\w*', l)]

def _plots(stem):
    "Number of image outputs the executed copy of the notebook has."
    nb = json.loads((BUILD/'exec'/f'{stem}.ipynb').read_text())
    return sum('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', []))

@pytest.mark.parametrize('stem', STEMS)
def test_page(site, stem):
    page_file = SITE/f'{site[stem]}.html'
    assert page_file.exists(), f'{stem}: no page {page_file.name}'
    title = next(''.join(c['source']).split('\n')[0].lstrip('# ').strip() for c in _cells(stem)
                 if c['cell_type'] == 'markdown' and ''.join(c['source']).startswith('# '))
    with browser_page() as (page, blocked):
        page.goto(page_file.as_uri())
        page.wait_for_load_state('load')
        h1 = page.locator('article h1').first.inner_text().replace('\u2019', "'")  # typographic apostrophes
        assert title in h1, f'{stem}: h1 is {h1!r}, expected {title!r}'
        if _has_math(stem):
            page.wait_for_selector('mjx-container', state='attached', timeout=15000)
            assert page.locator('mjx-container').count() > 0
            assert page.locator('mjx-merror').count() == 0, f'{stem}: MathJax reports an error'
        n_plots = _plots(stem)
        if n_plots:
            imgs = page.locator('article img')
            assert imgs.count() >= 1, f'{stem}: the executed notebook has {n_plots} plots, the page none'
            loaded = page.evaluate("Array.from(document.querySelectorAll('article img')).filter(i => i.naturalWidth > 0).length")
            assert loaded >= 1, f'{stem}: no plot image loaded'
        text = page.locator('article').inner_text()
        code = '\n'.join(page.locator('article pre').all_inner_texts())
        unshown = [d for d in _exported_defs(stem) if d not in code]  # the implementation, not only its signature
        assert not unshown, f'{stem}: the source of exported code is missing from the page: {unshown[:3]}'
        leaked = [l for l in _hidden_lines(stem) if l in text]
        assert not leaked, f'{stem}: text of hidden cells shows on the page: {leaked[:3]}'
        errors = page.locator('.cell_output .traceback, .output.traceback, .output.stderr:has-text("Error")').count()
        assert errors == 0, f'{stem}: the page shows {errors} error output(s)'
        screenshot(page, f'site-{site[stem]}')
        assert not blocked, f'{stem}: the page asked the network for {blocked[:3]}'

def test_no_cdn_anywhere(site):
    bad = []
    for f in SITE.rglob('*.html'):
        for m in re.finditer(r'<(script|link|img)[^>]+(src|href)="(https?:)?//[^"]+"', f.read_text(encoding='utf-8')):
            bad.append(f'{f.name}: {m.group(0)[:120]}')
    assert not bad, bad[:5]
    assert (SITE/'_static'/'mathjax'/'tex-chtml.js').exists()

def test_sidebar_in_chapter_order_and_search(site):
    with browser_page() as (page, blocked):
        page.goto((SITE/'index.html').as_uri())
        links = page.locator('nav.bd-links a').all_inner_texts()
        titles = [t.strip() for t in links if t.strip()]
        assert len(titles) >= len(STEMS) - 1, titles
        page.goto((SITE/'search.html').as_uri() + '?q=check_sequence')
        page.wait_for_selector('#search-results li', timeout=15000)
        assert page.locator('#search-results li').count() >= 1
        screenshot(page, 'site-search', full_page=False)
        assert not blocked, blocked[:3]
