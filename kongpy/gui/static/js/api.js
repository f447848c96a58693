/* The Admin API client: where it is (K_CONFIG), the token, errors as messages. */
(function () {
  'use strict';
  var KP = window.KP;
  var conf = window.K_CONFIG || {};
  var TOKEN_KEY = 'kongpy.admin_token';

  function apiBase() {
    var url = conf.ADMIN_API_URL || '';
    if (url) {
      if (!/^https?:\/\//i.test(url)) { url = location.protocol + '//' + url; }
      return url.replace(/\/+$/, '');
    }
    var tls = location.protocol === 'https:' && conf.ADMIN_API_SSL_PORT;
    var port = tls ? conf.ADMIN_API_SSL_PORT : conf.ADMIN_API_PORT;
    var host = location.hostname.indexOf(':') >= 0 ? '[' + location.hostname + ']'
      : location.hostname;
    return (tls ? 'https:' : location.protocol) + '//' + host + (port ? ':' + port : '');
  }

  // An error of the Admin API (status, Kong's body) or of the network (status 0).
  function ApiError(status, body, message) {
    this.status = status;
    this.body = body || {};
    this.message = message || this.body.message || ('HTTP ' + status);
  }
  ApiError.prototype = Object.create(Error.prototype);

  KP.ApiError = ApiError;
  KP.api = {
    base: apiBase(),
    basePath: (conf.ADMIN_GUI_PATH || '/').replace(/\/?$/, '/'),
    token: function () { return sessionStorage.getItem(TOKEN_KEY) || ''; },
    setToken: function (t) {
      if (t) { sessionStorage.setItem(TOKEN_KEY, t); } else { sessionStorage.removeItem(TOKEN_KEY); }
    },
    onUnauthorized: null,

    request: function (method, path, body, opts) {
      opts = opts || {};
      var headers = {'Accept': opts.text ? 'text/plain' : 'application/json'};
      var token = opts.token !== undefined ? opts.token : KP.api.token();
      if (token) { headers['Kong-Admin-Token'] = token; }
      var init = {method: method, headers: headers, credentials: 'omit'};
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      var url = KP.api.base + path;
      return fetch(url, init).then(function (resp) {
        return resp.text().then(function (text) {
          var data = null;
          if (opts.text && resp.ok) { return text; }
          if (text) {
            try { data = JSON.parse(text); } catch (e) { data = {message: text.slice(0, 300)}; }
          }
          if (resp.ok) { return data; }
          var err = new ApiError(resp.status, data);
          if (resp.status === 401 && !opts.login && KP.api.onUnauthorized) {
            KP.api.onUnauthorized(err);
          }
          throw err;
        });
      }, function () {
        throw new ApiError(0, null, 'The Admin API at ' + KP.api.base + ' cannot be reached: ' +
          'is the node running, and does admin_gui_api_url or admin_listen name it?');
      });
    },
    get: function (path, opts) { return KP.api.request('GET', path, undefined, opts); },
    post: function (path, body) { return KP.api.request('POST', path, body); },
    patch: function (path, body) { return KP.api.request('PATCH', path, body); },
    del: function (path) { return KP.api.request('DELETE', path); }
  };

  // Any failure as a line the page can show.
  KP.failure = function (err) {
    if (err instanceof ApiError) {
      return err.status ? err.message + ' (HTTP ' + err.status + ')' : err.message;
    }
    return 'Unexpected error: ' + (err && err.message ? err.message : err);
  };

  KP.fail = function (err) {
    KP.notice(KP.failure(err), 'error');
  };
}());
