"""Write README.md from nbs/index.ipynb, without Quarto (nbdev_readme needs it).

Markdown cells are copied, the `# Title` / `> description` cell becomes the README's heading,
code cells become python blocks with their text output (consecutive cells, e.g. an import cell and the code
using it, one block), hidden cells are left out. A link to a notebook,
written `[Chapter](02_forward.ipynb)` in index.ipynb (a page of the site), points at `nbs/02_forward.ipynb`
in the README, so that it opens the notebook where the README is read (the repository).
`python docs/readme.py --check` exits 1 when README.md is not what index.ipynb gives.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _directives(src):
    return {m.group(1).strip() for m in re.finditer(r'^#\|\s*([^\n]+)$', src, re.M)}

def _outputs(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(''.join(o['text']))
        elif 'text/plain' in o.get('data', {}): out.append(''.join(o['data']['text/plain']) + '\n')
    return ''.join(out)

_NB_LINK = re.compile(r'\]\((?![a-z]+:|/|#)([^)\s]+\.ipynb(?:#[^)\s]*)?)\)')

def nb_links(md:str) -> str:
    "Relative notebook links of index.ipynb made relative to the repository root."
    return _NB_LINK.sub(r'](nbs/\1)', md)

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = ['<!-- Generated from nbs/index.ipynb by docs/readme.py (make readme): edit the notebook, not this file. -->']
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown':
            parts.append(nb_links(src))
        elif cell['cell_type'] == 'code':
            d = _directives(src)
            if {'hide', 'export', 'exporti'} & d or any(x.startswith('default_exp') for x in d): continue
            code = re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip()
            if code and parts[-1].startswith('```python\n'): parts[-1] = parts[-1][:-3] + f'{code}\n```'  # an import cell and its code: one block
            elif code: parts.append(f'```python\n{code}\n```')
            out = _outputs(cell).rstrip()
            if out: parts.append(f'```\n{out}\n```')
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != text: sys.exit('README.md is out of date with nbs/index.ipynb: run `make readme`')
    else:
        readme.write_text(text); print(f'wrote {readme}')
