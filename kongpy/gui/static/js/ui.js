/* DOM helpers shared by every page: element builder, notices, confirmation. */
(function () {
  'use strict';
  var KP = window.KP = window.KP || {};

  // h('tag.class#id', {attr: v, onclick: f}, child, [children], 'text')
  KP.h = function (spec) {
    var m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec) || [];
    var el = document.createElement(m[1] || 'div');
    (m[2] || '').replace(/([.#])([\w-]+)/g, function (_, kind, name) {
      if (kind === '.') { el.classList.add(name); } else { el.id = name; }
    });
    var args = Array.prototype.slice.call(arguments, 1);
    if (args.length && args[0] && typeof args[0] === 'object' && !(args[0] instanceof Node) &&
        !Array.isArray(args[0])) {
      var attrs = args.shift();
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) { return; }
        if (k.slice(0, 2) === 'on') { el.addEventListener(k.slice(2), v); }
        else if (k === 'text') { el.textContent = v; }
        else if (k in el && k !== 'list' && k !== 'form') { el[k] = v; }
        else { el.setAttribute(k, v === true ? '' : v); }
      });
    }
    KP.append(el, args);
    return el;
  };

  KP.append = function (el, children) {
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) { return; }
      if (Array.isArray(c)) { KP.append(el, c); return; }
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    });
    return el;
  };

  KP.notice = function (text, kind) {
    var box = document.getElementById('notice');
    box.className = text ? (kind || 'info') : '';
    box.textContent = text || '';
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  };

  // A promise of true when the user confirms; a <dialog> keeps the focus inside.
  KP.confirm = function (text, action) {
    var dialog = document.getElementById('confirm');
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-ok').textContent = action || 'Confirm';
    return new Promise(function (resolve) {
      dialog.addEventListener('close', function once() {
        dialog.removeEventListener('close', once);
        resolve(dialog.returnValue === 'ok');
      });
      dialog.returnValue = '';
      dialog.showModal();
      document.getElementById('confirm-cancel').focus();
    });
  };

  KP.show = function (value) {
    if (value === null || value === undefined || value === '') { return '—'; }
    if (Array.isArray(value)) {
      if (!value.length) { return '—'; }
      if (value.every(function (v) { return typeof v !== 'object'; })) { return value.join(', '); }
    }
    if (typeof value === 'object') {
      if (value.id && Object.keys(value).length === 1) { return value.id; }
      return JSON.stringify(value);
    }
    return String(value);
  };

  KP.tags = function (tags) {
    return (tags || []).map(function (t) { return KP.h('span.tag', t); });
  };

  KP.time = function (epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleString() : '—';
  };

  KP.empty = function (title, text, action) {
    return KP.h('div.card.empty', KP.h('strong', title), KP.h('p', text), action || null);
  };

  KP.page = function (title) {
    var main = document.getElementById('main');
    main.textContent = '';
    document.title = title + ' · kongpy';
    main.appendChild(KP.h('h1', title));
    return main;
  };
}());
