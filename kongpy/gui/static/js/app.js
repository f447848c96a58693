/* The GUI's entry: navigation, routing under admin_gui_path, token login, overview. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;
  var NAV = [['', 'Overview'], ['services', 'Gateway Services'], ['routes', 'Routes'],
    ['consumers', 'Consumers'], ['plugins', 'Plugins'], ['upstreams', 'Upstreams'],
    ['certificates', 'Certificates'], ['snis', 'SNIs'], ['ca_certificates', 'CA Certificates'],
    ['vaults', 'Vaults'], ['key_sets', 'Key Sets'], ['keys', 'Keys'],
    ['traffic', 'Live traffic'], ['history', 'History']];
  var timers = [];
  var returnTo = null;

  // A delayed call that navigation cancels (pages that refresh themselves).
  KP.timer = function (fn, ms) { timers.push(setTimeout(fn, ms)); };

  KP.go = function (path, query) {
    var qs = Object.keys(query || {}).filter(function (k) { return query[k]; })
      .map(function (k) { return k + '=' + encodeURIComponent(query[k]); }).join('&');
    history.pushState(null, '', KP.api.basePath + path + (qs ? '?' + qs : ''));
    KP.route();
  };

  function current() {
    var path = location.pathname;
    var base = KP.api.basePath;
    path = path.indexOf(base) === 0 ? path.slice(base.length) : path.replace(/^\//, '');
    var query = {};
    location.search.replace(/^\?/, '').split('&').filter(Boolean).forEach(function (pair) {
      var i = pair.indexOf('=');
      query[decodeURIComponent(pair.slice(0, i < 0 ? pair.length : i))] =
        i < 0 ? '' : decodeURIComponent(pair.slice(i + 1).replace(/\+/g, ' '));
    });
    return {segs: path.split('/').filter(Boolean).map(decodeURIComponent), query: query,
      path: path};
  }

  function markNav(first) {
    Array.prototype.forEach.call(document.querySelectorAll('#nav a'), function (a) {
      if (a.getAttribute('data-section') === (first || '')) {
        a.setAttribute('aria-current', 'page');
      } else { a.removeAttribute('aria-current'); }
    });
  }

  KP.route = function () {
    timers.forEach(clearTimeout);
    timers = [];
    var at = current(), s = at.segs, q = at.query, kinds = KP.kinds;
    markNav(s[0]);
    document.getElementById('logout').hidden = !KP.api.token();
    if (s[0] === 'login') { return login(); }
    if (!s.length) { return overview(); }
    if (s[0] === 'history' && s.length === 1) { return KP.renderHistory(); }
    if (s[0] === 'traffic' && s.length === 1) { return KP.renderTraffic(); }
    if (s[0] === 'consumers' && s[2] === 'credentials' && s.length >= 5) {
      return nested(KP.credentialKind(s[1], s[3]), s.slice(4), q);
    }
    if (s[0] === 'upstreams' && s[2] === 'targets' && s.length >= 4) {
      return nested(KP.targetKind(s[1]), s.slice(3), q);
    }
    var d = kinds[s[0]];
    if (!d) { return notFound(); }
    if (s.length === 1) { return KP.renderList(d, q); }
    if (s[1] === 'new' && s.length === 2) {
      return d.key === 'plugins' && !q.name ? KP.pluginPicker(q) : KP.renderForm(d, null, q);
    }
    return nested(d, s.slice(1), q);
  };

  function nested(d, rest, q) {
    if (!d) { return notFound(); }
    if (rest[0] === 'new' && rest.length === 1) { return KP.renderForm(d, null, q); }
    if (rest.length === 1) { return KP.renderView(d, rest[0]); }
    if (rest.length === 2 && rest[1] === 'edit') { return KP.renderForm(d, rest[0], q); }
    return notFound();
  }

  function notFound() {
    KP.page('Not found').appendChild(KP.empty('This page does not exist',
      'Choose a section in the menu.', KP.link('', 'Go to the overview', '.button')));
  }

  function overview() {
    var main = KP.page('Overview');
    return KP.api.get('/').then(function (info) {
      var conf = info.configuration || {};
      var plugins = Object.keys((info.plugins || {}).available_on_server || {});
      main.appendChild(h('div.stats',
        [['Kong Admin API', info.version], ['kongpy', info.kongpy_version],
          ['Datastore', conf.database], ['Node', info.hostname],
          ['Plugins enabled', String(plugins.length)]].map(function (p) {
          return h('div.stat', p[0], h('b', KP.show(p[1])));
        })));
      main.appendChild(h('h2', 'Sections'));
      main.appendChild(h('ul', NAV.slice(1).map(function (n) {
        return h('li', KP.link(n[0], n[1]));
      })));
    }, function (err) {
      main.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
    });
  }

  function login(message) {
    var main = KP.page('Log in');
    var input = h('input', {type: 'password', id: 'token', name: 'token', autocomplete: 'off',
      'aria-describedby': 'token-error'});
    var error = h('div.field-error#token-error', {role: 'alert'}, message || '');
    var button = h('button', {type: 'submit'}, 'Log in');
    var form = h('form.card', {onsubmit: function (ev) {
      ev.preventDefault();
      if (!input.value.trim()) { error.textContent = 'Enter your token.'; input.focus(); return; }
      button.disabled = true;
      error.textContent = '';
      KP.api.get('/', {token: input.value.trim(), login: true}).then(function () {
        KP.api.setToken(input.value.trim());
        KP.notice('Logged in.', 'info');
        var back = returnTo && returnTo !== 'login' ? returnTo : '';
        returnTo = null;
        KP.go(back);
      }, function (err) {
        button.disabled = false;
        error.textContent = err.status === 401
          ? 'This token is not accepted: ' + err.message + '.' : KP.failure(err);
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      });
    }}, h('p', 'This Admin API needs a token (admin_auth = token). Tokens come from ',
      h('code', 'kongpy admin token create NAME'), '.'),
    h('div.field' + (message ? '.invalid' : ''), h('label', {'for': 'token'}, 'Kong-Admin-Token'),
      input, error), h('div.actions', button));
    main.appendChild(form);
    input.focus();
  }

  // A token the Admin API refuses (expired, revoked): back to the login page.
  KP.api.onUnauthorized = function (err) {
    var hadToken = !!KP.api.token();
    var here = current().path;
    if (here === 'login' && !hadToken) { return; }  // a second refusal of the same page
    KP.api.setToken('');
    if (here !== 'login') { returnTo = here + location.search; }
    history.replaceState(null, '', KP.api.basePath + 'login');
    markNav('login');
    login(hadToken ? 'Your token is no longer accepted (' + err.message +
      '): it may have expired or been revoked. Log in again.' : '');
  };

  function buildNav() {
    var nav = document.getElementById('nav');
    NAV.forEach(function (n) {
      var a = KP.link(n[0], n[1]);
      a.setAttribute('data-section', n[0]);
      nav.appendChild(a);
    });
    var toggle = document.getElementById('menu-toggle');
    toggle.addEventListener('click', function () {
      var open = nav.classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    });
    document.getElementById('logout').addEventListener('click', function () {
      KP.api.setToken('');
      KP.notice('Logged out.', 'info');
      KP.go('login');
    });
  }

  document.addEventListener('click', function (ev) {
    var a = ev.target.closest && ev.target.closest('a[data-link]');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) { return; }
    ev.preventDefault();
    KP.notice('');
    document.getElementById('nav').classList.remove('open');
    history.pushState(null, '', a.getAttribute('href'));
    KP.route();
    document.getElementById('main').focus();
  });
  window.addEventListener('popstate', function () { KP.route(); });

  // Whatever a page did not expect still ends as a message, never a blank screen.
  window.addEventListener('error', function (ev) { KP.fail(ev.error || ev.message); });
  window.addEventListener('unhandledrejection', function (ev) { KP.fail(ev.reason); });

  buildNav();
  KP.route();
}());
