/* SafeCity shell behaviour: phone navigation drawer, confirmations, closing open menus. */
(function () {
  'use strict';
  var toggle = document.querySelector('.nav-toggle');
  var backdrop = document.querySelector('.nav-backdrop');
  function setNav(open) {
    document.body.classList.toggle('nav-open', open);
    if (toggle) { toggle.setAttribute('aria-expanded', open ? 'true' : 'false'); }
  }
  if (toggle) {
    toggle.addEventListener('click', function () {
      setNav(!document.body.classList.contains('nav-open'));
    });
  }
  if (backdrop) { backdrop.addEventListener('click', function () { setNav(false); }); }

  // Menu groups the user opened stay open on the next page (the page's own group always is);
  // the active entry is scrolled into the menu's view.
  var KEY = 'safecity.nav.open';
  var folds = document.querySelectorAll('#sidenav details.nav-fold');
  var kept = [];
  try { kept = JSON.parse(window.localStorage.getItem(KEY) || '[]'); } catch (e) { kept = []; }
  folds.forEach(function (d) {
    var group = d.getAttribute('data-group');
    if (kept.indexOf(group) >= 0) { d.open = true; }
    d.querySelector('summary').addEventListener('click', function () {
      var i = kept.indexOf(group);  // the click is about to flip d.open
      if (d.open && i >= 0) { kept.splice(i, 1); } else if (!d.open && i < 0) { kept.push(group); }
      try { window.localStorage.setItem(KEY, JSON.stringify(kept)); } catch (e) { /* private mode */ }
    });
  });
  var nav = document.getElementById('sidenav');
  var current = nav && nav.querySelector('.nav-item.active');
  if (current && nav.scrollHeight > nav.clientHeight) {
    var top = current.offsetTop - nav.clientHeight / 3;
    if (current.offsetTop + current.offsetHeight > nav.clientHeight) { nav.scrollTop = Math.max(0, top); }
  }

  // Destructive posts (archive, disable) ask first; the text comes from the page language.
  document.addEventListener('submit', function (ev) {
    var msg = ev.target.getAttribute && ev.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  // Filter selects marked data-autosubmit apply at once (an inline onchange would break the CSP).
  document.addEventListener('change', function (ev) {
    var el = ev.target;
    if (el.hasAttribute && el.hasAttribute('data-autosubmit') && el.form) { el.form.submit(); }
  });

  // The unread count of the inbox, fetched after the page so no page waits for it.
  var inbox = document.querySelector('.inbox-link[data-unread-url]');
  if (inbox && window.fetch) {
    fetch(inbox.getAttribute('data-unread-url'), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        var badge = inbox.querySelector('.inbox-badge');
        if (body && body.unread > 0) {
          badge.textContent = body.unread > 99 ? '99+' : String(body.unread);
          badge.hidden = false;
        }
      })
      .catch(function () { /* the badge is a convenience; the inbox page is the record */ });
  }

  // <details> menus close when the user clicks elsewhere, as menus are expected to.
  document.addEventListener('click', function (ev) {
    document.querySelectorAll('details.user-menu[open], details.dropdown[open]').forEach(function (d) {
      if (!d.contains(ev.target)) { d.removeAttribute('open'); }
    });
  });
}());
