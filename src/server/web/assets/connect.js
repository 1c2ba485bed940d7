// The Connect page's script (docs/connect.md): the little the page cannot do without it.
/* global window, document, location, history */
'use strict';
(function () {
  var TOKEN = /^cnct_[A-Za-z0-9_-]{43}$/;
  var token = location.hash.slice(1);

  // 1. A link's token is in the fragment, which no server sees: take it out of the address
  // (and the history) at once, and post it for an HttpOnly cookie scoped to /connect.
  if (TOKEN.test(token)) {
    history.replaceState(null, '', location.pathname + location.search);
    var form = document.getElementById('connect-exchange');
    form.elements.namedItem('token').value = token;
    form.submit();
    return;
  }
  var opening = document.getElementById('connect-opening');
  if (opening) {
    opening.hidden = true;
    document.getElementById('connect-missing').hidden = false;
  }

  // 2. One OAuth service offered: go straight to its sign-in.
  var next = document.getElementById('connect-continue');
  if (next) {
    location.replace(next.href);
    return;
  }

  // 3. The outcome: told to the app that opened this popup (its allowed origins only, so no
  // other page learns it), or the browser goes back to the app's return URL.
  var outcome = document.getElementById('connect-outcome');
  if (!outcome) return;
  var message = JSON.parse(outcome.getAttribute('data-message'));
  var origins = JSON.parse(outcome.getAttribute('data-origins'));
  var back = outcome.getAttribute('data-return');
  if (window.opener && window.opener !== window) {
    origins.forEach(function (origin) {
      try {
        window.opener.postMessage(message, origin);
      } catch {
        // An origin the opener is not on: nothing is delivered there.
      }
    });
    window.close();
    return;
  }
  if (back) location.replace(back);
})();
