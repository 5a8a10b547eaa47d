"""The rendered site, as a reader gets it: built the way `make docs` builds it, opened in headless Chromium at 1280 px.

Each page has its title, its math typeset by the local MathJax, its plots, the source of the code it exports (cells
marked `#| exports`) shown once (no show_doc signature repeating it), no text of `#| hide` cells, every code block
within its column (no sideways scrolling), on a Part I page no visible `test_fail` check, and it asks nothing of the
network. The sidebar lists Part I then Part II, every page once; every link of the index's chapter table resolves.
Every widget works with no kernel: each control of each widget moves its picture to the right one, in under
50 ms (`test_widgets_work_without_a_kernel`), and their pictures weigh at most 30 MB in all.
Screenshots land in _build/screenshots/ (git-ignored; a failing page's as `site-NAME-FAILED.png`, the whole page):
look at them. Each page's is its first screen; `RNN_LIT_SHOTS=full make test` takes every page whole.

The site is built once per run by docs/build.py, which reuses the notebooks' outputs of this run's JupyterLab runs
(tests/test_lab.py; the same inputs, recorded in _build/exec/record.json) and runs any that changed. `make test`'s
two processes share the page checks.
"""
import contextlib, importlib.util, json, os, re
from pathlib import Path
import pytest
from conftest import ROOT
from browser import browser_page, screenshot

SITE, BUILD = ROOT/'_site', ROOT/'_build'
_spec = importlib.util.spec_from_file_location('site_build', ROOT/'docs'/'build.py')
B = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(B)
STEMS = [p.stem for p in B.notebooks(ROOT/'nbs')]
# each page's screenshot: its first screen, or with RNN_LIT_SHOTS=full the whole page (a second or more of Chromium's
# time per page: for reading the pages in _build/screenshots/, not needed by any check); a failure's is always whole
FULL_SHOTS = os.environ.get('RNN_LIT_SHOTS') == 'full'

@contextlib.contextmanager
def shot_on_failure(page, name):
    "On an assertion or browser error, save a screenshot and name it in the failure message."
    try: yield
    except Exception as e:
        path = screenshot(page, f'{name}-FAILED')
        raise AssertionError(f'{e}\n(screenshot: {path})') from e

@pytest.fixture(scope='module')
def site(request):
    """The site of this run, built once exactly as `make docs` builds it (tests/sitebuild.py): `make test`'s two
    processes share these tests; the build started when the last notebook ran in JupyterLab, or the first test to
    need the site builds it, and the others wait for it; a failed build fails them all the same way."""
    from conftest import run_id
    import sitebuild
    failed = sitebuild.build(run_id(request.config))
    assert not failed, failed
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

_OVERFLOW_JS = """() => Array.from(document.querySelectorAll('article pre')).filter(p => p.scrollWidth > p.clientWidth)
    .map(p => `${p.scrollWidth} > ${p.clientWidth} px: ${p.innerText.split('\\n').find(l => l.length > 60) || p.innerText.slice(0, 80)}`)"""
_VISIBLE_TEST_FAIL_JS = """() => Array.from(document.querySelectorAll('article pre')).filter(p => /\\btest_fail\\s*\\(/.test(p.textContent)
    && p.checkVisibility())  /* false inside a closed <details>: a folded cell */.map(p => p.textContent.trim().split('\\n')[0].slice(0, 100))"""

_VISIBLE_SOLUTION_JS = """cells => Array.from(document.querySelectorAll('article pre')).filter(p => p.checkVisibility()
    && cells.some(lines => lines.every(l => p.textContent.includes(l)))).map(p => p.textContent.trim().split('\\n')[0].slice(0, 100))"""

def _solution_lines(stem) -> list:
    "The code lines of each `#| solution` cell of the notebook, one list per cell (the site folds those cells)."
    return [[l.strip() for l in ''.join(c['source']).splitlines() if l.strip() and not l.startswith('#|')]
            for c in _cells(stem) if c['cell_type'] == 'code' and re.search(r'^#\|\s*solution\s*$', ''.join(c['source']), re.M)]

