/* Plan form: "add a row" for the repeated working-group and task rows. A new row is a blank
   copy of the last one with the next index in its names (g-3-key, k-5-levels…), which is all
   the server reads (plan_form.form_values counts rows by the highest index posted). */
(function () {
  'use strict';
  var ROW_NAME = /^(f-)?([gk])-(\d+)-/;

  function renumber(row, n) {
    row.setAttribute('data-row', String(n));
    row.classList.remove('has-error');
    row.querySelectorAll('[name], [id], label[for], [data-field]').forEach(function (el) {
      ['name', 'id', 'for', 'data-field'].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v && ROW_NAME.test(v)) {
          el.setAttribute(attr, v.replace(ROW_NAME, function (_, f, kind) {
            return (f || '') + kind + '-' + n + '-';
          }));
        }
      });
    });
  }

  function blank(row) {
    row.querySelectorAll('.field-error').forEach(function (el) { el.remove(); });
    row.querySelectorAll('.has-error').forEach(function (el) { el.classList.remove('has-error'); });
    row.querySelectorAll('input, select, textarea').forEach(function (el) {
      if (el.type === 'checkbox' || el.type === 'radio') {
        el.checked = false;
        el.removeAttribute('checked');
      } else if (el.tagName === 'SELECT') {
        el.selectedIndex = 0;
      } else {
        el.value = '';
        el.setAttribute('value', '');
      }
    });
  }

  document.querySelectorAll('button[data-add-row]').forEach(function (button) {
    var section = button.closest('section');
    var max = parseInt(button.getAttribute('data-max') || '50', 10);
    function rows() { return section.querySelectorAll('.rs-row[data-row]'); }
    function update() { button.hidden = rows().length >= max; }
    button.addEventListener('click', function () {
      var all = rows();
      if (!all.length || all.length >= max) { return; }
      var last = all[all.length - 1];
      var next = 0;
      all.forEach(function (r) { next = Math.max(next, parseInt(r.getAttribute('data-row'), 10) + 1); });
      var row = last.cloneNode(true);
      renumber(row, next);
      blank(row);
      last.parentNode.insertBefore(row, last.nextSibling);
      var first = row.querySelector('input:not([type=checkbox]), select, textarea');
      if (first) { first.focus(); }
      update();
    });
    button.hidden = false;
    update();
  });
}());
