"""Sphinx configuration for the rnn_lit site (built by docs/build.py from nbdev's processed notebooks)."""
import configparser
from pathlib import Path

_cfg = configparser.ConfigParser(delimiters=['='])
_cfg.read(Path(__file__).resolve().parent.parent/'settings.ini')
_s = _cfg['DEFAULT']

project = 'rnn_lit'
author = _s['author']
copyright = '2026, ' + author
release = version = _s['version']

extensions = ['myst_nb', 'sphinx-mathjax-offline']  # MathJax 3 copied into _site/_static: no CDN
source_suffix = {'.ipynb': 'myst-nb', '.md': 'myst-nb'}
exclude_patterns = ['_build', '**.ipynb_checkpoints']
master_doc = 'index'

# notebooks are executed by docs/build.py before Sphinx sees them
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'   # math inside markdown outputs (show_doc) renders too
nb_ipywidgets_js = {}                # no widget JavaScript from a CDN; widgets get a static note instead
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_block']
myst_heading_anchors = 3

html_theme = 'sphinx_book_theme'
html_title = 'rnn_lit'
html_static_path = [str(Path(__file__).resolve().parent/'_static')]
html_css_files = ['rnn_lit.css']
html_js_files = ['rnn_lit_frames.js']  # swaps a widget's pictures on a page with no kernel (nbs/17_frames.ipynb)
html_theme_options = {'show_toc_level': 2, 'home_page_in_toc': False, 'use_download_button': False,
                      'use_fullscreen_button': False}
html_last_updated_fmt = None
html_copy_source = False  # no copies of the notebooks in _site/_sources: the pages are the site (and its widgets' pictures would count twice)