_LOADED = {}  # stem -> (ExitStack, page, blocked): a page test_page loaded and checked, for the stem's widget test

@pytest.fixture(scope='module', autouse=True)
def _close_loaded():
    yield
    for stack, _, _ in _LOADED.values(): stack.close()

def _load(site, stem):
    "A fresh page with the site's page of `stem` loaded: (ExitStack that closes it, page, blocked urls)."
    stack = contextlib.ExitStack()
    page, blocked = stack.enter_context(browser_page(1280, 900))
    page.goto((SITE/f'{site[stem]}.html').as_uri())
    page.wait_for_load_state('load')
    return stack, page, blocked

@pytest.mark.parametrize('stem', STEMS)
def test_page(site, stem):
    page_file = SITE/f'{site[stem]}.html'
    assert page_file.exists(), f'{stem}.ipynb: no page {page_file.name} in _site'
    title = next(''.join(c['source']).split('\n')[0].lstrip('# ').strip() for c in _cells(stem)
                 if c['cell_type'] == 'markdown' and ''.join(c['source']).startswith('# '))
    stack, page, blocked = _load(site, stem)
    with stack, shot_on_failure(page, f'site-{site[stem]}'):
        h1 = page.locator('article h1').first.inner_text().replace('\u2019', "'")  # typographic apostrophes
        assert title in h1, f'{stem}.ipynb: the page title (h1) is {h1!r}, expected the notebook title {title!r}'
        if _has_math(stem):
            page.wait_for_selector('mjx-container', state='attached', timeout=15000)
            assert page.locator('mjx-container').count() > 0, f'{stem}.ipynb: the notebook has math, the page none typeset'
            assert page.locator('mjx-merror').count() == 0, f'{stem}.ipynb: MathJax reports an error in an equation'
        n_plots = _plots(stem)
        if n_plots:
            imgs = page.locator('article img')
            assert imgs.count() >= 1, f'{stem}.ipynb: the executed notebook has {n_plots} plots, the page none'
            loaded = page.evaluate("Array.from(document.querySelectorAll('article img')).filter(i => i.naturalWidth > 0).length")
            assert loaded >= 1, f'{stem}.ipynb: no plot image loaded'
        text = page.locator('article').inner_text()
        code = '\n'.join(page.locator('article pre').all_inner_texts())
        unshown = [d for d in _exported_defs(stem) if d not in code]  # the implementation, not only its signature
        assert not unshown, f'{stem}.ipynb: the source of these exported (#| exports) definitions is missing from the page: {unshown[:3]}'
        leaked = [l for l in _hidden_lines(stem) if l in text]
        assert not leaked, f'{stem}.ipynb: text of #| hide cells shows on the page: {leaked[:3]}'
        errors = page.locator('.cell_output .traceback, .output.traceback, .output.stderr:has-text("Error")').count()
        assert errors == 0, f'{stem}.ipynb: the page shows {errors} error output(s)'
        wide = page.evaluate(_OVERFLOW_JS)
        assert not wide, (f'{stem}.ipynb: {len(wide)} code block(s) wider than their column at 1280 px (expected every '
                          f'pre to fit: scrollWidth <= clientWidth); first: {wide[:3]}')
        folded = page.evaluate(_VISIBLE_SOLUTION_JS, _solution_lines(stem))
        assert not folded, f'{stem}.ipynb: an exercise solution (#| solution cell) shows unfolded on the page: {folded[:3]}'
        if B.part(stem) == 1:
            shown = page.evaluate(_VISIBLE_TEST_FAIL_JS)
            assert not shown, (f'{stem}.ipynb (Part I): {len(shown)} test_fail cell(s) visible on the page, expected none '
                               f'(put them in #| hide cells): {shown[:3]}')
        screenshot(page, f'site-{site[stem]}', full_page=FULL_SHOTS)
        assert not blocked, f'{stem}.ipynb: the page asked the network for {blocked[:3]}'
        if stem in WIDGET_PAGES: _LOADED[stem] = (stack.pop_all(), page, blocked)  # passed: its widget test goes on with it

