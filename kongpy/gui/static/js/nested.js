/* What an entity's page shows of the entities under it: a service's routes and
   plugins, a consumer's credentials, an upstream's targets with their live health. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;
  // credential plugin → its Admin API path under a consumer, and its schema
  var CREDENTIALS = {'key-auth': ['key-auth', 'keyauth_credentials', ['key']],
    'basic-auth': ['basic-auth', 'basicauth_credentials', ['username']],
    'acl': ['acls', 'acls', ['group']],
    'hmac-auth': ['hmac-auth', 'hmacauth_credentials', ['username']],
    'jwt': ['jwt', 'jwt_secrets', ['key', 'algorithm']],
    'oauth2': ['oauth2', 'oauth2_credentials', ['name', 'client_id']]};
  var HEALTH_EVERY_MS = 5000;

  function under(base, extra) {
    var d = {};
    Object.keys(base).forEach(function (k) { d[k] = base[k]; });
    Object.keys(extra).forEach(function (k) { d[k] = extra[k]; });
    return d;
  }

  function section(main, title, newLink, newText) {
    var box = h('section', {'aria-label': title});
    main.appendChild(h('h2', title));
    if (newLink) { main.appendChild(h('div.toolbar', KP.link(newLink, newText, '.button'))); }
    main.appendChild(box);
    return box;
  }

  KP.credentialKind = function (consumerId, type) {
    var c = CREDENTIALS[type];
    if (!c) { return null; }
    var back = 'consumers/' + consumerId;
    return {key: c[1], title: type + ' credentials', singular: type + ' credential',
      api: '/consumers/' + consumerId + '/' + c[0], ui: back + '/credentials/' + type,
      schema: c[1], columns: ['id'].concat(c[2]), skip: ['consumer'], back: back,
      long: type === 'jwt' ? ['rsa_public_key'] : null,
      afterSave: function () { return back; }};
  };

  KP.targetKind = function (upstreamId) {
    var back = 'upstreams/' + upstreamId;
    return {key: 'targets', title: 'Targets', singular: 'Target',
      api: '/upstreams/' + upstreamId + '/targets', ui: back + '/targets', schema: 'targets',
      columns: ['target', 'weight'], skip: ['upstream'], back: back,
      afterSave: function () { return back; }};
  };

  KP.children = {
    routes: function (d, e, main) {
      KP.renderList(under(KP.kinds.routes, {api: '/services/' + e.id + '/routes'}), {},
        section(main, 'Routes', 'routes/new?service=' + e.id, 'New route'));
    },
    plugins: function (d, e, main) {
      var scope = d.key.replace(/s$/, '');
      KP.renderList(under(KP.kinds.plugins, {api: '/' + d.key + '/' + e.id + '/plugins',
        emptyHint: 'No plugin applies to this ' + scope + ' alone.'}), {},
        section(main, 'Plugins', 'plugins/new?' + scope + '=' + e.id, 'New plugin'));
    },
    credentials: function (d, e, main) {
      main.appendChild(h('h2', 'Credentials'));
      KP.api.get('/').then(function (info) {
        var enabled = (info.plugins || {}).available_on_server || {};
        var types = Object.keys(CREDENTIALS).filter(function (t) { return enabled[t]; });
        if (!types.length) {
          main.appendChild(KP.empty('No credential plugins', 'This node enables none of ' +
            Object.keys(CREDENTIALS).join(', ') + '.'));
        }
        types.forEach(function (t) {
          var c = KP.credentialKind(e.id, t);
          main.appendChild(h('h3', t));
          var box = h('div');
          main.appendChild(h('div.toolbar', KP.link(c.ui + '/new', 'New ' + t + ' credential',
            '.button')));
          main.appendChild(box);
          KP.renderList(c, {}, box);
        });
      }, KP.fail);
    },
    targets: function (d, e, main) {
      var c = KP.targetKind(e.id);
      KP.renderList(c, {}, section(main, 'Targets', c.ui + '/new', 'New target'));
      var box = section(main, 'Health (this node, refreshed every 5 s)');
      var refresh = function () {
        if (!document.body.contains(box)) { return; }
        KP.api.get('/upstreams/' + e.id + '/health').then(function (page) {
          box.textContent = '';
          if (!(page.data || []).length) {
            box.appendChild(KP.empty('No targets', 'Add a target to see its health.'));
            return;
          }
          box.appendChild(h('div.card', h('table.list', {'aria-label': 'Target health'},
            h('thead', h('tr', ['target', 'weight', 'health'].map(function (c) {
              return h('th', {scope: 'col'}, c);
            }))),
            h('tbody', page.data.map(function (t) {
              var state = t.health || 'unknown';
              return h('tr', h('td', {'data-label': 'target'}, t.target),
                h('td', {'data-label': 'weight'}, String(t.weight)),
                h('td.state-' + state.toLowerCase(), {'data-label': 'health'}, state));
            })))));
        }, function (err) {
          box.textContent = '';
          box.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
        }).then(function () { KP.timer(refresh, HEALTH_EVERY_MS); });
      };
      refresh();
    }
  };
}());
