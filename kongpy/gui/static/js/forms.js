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
    var preset = (this.opts.preset || {})[path];  // a new route of a given service, …
    var c = {id: id, path: path, name: name, def: def, form: this,
      current: this.editing ? value : (preset ? {id: preset} : def['default'])};
    var made = BUILDERS.filter(function (b) { return b[0](def); })[0][1](c);
    var hints = [made.hint, def.auto ? 'generated when left empty' : null, def.description]
      .filter(Boolean).join(' · ');
    var described = [hints ? id + '-hint' : null, id + '-error'].filter(Boolean).join(' ');
    made.control.setAttribute('aria-describedby', described);
    wrap.appendChild(made.group ? h('span.label', {id: id + '-label'}, label(name),
      def.required ? ' *' : '') : h('label', {'for': id}, label(name), def.required ? ' *' : ''));
    wrap.appendChild(made.control);
    if (hints) { wrap.appendChild(h('div.hint', {id: id + '-hint'}, hints)); }
    wrap.appendChild(h('div.field-error', {'data-error-for': path, id: id + '-error'}));
    this.fields.push({path: path, read: made.read, control: made.control,
      initial: safeRead(made.read)});
    return wrap;
  };

  function listOf(def) {
    return (def.type === 'set' || def.type === 'array') && def.elements;
  }

  function foreignControl(c) {
    var control = h('select', {id: c.id, name: c.path}, h('option', {value: ''}, '— none —'));
    var chosen = c.current && c.current.id;
    c.form.loadChoices(control, c.def.reference, chosen);
    // until its choices are loaded, the field holds what the entity holds
    return {control: control, read: function () {
      if (!control.kpLoaded) { return chosen ? {id: chosen} : null; }
      return control.value ? {id: control.value} : null;
    }};
  }

  function checkboxControl(c) {
    var control = h('input', {type: 'checkbox', id: c.id, name: c.path, checked: !!c.current});
    return {control: control, read: function () { return control.checked; }};
  }

  function options(c, values, unset) {
    return [unset ? h('option', {value: ''}, '— unset —') : null].concat(values.map(function (o) {
      return h('option', {value: String(o), selected: String(c.current) === String(o)}, o);
    }));
  }

  function triStateControl(c) {
    var control = h('select', {id: c.id, name: c.path}, options(c, ['true', 'false'], true));
    return {control: control, read: function () {
      return control.value === '' ? null : control.value === 'true';
    }};
  }

  function selectControl(c) {
    var control = h('select', {id: c.id, name: c.path},
      options(c, c.def.one_of, !(c.def.required && isSet(c.current))));
    return {control: control, read: function () {
      if (control.value === '') { return null; }
      return c.def.type === 'string' ? control.value : number(control.value);
    }};
  }

  function choicesControl(c) {
    var picked = c.current || [];
    var control = h('div.choices', {id: c.id, role: 'group', 'aria-labelledby': c.id + '-label'},
      c.def.elements.one_of.map(function (o) {
        return h('label', h('input', {type: 'checkbox', value: String(o), name: c.path,
          checked: picked.indexOf(o) >= 0}), ' ', String(o));
      }));
    return {control: control, group: true, read: function () {
      return Array.prototype.filter.call(control.querySelectorAll('input'), function (i) {
        return i.checked;
      }).map(function (i) { return i.value; });
    }};
  }

  function listControl(c) {
    var control = h('input', {type: 'text', id: c.id, name: c.path,
      value: (c.current || []).join(', ')});
    return {control: control, hint: 'comma-separated', read: function () {
      var items = control.value.split(',').map(function (s) { return s.trim(); })
        .filter(Boolean);
      if (!items.length) { return null; }
      return c.def.elements.type === 'string' ? items : items.map(number);
    }};
  }

  function textControl(c) {
    var long = (c.form.opts.long || LONG_TEXT).indexOf(c.name) >= 0;
    var control = h(long ? 'textarea' : 'input', {id: c.id, name: c.path,
      type: long ? null : 'text', inputmode: c.def.type === 'string' ? null : 'decimal',
      value: isSet(c.current) ? String(c.current) : ''});
    return {control: control, read: function () {
      if (control.value === '') { return null; }
      return c.def.type === 'string' ? control.value : number(control.value);
    }};
  }

  function jsonControl(c) {
    var control = h('textarea', {id: c.id, name: c.path,
      value: isSet(c.current) ? JSON.stringify(c.current, null, 2) : ''});
    return {control: control, hint: 'JSON', read: function () {
      if (control.value.trim() === '') { return null; }
      try { return JSON.parse(control.value); } catch (e) {
        throw {path: c.path, message: 'not valid JSON: ' + e.message};
      }
    }};
  }

  // The first builder whose test fits a field's definition makes its control.
  var BUILDERS = [
    [function (d) { return d.type === 'foreign'; }, foreignControl],
    [function (d) { return d.type === 'boolean' && (d.required || isSet(d['default'])); },
      checkboxControl],
    [function (d) { return d.type === 'boolean'; }, triStateControl],
    [function (d) { return d.one_of && scalar(d.type); }, selectControl],
    [function (d) { return listOf(d) && d.elements.one_of; }, choicesControl],
    [function (d) { return listOf(d) && scalar(d.elements.type); }, listControl],
    [function (d) { return scalar(d.type); }, textControl],
    [function () { return true; }, jsonControl]
  ];

  function safeRead(read) { try { return JSON.stringify(read()); } catch (e) { return null; } }

  function number(text) {
    return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
  }

  Form.prototype.loadChoices = function (select, reference, chosen) {
    // the referenced kind's own path when it has one (key_sets: /key-sets)
    var kind = KP.kinds && KP.kinds[reference];
    var path = (kind ? kind.api : '/' + reference) + '?size=1000';
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