def _show_docs(stem) -> set:
    "Names that nbdev's processing gave a show_doc on the page."
    nb = json.loads((BUILD/'proc'/f'{stem}.ipynb').read_text())
    return {m.group(1) for c in nb['cells'] if c['cell_type'] == 'code' for m in re.finditer(r'show_doc\(([\w.]+)', ''.join(c['source']))}

def _defs(stem, directive) -> set:
    "Public names defined at the top level of the notebook's cells marked `#| directive`."
    out = set()
    for c in _cells(stem):
        src = ''.join(c['source'])
        if c['cell_type'] == 'code' and re.search(rf'^#\|\s*{directive}\s*$', src, re.M) and not re.search(r'^#\|\s*hide\s*$', src, re.M):
            out |= {m.group(1) for m in re.finditer(r'^(?:def|class)\s+([A-Za-z]\w*)', src, re.M)}
    return out

@pytest.mark.parametrize('stem', STEMS)
def test_exported_functions_shown_once(site, stem):
    # an `#| exports` cell shows its source: no show_doc repeats its signature; an `#| export` cell hides its
    # source, so show_doc is what documents it
    docs = _show_docs(stem)
    repeated = sorted(_defs(stem, 'exports') & docs)
    assert not repeated, f'{stem}.ipynb: show_doc repeats the signature of #| exports definitions: {repeated}'
    undocumented = sorted(_defs(stem, 'export') - docs)
    assert not undocumented, f'{stem}.ipynb: #| export definitions (source hidden) without show_doc: {undocumented}'

def test_code_links_stay_on_the_site(site):
    # nbdev links a function's name to its documentation at doc_host; on this site that is a page of its own
    import configparser
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    host = cfg['DEFAULT']['doc_host']
    bad = [f'{f.name}: {m.group(0)[:100]}' for f in SITE.glob('*.html') for m in re.finditer(rf'href="{re.escape(host)}[^"]*"', f.read_text(encoding='utf-8'))]
    assert not bad, f'links to {host} instead of this site\'s own pages: {bad[:5]}'

def test_no_cdn_anywhere(site):
    bad = []
    for f in SITE.rglob('*.html'):
        for m in re.finditer(r'<(script|link|img)[^>]+(src|href)="(https?:)?//[^"]+"', f.read_text(encoding='utf-8')):
            bad.append(f'{f.name}: {m.group(0)[:120]}')
    assert not bad, bad[:5]
    assert (SITE/'_static'/'mathjax'/'tex-chtml.js').exists()

_SIDEBAR_JS = """() => { const out = []; let caption = null;
    for (const el of document.querySelectorAll('nav.bd-links p.caption, nav.bd-links li.toctree-l1 > a')) {
        if (el.matches('p.caption')) caption = el.innerText.trim();
        else out.push([caption, el.getAttribute('href'), el.innerText.trim()]); }
    return out; }"""

def test_sidebar_part_one_then_part_two(site):
    # every page exactly once, under its part's caption, Part I (the index first) before Part II
    with browser_page() as (page, blocked), shot_on_failure(page, 'site-sidebar'):
        page.goto((SITE/'index.html').as_uri())
        entries = page.evaluate(_SIDEBAR_JS)
        pages = [Path(href.split('#')[0]).stem or 'index' for _, href, _ in entries]
        by_page = {v: k for k, v in site.items()}
        stems = [by_page.get(p, p) for p in pages]
        dup = sorted({s for s in stems if stems.count(s) > 1})
        assert not dup, f'pages listed more than once in the sidebar: {dup}'
        assert sorted(stems) == sorted(STEMS), f'sidebar pages {stems}, expected every notebook once: {STEMS}'
        assert stems == STEMS, f'sidebar order {stems}, expected {STEMS} (index, Part I, then Part II)'
        for (caption, _, text), stem in zip(entries, stems):
            assert caption == B.PARTS[B.part(stem)], f'{stem}.ipynb ({text!r}) is under the caption {caption!r}, expected {B.PARTS[B.part(stem)]!r}'
        screenshot(page, 'site-index-top', full_page=False)
        assert not blocked, blocked[:3]

