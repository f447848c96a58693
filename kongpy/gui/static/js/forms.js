/* Forms generated from the Admin API's schemas (/schemas/{entity}, /schemas/plugins/{name}):
   one renderer for every entity kind, custom plugins included. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;
  var AUTO = ['id', 'created_at', 'updated_at'];
  // fields shown as a text area unless the kind names its own (PEM documents)
  var LONG_TEXT = ['description'];

  function label(name) { return name.replace(/_/g, ' '); }
  function scalar(t) { return ['string', 'integer', 'number', 'boolean'].indexOf(t) >= 0; }
  function isSet(v) { return v !== undefined && v !== null; }

  // One form: fields[] of {path, def, read(), el}; errors shown beside them.
  function Form(schema, entity, opts) {
    this.opts = opts || {};
    this.editing = !!entity;
    this.fields = [];
    this.el = h('div.fields');
    this.summary = h('div.form-errors', {role: 'alert'});
    this.el.appendChild(this.summary);
    this.addFields(this.el, schema.fields || [], '', entity || {}, false);
  }

  Form.prototype.addFields = function (parent, fields, prefix, values, nested) {
    var self = this;
    fields.forEach(function (item) {
      var name = Object.keys(item)[0], def = item[name];
      var path = prefix ? prefix + '.' + name : name;
      if (!nested && (AUTO.indexOf(name) >= 0 || (self.opts.skip || []).indexOf(name) >= 0)) {
        return;
      }
      if (def.auto && def.type !== 'string') { return; }  // timestamps and the like
      if ('eq' in def && def.eq === null) { return; }  // a field this kind never takes
      var value = values ? values[name] : undefined;
      if (def.type === 'record' && def.fields) {
        var set = h('fieldset', {'data-path': path}, h('legend', label(name)));
        parent.appendChild(set);
        self.addFields(set, def.fields, path, value || (self.editing ? {} : null), true);
        set.appendChild(h('div.field-error', {'data-error-for': path}));
        return;
      }
      parent.appendChild(self.field(name, path, def, value));
    });
  };

  Form.prototype.field = function (name, path, def, value) {
    var id = 'f-' + path.replace(/\W/g, '-');
    var wrap = h('div.field', {'data-path': path});
    var fresh = !this.editing;
    var current = fresh ? def['default'] : value;
    var read, control;
    if (def.type === 'foreign') {
      control = h('select', {id: id, name: path}, h('option', {value: ''}, '— none —'));
      var chosen = current && current.id;
      this.loadChoices(control, def.reference, chosen);
      // until its choices are loaded, the field holds what the entity holds
      read = function () {
        if (!control.kpLoaded) { return chosen ? {id: chosen} : null; }
        return control.value ? {id: control.value} : null;
      };
    } else if (def.type === 'boolean' && (def.required || isSet(def['default']))) {
      control = h('input', {type: 'checkbox', id: id, name: path, checked: !!current});
      read = function () { return control.checked; };
    } else if (def.type === 'boolean') {
      control = h('select', {id: id, name: path},
        [['', '— unset —'], ['true', 'true'], ['false', 'false']].map(function (o) {
          return h('option', {value: o[0], selected: String(current) === o[0]}, o[1]);
        }));
      read = function () { return control.value === '' ? null : control.value === 'true'; };
    } else if (def.one_of && scalar(def.type)) {
      control = h('select', {id: id, name: path},
        def.required && isSet(current) ? null : h('option', {value: ''}, '— unset —'),
        def.one_of.map(function (o) {
          return h('option', {value: String(o), selected: String(current) === String(o)}, o);
        }));
      read = function () {
        if (control.value === '') { return null; }
        return def.type === 'string' ? control.value : number(control.value);
      };
    } else if ((def.type === 'set' || def.type === 'array') && def.elements &&
               def.elements.one_of) {
      var picked = current || [];
      control = h('div.choices', {id: id, role: 'group', 'aria-label': label(name)},
        def.elements.one_of.map(function (o) {
          return h('label', h('input', {type: 'checkbox', value: String(o), name: path,
            checked: picked.indexOf(o) >= 0}), ' ', String(o));
        }));
      read = function () {
        return Array.prototype.filter.call(control.querySelectorAll('input'), function (i) {
          return i.checked;
        }).map(function (i) { return i.value; });
      };
      wrap.appendChild(h('span.label', label(name)));
    } else if ((def.type === 'set' || def.type === 'array') && def.elements &&
               scalar(def.elements.type)) {
      control = h('input', {type: 'text', id: id, name: path,
        value: (current || []).join(', '), 'aria-describedby': id + '-hint'});
      read = function () {
        var items = control.value.split(',').map(function (s) { return s.trim(); })
          .filter(Boolean);
        if (!items.length) { return null; }
        return def.elements.type === 'string' ? items : items.map(number);
      };
      wrap.hint = 'comma-separated';
    } else if (scalar(def.type)) {
      var long = (this.opts.long || LONG_TEXT).indexOf(name) >= 0;
      control = h(long ? 'textarea' : 'input', {id: id, name: path,
        type: long ? null : 'text', inputmode: def.type === 'string' ? null : 'decimal',
        value: isSet(current) ? String(current) : ''});
      read = function () {
        if (control.value === '') { return null; }
        return def.type === 'string' ? control.value : number(control.value);
      };
    } else {
      control = h('textarea', {id: id, name: path, 'aria-describedby': id + '-hint',
        value: isSet(current) ? JSON.stringify(current, null, 2) : ''});
      read = function () {
        if (control.value.trim() === '') { return null; }
        try { return JSON.parse(control.value); } catch (e) {
          throw {path: path, message: 'not valid JSON: ' + e.message};
        }
      };
      wrap.hint = 'JSON';
    }
    if (!wrap.querySelector('.label')) {
      wrap.appendChild(h('label', {'for': id}, label(name), def.required ? ' *' : ''));
    }
    wrap.appendChild(control);
    var hints = [wrap.hint, def.auto ? 'generated when left empty' : null, def.description]
      .filter(Boolean).join(' · ');
    if (hints) { wrap.appendChild(h('div.hint', {id: id + '-hint'}, hints)); }
    wrap.appendChild(h('div.field-error', {'data-error-for': path, id: id + '-error'}));
    this.fields.push({path: path, read: read, control: control, initial: null});
    this.fields[this.fields.length - 1].initial = safeRead(read);
    return wrap;
  };

  function safeRead(read) { try { return JSON.stringify(read()); } catch (e) { return null; } }

  function number(text) {
    return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
  }

  Form.prototype.loadChoices = function (select, reference, chosen) {
    var path = '/' + reference + '?size=1000';
    KP.api.get(path).then(function (page) {
      (page.data || []).forEach(function (e) {
        var name = e.name || e.username || e.custom_id || e.id;
        select.appendChild(h('option', {value: e.id, selected: e.id === chosen},
          name === e.id ? e.id : name + ' (' + e.id.slice(0, 8) + ')'));
      });
      if (chosen && select.value !== chosen) {
        select.appendChild(h('option', {value: chosen, selected: true}, chosen));
      }
      select.kpLoaded = true;
    }, function (err) {
      select.appendChild(h('option', {value: '', disabled: true}, KP.failure(err)));
    });
  };

  // The body to send: a new entity omits what was left empty (defaults apply);
  // an edit sends what changed, null for what was emptied.
  Form.prototype.collect = function () {
    var body = {}, self = this;
    this.fields.forEach(function (f) {
      var v = f.read();
      if (self.editing && JSON.stringify(v) === f.initial) { return; }
      if (!self.editing && (v === null || (Array.isArray(v) && !v.length && !f.initial))) {
        return;
      }
      var keys = f.path.split('.'), target = body;
      keys.slice(0, -1).forEach(function (k) { target = target[k] = target[k] || {}; });
      target[keys[keys.length - 1]] = v;
    });
    return body;
  };

  Form.prototype.clearErrors = function () {
    this.summary.textContent = '';
    Array.prototype.forEach.call(this.el.querySelectorAll('.field-error'), function (e) {
      e.textContent = '';
    });
    Array.prototype.forEach.call(this.el.querySelectorAll('.invalid'), function (e) {
      e.classList.remove('invalid');
    });
  };

  // Kong's `fields` of a 400 body beside the fields they name.
  Form.prototype.showErrors = function (message, fields) {
    this.clearErrors();
    var flat = {}, general = [], first = null, self = this;
    flatten(fields || {}, '', flat, general);
    Object.keys(flat).forEach(function (path) {
      var at = path;
      while (at && !self.el.querySelector('[data-error-for="' + at + '"]')) {
        at = at.indexOf('.') > 0 ? at.slice(0, at.lastIndexOf('.')) : '';
      }
      if (!at) { general.push(path + ': ' + flat[path]); return; }
      var box = self.el.querySelector('[data-error-for="' + at + '"]');
      box.textContent = (box.textContent ? box.textContent + '; ' : '') +
        (at === path ? '' : path.slice(at.length + 1) + ': ') + flat[path];
      var wrap = box.parentNode;
      wrap.classList.add('invalid');
      var control = wrap.querySelector('input, select, textarea');
      if (control) {
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-errormessage', box.id || '');
        first = first || control;
      }
    });
    this.summary.appendChild(h('p.field-error', message));
    general.forEach(function (g) { self.summary.appendChild(h('p.field-error', g)); });
    if (first) { first.focus(); } else { this.summary.scrollIntoView(); }
  };

  function flatten(obj, prefix, out, general) {
    Object.keys(obj).forEach(function (k) {
      var v = obj[k], path = prefix ? prefix + '.' + k : k;
      if (k === '@entity') {
        (Array.isArray(v) ? v : [v]).forEach(function (m) { general.push(KP.show(m)); });
      } else if (typeof v === 'string') {
        out[path] = v;
      } else if (Array.isArray(v)) {
        var msgs = v.filter(isSet).map(function (m) {
          return typeof m === 'string' ? m : JSON.stringify(m);
        });
        if (msgs.length) { out[path] = msgs.join('; '); }
      } else if (v && typeof v === 'object') {
        flatten(v, path, out, general);
      }
    });
  }

  KP.forms = {
    // A <form> for `schema`; `submit(body)` returns the request's promise.
    build: function (schema, entity, opts, submit) {
      var form = new Form(schema, entity, opts);
      var button = h('button', {type: 'submit'}, entity ? 'Save' : 'Create');
      var el = h('form.card', {novalidate: true}, form.el,
        h('div.actions', button, h('a.button.secondary', {href: opts.cancel, 'data-link': true},
          'Cancel')));
      el.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var body;
        try { body = form.collect(); } catch (bad) {
          var fields = {};
          fields[bad.path] = bad.message;
          form.showErrors('Fix the field below before saving.', fields);
          return;
        }
        button.disabled = true;  // one request per submission: nothing sent twice
        form.clearErrors();
        submit(body).then(null, function (err) {
          button.disabled = false;
          if (err instanceof KP.ApiError && err.body && err.body.fields) {
            form.showErrors(err.message, err.body.fields);
          } else {
            form.showErrors(KP.failure(err), null);
          }
        });
      });
      el.kpForm = form;
      return el;
    }
  };
}());
