/* The warnings list (the generic kind list): its filter selects apply at once, as the console's
   status select always did (app.js submits a select marked data-autosubmit; no inline handler,
   for the CSP). */
(function () {
  'use strict';
  Array.prototype.forEach.call(document.querySelectorAll('form.filters select'), function (el) {
    el.setAttribute('data-autosubmit', '');
  });
})();