def test_index_chapter_table_links_resolve(site):
    # every entry of the chapter table on the index page is a link, and it opens a page of the site
    with browser_page() as (page, blocked), shot_on_failure(page, 'site-index-table'):
        page.goto((SITE/'index.html').as_uri())
        rows = page.evaluate("""() => Array.from(document.querySelectorAll('article table tbody tr')).map(tr =>
            [tr.innerText.split('\\t')[0].slice(0, 60), Array.from(tr.querySelectorAll('a')).map(a => a.href)])""")
        assert len(rows) >= len(STEMS) - 1, f'the chapter tables have {len(rows)} rows, expected one per notebook ({len(STEMS) - 1})'
        unlinked = [r for r, links in rows if not links]
        assert not unlinked, f'chapter table rows without a link: {unlinked[:5]}'
        broken = [(r, l) for r, links in rows for l in links if l.startswith('file:') and not Path(l.split('#')[0][7:]).exists()]
        assert not broken, f'chapter table links that do not resolve to a page of _site: {broken[:5]}'
        linked = {Path(l.split('#')[0]).stem for _, links in rows for l in links}
        assert set(site[s] for s in STEMS if s != 'index') <= linked, sorted(set(site[s] for s in STEMS if s != 'index') - linked)
        assert not blocked, blocked[:3]

def test_search(site):
    with browser_page() as (page, blocked), shot_on_failure(page, 'site-search'):
        page.goto((SITE/'search.html').as_uri() + '?q=check_sequence')
        page.wait_for_selector('#search-results li', timeout=15000)
        assert page.locator('#search-results li').count() >= 1, 'searching check_sequence finds no page'
        screenshot(page, 'site-search', full_page=False)
        assert not blocked, blocked[:3]

# ---------------------------------------------------------------- widgets with no kernel (nbs/17_frames.ipynb)
WIDGET_PAGES = [s for s in STEMS if B.part(s) == 1 and re.match(r'\d+[a-z]?_', s)] + ['17_frames']  # every Part I chapter has one

_WIDGET_DATA_JS = "box => JSON.parse(box.querySelector('script.rlf-data').textContent)"
_STATE_JS = """box => [box.querySelector('img.rlf-frame').getAttribute('src'),
    Array.from(box.querySelectorAll('[data-control]')).map(e => parseInt(e.value, 10))]"""
_SWAP_MS_JS = """async (box, [k, i]) => {  // set control k to value index i as an input event does; ms until the picture is decoded
    const el = box.querySelectorAll('[data-control]')[k], img = box.querySelector('img.rlf-frame');
    const t0 = performance.now(); el.value = String(i); el.dispatchEvent(new Event(el.tagName === 'SELECT' ? 'change' : 'input'));
    await img.decode(); return performance.now() - t0; }"""

def _expected_src(data, at) -> str:
    "The picture the controls' value indices `at` name (the last control changing fastest)."
    point = 0
    for size, i in zip(data['sizes'], at): point = point * size + i
    return 'data:image/png;base64,' + data['frames'][data['index'][point]]

def _move(control, size:int) -> int:
    "Move one control as a reader does (End/Home on a slider, another option of a menu); returns its new value index."
    now = int(control.input_value())
    new = size - 1 if now != size - 1 else 0
    if control.evaluate('e => e.tagName') == 'SELECT': control.select_option(index=new)  # by position: a label may look like another's value
    else: control.focus(); control.press('End' if new == size - 1 else 'Home')
    return new

