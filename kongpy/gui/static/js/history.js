/* The configuration history (docs/history.md): versions, the diff of any two, rollback. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;

  function summary(s) {
    return Object.keys(s || {}).map(function (table) {
      var c = s[table];
      return table + ' +' + c.created + ' ~' + c.updated + ' −' + c.deleted;
    }).join(', ') || '—';
  }

  function versionSelect(id, versions, chosen) {
    return h('select', {id: id, name: id}, versions.map(function (v) {
      return h('option', {value: String(v.version), selected: v.version === chosen},
        'version ' + v.version + ' · ' + KP.time(v.created_at));
    }));
  }

  function value(v) { return v === null || v === undefined ? '(none)' : JSON.stringify(v); }

  function renderDiff(box, diff) {
    box.textContent = '';
    box.appendChild(h('h2', 'Changes from version ' + diff.from + ' to version ' + diff.to));
    var tables = Object.keys(diff.changes || {});
    if (!tables.length) {
      box.appendChild(KP.empty('No difference', 'These two versions hold the same ' +
        'configuration.'));
      return;
    }
    tables.forEach(function (table) {
      var c = diff.changes[table];
      var card = h('div.card.diff', h('h3', table));
      (c.added || []).forEach(function (e) {
        card.appendChild(h('p.diff-added', '+ added ' + (e.name || e.id)));
        card.appendChild(h('pre', JSON.stringify(e.entity, null, 2)));
      });
      (c.removed || []).forEach(function (e) {
        card.appendChild(h('p.diff-removed', '− removed ' + (e.name || e.id)));
        card.appendChild(h('pre', JSON.stringify(e.entity, null, 2)));
      });
      (c.changed || []).forEach(function (e) {
        card.appendChild(h('p.diff-changed', '~ changed ' + (e.name || e.id)));
        card.appendChild(h('table', {'aria-label': 'changed fields of ' + (e.name || e.id)},
          h('thead', h('tr', h('th', {scope: 'col'}, 'field'), h('th', {scope: 'col'}, 'before'),
            h('th', {scope: 'col'}, 'after'))),
          h('tbody', Object.keys(e.fields).map(function (f) {
            return h('tr', h('td', f), h('td.old', value(e.fields[f].old)),
              h('td.new', value(e.fields[f]['new'])));
          }))));
      });
      box.appendChild(card);
    });
  }

  function rollback(v) {
    return KP.confirm('Roll the configuration back to version ' + v.version + ' (' +
      KP.time(v.created_at) + ')? Every entity changed since then returns to its state of ' +
      'that version.', 'Roll back').then(function (ok) {
      if (!ok) { return; }
      return KP.api.post('/config/rollback/' + v.version).then(function (made) {
        KP.notice('Rolled back to version ' + v.version + ': the configuration is now version ' +
          made.version + '.', 'info');
        KP.route();
      }, KP.fail);
    });
  }

  KP.renderHistory = function () {
    var main = KP.page('Configuration history');
    return KP.api.get('/config/history?size=100').then(function (page) {
      var versions = page.data || [];
      if (!versions.length) {
        main.appendChild(KP.empty('No versions recorded', 'Every change made through the ' +
          'Admin API records a version (config_history_size = 0 turns this off).'));
        return;
      }
      var newest = versions[0].version;
      var older = versions.length > 1 ? versions[1].version : newest;
      var from = versionSelect('diff-from', versions, older);
      var to = versionSelect('diff-to', versions, newest);
      var diffBox = h('div#diff', {'aria-live': 'polite'});
      var show = function (ev) {
        if (ev) { ev.preventDefault(); }
        KP.api.get('/config/history/' + to.value + '/diff?against=' + from.value)
          .then(function (diff) { renderDiff(diffBox, diff); }, function (err) {
            diffBox.textContent = '';
            diffBox.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
          });
      };
      main.appendChild(h('form.toolbar', {onsubmit: show},
        h('label', {'for': 'diff-from'}, 'From', from), h('label', {'for': 'diff-to'}, 'To', to),
        h('button', {type: 'submit'}, 'Show diff')));
      main.appendChild(diffBox);
      main.appendChild(h('h2', 'Versions (newest first)'));
      main.appendChild(h('div.card', h('table.list', {'aria-label': 'Versions'},
        h('thead', h('tr', ['version', 'when', 'by', 'changes', ''].map(function (c) {
          return h('th', {scope: 'col'}, c);
        }))),
        h('tbody', versions.map(function (v) {
          return h('tr', {'data-version': String(v.version)},
            h('td', {'data-label': 'version'}, String(v.version),
              v.rollback_of ? ' (rollback of ' + v.rollback_of + ')' : ''),
            h('td', {'data-label': 'when'}, KP.time(v.created_at)),
            h('td', {'data-label': 'by'}, v.origin || '—'),
            h('td', {'data-label': 'changes'}, summary(v.summary)),
            h('td', {'data-label': 'actions'}, v.version === newest ? 'current' :
              h('button.secondary', {type: 'button', onclick: function () { rollback(v); }},
                'Roll back to ' + v.version)));
        })))));
      if (versions.length > 1) { show(); }
    }, function (err) {
      main.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
    });
  };
}());
