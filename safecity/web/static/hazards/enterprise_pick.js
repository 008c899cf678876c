/* Report form: the enterprise is found by searching the scoped enterprise API (any enterprise
   the user may see, not a list cut at some length); picking a result sets the hidden
   enterprise_id. Typing again clears the choice until a result is picked. */
(function () {
  'use strict';
  var box = document.getElementById('enterprise-pick');
  if (!box || !window.fetch) { return; }
  var query = document.getElementById('r-enterprise-q');
  var id = document.getElementById('r-enterprise');
  var list = document.getElementById('r-enterprise-results');
  var clear = document.getElementById('r-enterprise-clear');
  var none = document.getElementById('r-enterprise-none');
  var hint = none.textContent;
  var url = box.getAttribute('data-search');
  var timer = null, asked = 0, items = [];

  function close() { list.hidden = true; query.setAttribute('aria-expanded', 'false'); }
  function choose(item) {
    id.value = item ? String(item.id) : '';
    query.value = item ? item.name : '';
    clear.hidden = !item;
    none.textContent = hint;
    close();
  }
  function show(found) {
    items = found;
    list.textContent = '';
    found.forEach(function (e, n) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.setAttribute('role', 'option');
      b.setAttribute('data-id', String(e.id));
      b.textContent = e.name;
      var small = document.createElement('small');
      small.textContent = e.uscc + ' · ' + e.division_code;
      b.appendChild(small);
      b.addEventListener('click', function () { choose(items[n]); query.focus(); });
      li.appendChild(b);
      list.appendChild(li);
    });
    none.textContent = found.length ? hint : none.getAttribute('data-none');
    list.hidden = !found.length;
    query.setAttribute('aria-expanded', found.length ? 'true' : 'false');
  }
  function search() {
    var q = query.value.trim();
    var mine = ++asked;
    if (!q) { show([]); none.textContent = hint; return; }
    fetch(url + '?size=10&q=' + encodeURIComponent(q), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (body) { if (mine === asked) { show(body.items || []); } })
      .catch(function () { if (mine === asked) { show([]); } });
  }
  query.addEventListener('input', function () {
    id.value = '';
    clear.hidden = true;
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  query.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') {  // pick the first result rather than send the form half-filled
      ev.preventDefault();
      if (items.length && !list.hidden) { choose(items[0]); }
    } else if (ev.key === 'ArrowDown' && !list.hidden) {
      ev.preventDefault();
      list.querySelector('button').focus();
    } else if (ev.key === 'Escape') {
      close();
    }
  });
  list.addEventListener('keydown', function (ev) {
    var b = ev.target;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      var li = b.parentNode[ev.key === 'ArrowDown' ? 'nextElementSibling' : 'previousElementSibling'];
      (li ? li.firstChild : query).focus();
    } else if (ev.key === 'Escape') {
      close();
      query.focus();
    }
  });
  clear.addEventListener('click', function () { choose(null); query.focus(); });
  document.addEventListener('click', function (ev) { if (!box.contains(ev.target)) { close(); } });
}());
