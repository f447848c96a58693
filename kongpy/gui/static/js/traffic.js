/* Live traffic from the prometheus plugin's GET /metrics (docs/metrics.md): requests/s,
   status classes and latency percentiles per service and route, target health. */
(function () {
  'use strict';
  var KP = window.KP, h = KP.h;
  var EVERY_MS = 3000;
  var SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  var LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

  KP.parseMetrics = function (text) {
    var out = [];
    text.split('\n').forEach(function (line) {
      var m = SAMPLE.exec(line);
      if (!m || line[0] === '#') { return; }
      var labels = {};
      (m[2] || '').replace(LABEL, function (_, k, v) { labels[k] = v.replace(/\\(.)/g, '$1'); });
      out.push({name: m[1], labels: labels, value: Number(m[3])});
    });
    return out;
  };

  function key(l) { return (l.service || '—') + ' / ' + (l.route || '—'); }

  // Per service/route: requests by status class, latency buckets (cumulative counts).
  function aggregate(samples) {
    var rows = {};
    var row = function (l) {
      var k = key(l);
      return rows[k] = rows[k] || {key: k, total: 0, classes: {}, buckets: {}};
    };
    samples.forEach(function (s) {
      if (s.name === 'kong_http_requests_total') {
        var r = row(s.labels), cls = (s.labels.code || '?')[0] + 'xx';
        r.total += s.value;
        r.classes[cls] = (r.classes[cls] || 0) + s.value;
      } else if (s.name === 'kong_request_latency_ms_bucket') {
        var b = row(s.labels).buckets;
        b[s.labels.le] = (b[s.labels.le] || 0) + s.value;
      }
    });
    return rows;
  }

  function minus(now, before) {
    if (!before) { return now; }
    var d = {key: now.key, total: now.total - before.total, classes: {}, buckets: {}};
    Object.keys(now.classes).forEach(function (c) {
      d.classes[c] = now.classes[c] - (before.classes[c] || 0);
    });
    Object.keys(now.buckets).forEach(function (le) {
      d.buckets[le] = now.buckets[le] - (before.buckets[le] || 0);
    });
    return d;
  }

  // The upper bound of the bucket holding quantile q (what a histogram can say).
  KP.quantile = function (buckets, q) {
    var les = Object.keys(buckets).sort(function (a, b) {
      return (a === '+Inf' ? Infinity : Number(a)) - (b === '+Inf' ? Infinity : Number(b));
    });
    var total = les.length ? buckets[les[les.length - 1]] : 0;
    if (!total) { return null; }
    for (var i = 0; i < les.length; i++) {
      // Kong's bucket labels are zero-padded ("00025.0"): shown as numbers
      if (buckets[les[i]] >= q * total) {
        return les[i] === '+Inf' ? '> ' + Number(les[i - 1]) : String(Number(les[i]));
      }
    }
    return null;
  };

  function table(label, cols, rows) {
    return h('div.card', h('table.list', {'aria-label': label},
      h('thead', h('tr', cols.map(function (c) { return h('th', {scope: 'col'}, c); }))),
      h('tbody', rows.map(function (r) {
        return h('tr', r.map(function (v, i) { return h('td', {'data-label': cols[i]}, v); }));
      }))));
  }

  function render(box, samples, previous, seconds) {
    box.textContent = '';
    var now = aggregate(samples), before = previous ? aggregate(previous) : null;
    var keys = Object.keys(now).sort();
    var rows = keys.map(function (k) {
      var d = minus(now[k], before && before[k]);
      var p50 = KP.quantile(d.buckets, 0.5), p99 = KP.quantile(d.buckets, 0.99);
      return [k, before ? (d.total / seconds).toFixed(2) : '…',
        ['2xx', '3xx', '4xx', '5xx'].map(function (c) {
          return c + ' ' + (d.classes[c] || 0);
        }).join(' · '),
        p50 === null ? '—' : p50 + ' ms', p99 === null ? '—' : p99 + ' ms'];
    });
    box.appendChild(h('h2', 'Requests per service and route'));
    box.appendChild(rows.length ? table('Traffic', ['service / route', 'requests/s',
      'status classes (' + (before ? 'last ' + seconds.toFixed(0) + ' s' : 'since start') + ')',
      'p50', 'p99'], rows)
      : KP.empty('No traffic yet', 'Proxied requests appear here as they come.'));
    var health = samples.filter(function (s) {
      return s.name === 'kong_upstream_target_health' && s.value === 1;
    });
    box.appendChild(h('h2', 'Upstream targets'));
    box.appendChild(health.length ? table('Target health', ['upstream', 'target', 'address',
      'state'], health.map(function (s) {
        return [s.labels.upstream, s.labels.target, s.labels.address || '—',
          h('span.state-' + s.labels.state, s.labels.state)];
      })) : KP.empty('No target health', 'Upstreams with targets appear here when the ' +
        'prometheus plugin has upstream_health_metrics = true.'));
  }

  function howToEnable(main, onNode) {
    main.appendChild(KP.empty(onNode ? 'No prometheus plugin instance'
      : 'The prometheus plugin is not enabled on this node',
      'This page reads GET /metrics of the Admin API, which the prometheus plugin serves' +
      (onNode ? '. Add a global instance with status_code_metrics, latency_metrics and ' +
        'upstream_health_metrics on:' : ': add it to `plugins` in kongpy.conf (`bundled` ' +
        'includes it), reload the node, then add a global instance.'),
      onNode ? KP.link('plugins/new?name=prometheus', 'Add the prometheus plugin', '.button')
        : null));
  }

  KP.renderTraffic = function () {
    var main = KP.page('Live traffic');
    var box = h('div#traffic', {'aria-live': 'off'});
    var stamp = h('p.hint', {role: 'status'});
    main.appendChild(stamp);
    main.appendChild(box);
    var previous = null, previousAt = 0;
    var tick = function () {
      if (!document.body.contains(box)) { return; }
      KP.api.get('/plugins?size=1000').then(function (page) {
        var found = (page.data || []).some(function (p) { return p.name === 'prometheus'; });
        if (!found) { return null; }
        return KP.api.get('/metrics', {text: true});
      }).then(function (text) {
        if (text === null) { box.textContent = ''; howToEnable(box, true); return; }
        var samples = KP.parseMetrics(text), at = Date.now();
        render(box, samples, previous, (at - previousAt) / 1000);
        previous = samples;
        previousAt = at;
        stamp.textContent = 'Updated ' + new Date(at).toLocaleTimeString() + ', every ' +
          EVERY_MS / 1000 + ' s.';
      }).then(null, function (err) {
        box.textContent = '';
        if (err instanceof KP.ApiError && err.status === 404) { howToEnable(box, false); return; }
        box.appendChild(h('p.field-error', {role: 'alert'}, KP.failure(err)));
      }).then(function () { KP.timer(tick, EVERY_MS); });
    };
    tick();
  };
}());
