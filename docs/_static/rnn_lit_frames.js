// rnn_lit's widgets on a page with no kernel (see the page "Widgets on the page", nbs/17_frames.ipynb).
// Each <div class="rnn-lit-frames"> holds its controls (a range input or a select per control, valued by the
// index of a site value), one <img>, and a JSON block: sizes (values per control), index (grid point ->
// frame) and frames (base64 PNGs). Grid points are numbered with the last control changing fastest.
(function () {
  function setup(box) {
    var data = JSON.parse(box.querySelector('script.rlf-data').textContent);
    var img = box.querySelector('img.rlf-frame');
    var inputs = Array.prototype.slice.call(box.querySelectorAll('[data-control]'));
    var urls = data.frames.map(function (f) { return 'data:image/png;base64,' + f; });
    function show() {
      var point = 0;
      inputs.forEach(function (el, k) {
        var i = parseInt(el.value, 10);
        point = point * data.sizes[k] + i;
        var out = el.parentNode.querySelector('output');
        if (out) out.textContent = JSON.parse(el.getAttribute('data-texts'))[i];
      });
      img.src = urls[data.index[point]];
      img.setAttribute('data-frame', data.index[point]);
      box.setAttribute('data-point', point);
    }
    inputs.forEach(function (el) { el.addEventListener('input', show); el.addEventListener('change', show); });
    show();
    box.classList.add('rlf-ready');
  }
  function all() { document.querySelectorAll('.rnn-lit-frames:not(.rlf-ready)').forEach(setup); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', all); else all();
})();
