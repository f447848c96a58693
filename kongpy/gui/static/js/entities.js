/* Entity pages: list (search, tags, pages), view, create, edit, delete, for every kind. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;

  function kind(key, title, columns, extra) {
    var d = {key: key, title: title, api: '/' + key, ui: key, schema: key, columns: columns,
             singular: title.replace(/s$/, '').replace(/ie$/, 'y')};
    Object.keys(extra || {}).forEach(function (k) { d[k] = extra[k]; });
    return d;
  }

  KP.kinds = {
    services: kind('services', 'Gateway Services', ['name', 'protocol', 'host', 'port', 'path',
      'enabled'], {children: ['routes', 'plugins']}),
    routes: kind('routes', 'Routes', ['name', 'protocols', 'hosts', 'paths', 'service'],
      {children: ['plugins']}),
    consumers: kind('consumers', 'Consumers', ['username', 'custom_id'],
      {children: ['credentials', 'plugins']}),
    plugins: kind('plugins', 'Plugins', ['name', 'enabled', 'service', 'route', 'consumer']),
    upstreams: kind('upstreams', 'Upstreams', ['name', 'algorithm', 'slots'],
      {children: ['targets']}),
    certificates: kind('certificates', 'Certificates', ['id', 'snis'],
      {long: ['cert', 'key', 'cert_alt', 'key_alt']}),
    snis: kind('snis', 'SNIs', ['name', 'certificate']),
    ca_certificates: kind('ca_certificates', 'CA Certificates', ['id', 'cert_digest'],
      {singular: 'CA Certificate', long: ['cert', 'description']}),
    vaults: kind('vaults', 'Vaults', ['prefix', 'name', 'description']),
    key_sets: kind('key_sets', 'Key Sets', ['name'], {api: '/key-sets'}),
    keys: kind('keys', 'Keys', ['name', 'kid', 'set'], {long: ['jwk']})
  };

  KP.entityName = function (e) {
    return e.name || e.username || e.custom_id || e.prefix || e.target || e.key || e.group ||
      e.id;
  };

  KP.link = function (path, text, cls) {
    return h('a' + (cls || ''), {href: KP.api.basePath + path, 'data-link': true}, text);
  };

  function cell(d, e, col) {
    var v = e[col];
    if (col === 'tags') { return KP.tags(v); }
    if (v && typeof v === 'object' && v.id && KP.kinds[col + 's']) {
      return KP.link(col + 's/' + v.id, v.id.slice(0, 8) + '…');
    }
    return KP.show(v);
  }

  // Schema of an entity kind; a plugin's own schema merged into the common plugin fields.
  KP.schemaFor = function (d, pluginName) {
    if (!pluginName) { return KP.api.get('/schemas/' + d.schema); }
    return Promise.all([KP.api.get('/schemas/plugins'),
      KP.api.get('/schemas/plugins/' + encodeURIComponent(pluginName))]).then(function (both) {
      var own = {};
      both[1].fields.forEach(function (f) { own[Object.keys(f)[0]] = f; });
      var fields = both[0].fields.map(function (f) {
        var name = Object.keys(f)[0];
        return own[name] || f;
      });
      return {fields: fields};
    });
  };

  KP.renderList = function (d, query, into) {
    var size = query.size || '25', tags = query.tags || '', q = query.q || '';
    var offsets = (query.offsets || '').split(',').filter(Boolean);
    var container = into || KP.page(d.title);
    var box = h('div');
    if (!into) {
      var search = h('input', {type: 'search', id: 'search', name: 'q', value: q});
      var tagInput = h('input', {type: 'text', id: 'tags', name: 'tags', value: tags,
        placeholder: 'a,b (all) or a/b (any)'});
      var sizeSel = h('select', {id: 'size', name: 'size'}, ['10', '25', '100'].map(function (n) {
        return h('option', {value: n, selected: n === size}, n);
      }));
      var apply = function (ev) {
        ev.preventDefault();
        KP.go(d.ui, {q: search.value.trim(), tags: tagInput.value.trim(), size: sizeSel.value});
      };
      container.appendChild(h('form.toolbar', {role: 'search', onsubmit: apply},
        h('label', {'for': 'search'}, 'Search name or id', search),
        h('label', {'for': 'tags'}, 'Tags', tagInput),
        h('label', {'for': 'size'}, 'Per page', sizeSel),
        h('button.secondary', {type: 'submit'}, 'Apply'),
        d.noCreate ? null : KP.link(d.ui + '/new', 'New ' + d.singular, '.button')));
    }
    container.appendChild(box);
    box.appendChild(h('p.loading', 'Loading…'));
    var params = '?size=' + encodeURIComponent(size) +
      (tags ? '&tags=' + encodeURIComponent(tags) : '') +
      (offsets.length ? '&offset=' + encodeURIComponent(offsets[offsets.length - 1]) : '');
    return KP.api.get(d.api + params).then(function (page) {
      var rows = page.data || [];
      if (q) {
        rows = rows.filter(function (e) {
          return JSON.stringify([e.id, KP.entityName(e)]).toLowerCase()
            .indexOf(q.toLowerCase()) >= 0;
        });
        if (!rows.length) {
          return KP.api.get(d.api + '/' + encodeURIComponent(q)).then(function (e) {
            return {data: [e]};
          }, function () { return {data: [], searched: true}; });
        }
      }
      return {data: rows, next: page.next};
    }).then(function (page) {
      box.textContent = '';
      if (!page.data.length) {
        var filtered = q || tags || offsets.length;
        box.appendChild(KP.empty(filtered ? 'Nothing matches' : 'No ' + d.title.toLowerCase() +
          ' yet', filtered ? 'No ' + d.title.toLowerCase() + ' match these filters.'
          : (d.emptyHint || 'Create the first one.'),
          d.noCreate ? null : KP.link(d.ui + '/new', 'New ' + d.singular, '.button')));
        return;
      }
      var cols = d.columns.concat(['tags']);
      box.appendChild(h('div.card', h('table.list', {'aria-label': d.title},
        h('thead', h('tr', cols.map(function (c) { return h('th', {scope: 'col'}, c); }),
          h('th', {scope: 'col'}, 'actions'))),
        h('tbody', page.data.map(function (e) {
          return h('tr', cols.map(function (c, i) {
            var content = cell(d, e, c);
            if (i === 0) { content = KP.link(d.ui + '/' + e.id, content === '—' ? e.id : content); }
            return h('td', {'data-label': c}, content);
          }), h('td', {'data-label': 'actions'}, KP.link(d.ui + '/' + e.id + '/edit', 'Edit'),
            ' ', h('button.danger', {type: 'button', onclick: function () {
              KP.remove(d, e).then(function (done) { if (done) { KP.route(); } });
            }}, 'Delete')));
        })))));
      if (!into && (page.next || offsets.length)) {
        var nextOffset = page.next ? /[?&]offset=([^&]+)/.exec(page.next) : null;
        box.appendChild(h('nav.actions', {'aria-label': 'Pages'},
          offsets.length ? h('button.secondary', {type: 'button', onclick: function () {
            KP.go(d.ui, {q: q, tags: tags, size: size, offsets: offsets.slice(0, -1).join(',')});
          }}, 'Previous page') : null,
          nextOffset ? h('button.secondary', {type: 'button', onclick: function () {
            KP.go(d.ui, {q: q, tags: tags, size: size,
              offsets: offsets.concat([decodeURIComponent(nextOffset[1])]).join(',')});
          }}, 'Next page') : null));
      }
    }, function (err) {
      box.textContent = '';
      box.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
    });
  };

  // Deletes after a confirmation; a promise of whether it was deleted.
  KP.remove = function (d, e) {
    return KP.confirm('Delete ' + d.singular.toLowerCase() + ' ' + KP.entityName(e) +
      '? This cannot be undone.', 'Delete').then(function (ok) {
      if (!ok) { return false; }
      return KP.api.del(d.api + '/' + e.id).then(function () {
        KP.notice(d.singular + ' ' + KP.entityName(e) + ' deleted.', 'info');
        return true;
      }, function (err) { KP.fail(err); return false; });
    });
  };

  KP.renderView = function (d, id) {
    var main = KP.page(d.singular);
    return KP.api.get(d.api + '/' + encodeURIComponent(id)).then(function (e) {
      main.querySelector('h1').textContent = d.singular + ': ' + KP.entityName(e);
      main.appendChild(h('div.actions', KP.link(d.ui + '/' + e.id + '/edit', 'Edit', '.button'),
        h('button.danger', {type: 'button', onclick: function () {
          KP.remove(d, e).then(function (done) { if (done) { KP.go(d.back || d.ui); } });
        }}, 'Delete')));
      main.appendChild(h('div.card', h('dl.props', Object.keys(e).map(function (k) {
        var v = e[k];
        var shown = (k === 'created_at' || k === 'updated_at') ? KP.time(v)
          : (v && typeof v === 'object' && !Array.isArray(v) && !(v.id && KP.kinds[k + 's']))
            ? h('pre', JSON.stringify(v, null, 2)) : cell(d, e, k);
        return [h('dt', k), h('dd', shown)];
      }))));
      (d.children || []).forEach(function (child) { KP.children[child](d, e, main); });
    }, function (err) {
      main.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
    });
  };

  KP.renderForm = function (d, id, query) {
    var plugin = d.key === 'plugins' ? query.name : null;
    var main = KP.page((id ? 'Edit ' : 'New ') + d.singular + (plugin ? ': ' + plugin : ''));
    var loading = id ? KP.api.get(d.api + '/' + encodeURIComponent(id)) : Promise.resolve(null);
    return loading.then(function (entity) {
      plugin = entity && d.key === 'plugins' ? entity.name : plugin;
      return KP.schemaFor(d, plugin).then(function (schema) {
        var skip = (d.skip || []).concat(plugin ? ['name'] : []);
        var back = entity ? d.ui + '/' + entity.id : (d.back || d.ui);
        // opened from a service's, route's or consumer's page: that one is preselected
        var preset = {service: query.service, route: query.route, consumer: query.consumer};
        var form = KP.forms.build(schema, entity, {skip: skip, long: d.long, preset: preset,
          cancel: KP.api.basePath + back},
          function (body) {
            Object.keys(d.fixed || {}).forEach(function (k) { body[k] = d.fixed[k]; });
            if (plugin && !entity) { body.name = plugin; }
            var call = entity ? KP.api.patch(d.api + '/' + entity.id, body)
              : KP.api.post(d.api, body);
            return call.then(function (saved) {
              KP.notice(d.singular + ' ' + KP.entityName(saved) + (entity ? ' saved.' : ' created.'),
                'info');
              KP.go(d.afterSave ? d.afterSave(saved) : d.ui + '/' + saved.id);
            });
          });
        main.appendChild(form);
        var first = form.querySelector('input, select, textarea');
        if (first) { first.focus(); }
      });
    }).then(null, function (err) {
      main.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
    });
  };

  KP.pluginPicker = function (query) {
    var main = KP.page('New Plugin: choose one');
    return KP.api.get('/').then(function (info) {
      var names = Object.keys((info.plugins || {}).available_on_server || {}).sort();
      if (!names.length) {
        main.appendChild(KP.empty('No plugins enabled', 'This node enables no plugin: set ' +
          '`plugins` in kongpy.conf.'));
        return;
      }
      var scope = ['service', 'route', 'consumer'].filter(function (k) { return query[k]; })
        .map(function (k) { return '&' + k + '=' + encodeURIComponent(query[k]); }).join('');
      main.appendChild(h('ul.card.choices', {'aria-label': 'Plugins'}, names.map(function (n) {
        return h('li', KP.link('plugins/new?name=' + encodeURIComponent(n) + scope, n));
      })));
    }, function (err) { main.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err))); });
  };
}());
