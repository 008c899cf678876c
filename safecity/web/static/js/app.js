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