@pytest.mark.parametrize('stem', WIDGET_PAGES)
def test_widgets_work_without_a_kernel(site, stem):
    # offline (every request outside the machine aborted), each widget copy on the page: every control moved in
    # turn; after each move the picture is the grid point's picture, and a change shows its picture in < 50 ms
    from browser import shot_path
    stack, page, blocked = _LOADED.pop(stem, None) or _load(site, stem)  # the page as test_page loaded it, or afresh
    with stack, shot_on_failure(page, f'site-widgets-{site[stem]}'):
        boxes = page.locator('.rnn-lit-frames.rlf-ready')
        assert boxes.count() >= 1, (f'{stem}.ipynb: expected a working widget on the page (its controls and pictures, '
                                    f'.rnn-lit-frames made ready by rnn_lit_frames.js), found none')
        for b in range(boxes.count()):
            box = boxes.nth(b)
            box.scroll_into_view_if_needed()
            data = box.evaluate(_WIDGET_DATA_JS)
            src, at = box.evaluate(_STATE_JS)
            assert src == _expected_src(data, at), f'{stem}.ipynb widget {b}: at first, the picture is not the one its controls name ({at})'
            box.screenshot(path=str(shot_path(f'site-widget-{site[stem]}-{b}-before')))
            controls, changed, slow = box.locator('[data-control]'), 0, []
            for k in range(controls.count()):
                if data['sizes'][k] < 2: continue
                new = _move(controls.nth(k), data['sizes'][k])
                src2, at2 = box.evaluate(_STATE_JS)
                label = controls.nth(k).evaluate("e => e.closest('label').querySelector('.rlf-label').textContent")
                assert at2[k] == new, f'{stem}.ipynb widget {b}, control {label!r}: moved to value {new}, the page reads {at2[k]}'
                assert src2 == _expected_src(data, at2), (f'{stem}.ipynb widget {b}, control {label!r} moved to value {new}: '
                                                         f'expected the picture of grid point {at2}, the page shows another')
                changed += src2 != src
                src = src2
            assert changed, f'{stem}.ipynb widget {b}: no control changed the picture'
            box.screenshot(path=str(shot_path(f'site-widget-{site[stem]}-{b}-after')))  # every control moved
            for k in range(controls.count()):
                if data['sizes'][k] < 2: continue
                ms = min(box.evaluate(_SWAP_MS_JS, [k, i]) for i in (0, data['sizes'][k] - 1, 0))
                if ms >= 50: slow.append(f'control {k}: {ms:.0f} ms')
            assert not slow, f'{stem}.ipynb widget {b}: a control change took 50 ms or more to show its picture: {slow}'
        assert not blocked, f'{stem}.ipynb: the page asked the network for {blocked[:3]}'

def test_widget_pictures_fit_their_budget(site):
    # issue 18: the widgets' copies add at most 30 MB to the site (counted once: no copies of the notebooks in _site)
    copies = [p.name for p in (SITE/'_sources').rglob('*') if p.is_file()] + [p.name for p in (SITE/'.doctrees').rglob('*') if p.is_file()]
    assert not copies, f'the site holds copies of the notebooks or Sphinx\'s cache: {copies[:5]}'
    sizes = {f.name: sum(len(m.group(0)) for m in re.finditer(r'<div class="rnn-lit-frames">.*?</script>', f.read_text(encoding='utf-8'), re.S))
             for f in SITE.glob('*.html')}
    total = sum(sizes.values())
    assert total <= 30e6, f'the widgets add {total / 1e6:.1f} MB to the site, expected at most 30 MB: {sorted(sizes.items(), key=lambda kv: -kv[1])[:4]}'
    print(f'widget pictures: {total / 1e6:.1f} MB in all; ' + ', '.join(f'{k} {v / 1e6:.2f}' for k, v in sorted(sizes.items()) if v))
