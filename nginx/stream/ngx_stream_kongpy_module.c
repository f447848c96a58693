/*
 * The stream data plane's bridge into Lua (docs/streams.md).
 *
 * Debian ships no Lua module for nginx's stream subsystem, so this module
 * embeds LuaJIT in every stream worker and leaves the decisions to
 * lua/kongpy/stream.lua: which route and service a connection matches
 * (preread phase), which peer each try connects to (an upstream balancer)
 * and which certificate a TLS handshake presents. nginx does the proxying.
 *
 * A session's service brings its own timeouts, tries and TLS switches, which
 * nginx keeps in the proxy module's server configuration; the session gets a
 * copy of that configuration with the service's values. The copy follows a
 * mirror of nginx's private structure whose offsets are checked against the
 * proxy module's own directive table before nginx accepts the configuration.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>


/* nginx 1.22's ngx_stream_proxy_srv_conf_t (ngx_stream_proxy_module.c) */
typedef struct {
    ngx_msec_t                       connect_timeout;
    ngx_msec_t                       timeout;
    ngx_msec_t                       next_upstream_timeout;
    size_t                           buffer_size;
    ngx_stream_complex_value_t      *upload_rate;
    ngx_stream_complex_value_t      *download_rate;
    ngx_uint_t                       requests;
    ngx_uint_t                       responses;
    ngx_uint_t                       next_upstream_tries;
    ngx_flag_t                       next_upstream;
    ngx_flag_t                       proxy_protocol;
    ngx_flag_t                       half_close;
    void                            *local;
    ngx_flag_t                       socket_keepalive;
    ngx_flag_t                       ssl_enable;
    ngx_flag_t                       ssl_session_reuse;
    ngx_uint_t                       ssl_protocols;
    ngx_str_t                        ssl_ciphers;
    ngx_stream_complex_value_t      *ssl_name;
    ngx_flag_t                       ssl_server_name;
    ngx_flag_t                       ssl_verify;
    ngx_uint_t                       ssl_verify_depth;
    ngx_str_t                        ssl_trusted_certificate;
    ngx_str_t                        ssl_crl;
    ngx_stream_complex_value_t      *ssl_certificate;
    ngx_stream_complex_value_t      *ssl_certificate_key;
    ngx_array_t                     *ssl_passwords;
    ngx_array_t                     *ssl_conf_commands;
    ngx_ssl_t                       *ssl;
    ngx_stream_upstream_srv_conf_t  *upstream;
    ngx_stream_complex_value_t      *upstream_value;
} kp_proxy_conf_t;


typedef struct {
    char       *directive;
    ngx_uint_t  offset;
} kp_offset_t;


static kp_offset_t  kp_offsets[] = {
    { "proxy_connect_timeout", offsetof(kp_proxy_conf_t, connect_timeout) },
    { "proxy_timeout", offsetof(kp_proxy_conf_t, timeout) },
    { "proxy_next_upstream_timeout", offsetof(kp_proxy_conf_t, next_upstream_timeout) },
    { "proxy_buffer_size", offsetof(kp_proxy_conf_t, buffer_size) },
    { "proxy_upload_rate", offsetof(kp_proxy_conf_t, upload_rate) },
    { "proxy_download_rate", offsetof(kp_proxy_conf_t, download_rate) },
    { "proxy_requests", offsetof(kp_proxy_conf_t, requests) },
    { "proxy_responses", offsetof(kp_proxy_conf_t, responses) },
    { "proxy_next_upstream_tries", offsetof(kp_proxy_conf_t, next_upstream_tries) },
    { "proxy_next_upstream", offsetof(kp_proxy_conf_t, next_upstream) },
    { "proxy_protocol", offsetof(kp_proxy_conf_t, proxy_protocol) },
    { "proxy_half_close", offsetof(kp_proxy_conf_t, half_close) },
    { "proxy_socket_keepalive", offsetof(kp_proxy_conf_t, socket_keepalive) },
    { "proxy_ssl", offsetof(kp_proxy_conf_t, ssl_enable) },
    { "proxy_ssl_session_reuse", offsetof(kp_proxy_conf_t, ssl_session_reuse) },
    { "proxy_ssl_protocols", offsetof(kp_proxy_conf_t, ssl_protocols) },
    { "proxy_ssl_ciphers", offsetof(kp_proxy_conf_t, ssl_ciphers) },
    { "proxy_ssl_name", offsetof(kp_proxy_conf_t, ssl_name) },
    { "proxy_ssl_server_name", offsetof(kp_proxy_conf_t, ssl_server_name) },
    { "proxy_ssl_verify", offsetof(kp_proxy_conf_t, ssl_verify) },
    { "proxy_ssl_verify_depth", offsetof(kp_proxy_conf_t, ssl_verify_depth) },
    { "proxy_ssl_trusted_certificate", offsetof(kp_proxy_conf_t, ssl_trusted_certificate) },
    { "proxy_ssl_crl", offsetof(kp_proxy_conf_t, ssl_crl) },
    { "proxy_ssl_certificate", offsetof(kp_proxy_conf_t, ssl_certificate) },
    { "proxy_ssl_certificate_key", offsetof(kp_proxy_conf_t, ssl_certificate_key) },
    { "proxy_ssl_conf_command", offsetof(kp_proxy_conf_t, ssl_conf_commands) },
    { NULL, 0 }
};


typedef struct {
    ngx_str_t   package_path;
    ngx_str_t   package_cpath;
    ngx_str_t   settings;
    ngx_flag_t  used;
} kp_main_conf_t;


typedef struct {
    ngx_str_t   role;
} kp_srv_conf_t;


/* what preread decided for a session; strings live in its pool */
typedef struct {
    int         plan;           /* the Lua plan table, in the registry */
    ngx_str_t   proxy;
    ngx_str_t   ssl_name;
    ngx_str_t   client_cert;
    ngx_str_t   client_key;
    ngx_str_t   cert_key;
    ngx_uint_t  tries;
    ngx_uint_t  try;
    ngx_uint_t  preread_done;   /* the other preread handlers that finished */
    unsigned    last_failed:1;
} kp_ctx_t;


static ngx_int_t kp_preconfiguration(ngx_conf_t *cf);
static ngx_int_t kp_postconfiguration(ngx_conf_t *cf);
static void *kp_create_main_conf(ngx_conf_t *cf);
static void *kp_create_srv_conf(ngx_conf_t *cf);
static char *kp_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child);
static char *kp_lua_paths(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *kp_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *kp_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t kp_init_module(ngx_cycle_t *cycle);
static void kp_exit_process(ngx_cycle_t *cycle);


extern ngx_module_t  ngx_stream_proxy_module;
extern ngx_uint_t    ngx_stream_max_module;


static ngx_command_t  kp_commands[] = {

    { ngx_string("kongpy_stream_lua"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE3,
      kp_lua_paths,
      NGX_STREAM_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kongpy_stream"),
      NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      kp_role,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kongpy_stream_balancer"),
      NGX_STREAM_UPS_CONF|NGX_CONF_NOARGS,
      kp_balancer,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  kp_module_ctx = {
    kp_preconfiguration,                   /* preconfiguration */
    kp_postconfiguration,                  /* postconfiguration */
    kp_create_main_conf,                   /* create main configuration */
    NULL,                                  /* init main configuration */
    kp_create_srv_conf,                    /* create server configuration */
    kp_merge_srv_conf                      /* merge server configuration */
};


ngx_module_t  ngx_stream_kongpy_module = {
    NGX_MODULE_V1,
    &kp_module_ctx,
    kp_commands,
    NGX_STREAM_MODULE,
    NULL,                                  /* init master */
    kp_init_module,                        /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    kp_exit_process,                       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* The preread phase's other handlers (ssl_preread): the stream data plane
 * must run after them, and nginx skips the rest of a phase once a handler
 * returns NGX_OK (as ssl_preread does when it has read the ClientHello), so
 * kp_preread takes their place and calls them first, in nginx's order. */
static ngx_stream_handler_pt  *kp_prereads;
static ngx_uint_t              kp_npreread;

static lua_State             *kp_L;
static ngx_stream_session_t  *kp_current;
static int                    kp_fn_preread = LUA_NOREF;
static int                    kp_fn_balancer = LUA_NOREF;
static int                    kp_fn_certificate = LUA_NOREF;
static int                    kp_fn_log = LUA_NOREF;


/* -- configuration ------------------------------------------------------ */

static void *
kp_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(kp_main_conf_t));
}


static void *
kp_create_srv_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(kp_srv_conf_t));
}


static char *
kp_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    kp_srv_conf_t  *prev = parent;
    kp_srv_conf_t  *conf = child;

    ngx_conf_merge_str_value(conf->role, prev->role, "");
    return NGX_CONF_OK;
}


static char *
kp_lua_paths(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kp_main_conf_t  *kmcf = conf;
    ngx_str_t       *value = cf->args->elts;

    kmcf->package_path = value[1];
    kmcf->package_cpath = value[2];
    kmcf->settings = value[3];
    kmcf->used = 1;
    return NGX_CONF_OK;
}


static char *
kp_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    kp_srv_conf_t  *kscf = conf;
    ngx_str_t      *value = cf->args->elts;

    kscf->role = value[1];
    return NGX_CONF_OK;
}


static ngx_int_t kp_init_peer(ngx_stream_session_t *s,
    ngx_stream_upstream_srv_conf_t *us);


static ngx_int_t
kp_init_upstream(ngx_conf_t *cf, ngx_stream_upstream_srv_conf_t *us)
{
    us->peer.init = kp_init_peer;
    return NGX_OK;
}


static char *
kp_balancer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_stream_upstream_srv_conf_t  *uscf;

    uscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_upstream_module);
    uscf->peer.init_upstream = kp_init_upstream;
    uscf->flags = NGX_STREAM_UPSTREAM_CREATE;
    return NGX_CONF_OK;
}


/* The mirror must match the proxy module this nginx loaded, or no session
 * may have its configuration copied: refuse the configuration instead. */
static ngx_int_t
kp_check_layout(ngx_conf_t *cf)
{
    ngx_command_t  *cmd;
    kp_offset_t    *o;
    ngx_uint_t      found;

    for (o = kp_offsets; o->directive; o++) {
        found = 0;
        for (cmd = ngx_stream_proxy_module.commands; cmd->name.len; cmd++) {
            if (ngx_strcmp(cmd->name.data, o->directive) != 0) {
                continue;
            }
            found = 1;
            if (cmd->offset != o->offset) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "kongpy stream: \"%s\" is at offset %ui "
                                   "in this nginx, expected %ui: the module "
                                   "was built for another nginx version",
                                   o->directive, cmd->offset, o->offset);
                return NGX_ERROR;
            }
        }
        if (!found) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kongpy stream: this nginx has no \"%s\": the "
                               "module was built for another nginx version",
                               o->directive);
            return NGX_ERROR;
        }
    }
    return NGX_OK;
}


/* -- sessions ----------------------------------------------------------- */

static void
kp_cleanup(void *data)
{
    kp_ctx_t  *ctx = data;

    if (kp_L && ctx->plan != LUA_NOREF) {
        luaL_unref(kp_L, LUA_REGISTRYINDEX, ctx->plan);
        ctx->plan = LUA_NOREF;
    }
}


static kp_ctx_t *
kp_get_ctx(ngx_stream_session_t *s)
{
    kp_ctx_t            *ctx;
    ngx_pool_cleanup_t  *cln;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx) {
        return ctx;
    }
    ctx = ngx_pcalloc(s->connection->pool, sizeof(kp_ctx_t));
    cln = ngx_pool_cleanup_add(s->connection->pool, 0);
    if (ctx == NULL || cln == NULL) {
        return NULL;
    }
    ctx->plan = LUA_NOREF;
    cln->handler = kp_cleanup;
    cln->data = ctx;
    ngx_stream_set_ctx(s, ctx, ngx_stream_kongpy_module);
    return ctx;
}


static ngx_int_t
kp_copy_string(ngx_stream_session_t *s, int index, const char *field,
    ngx_str_t *out)
{
    const char  *p;
    size_t       len;

    lua_getfield(kp_L, index, field);
    if (lua_type(kp_L, -1) == LUA_TSTRING) {
        p = lua_tolstring(kp_L, -1, &len);
        out->data = ngx_pnalloc(s->connection->pool, len);
        if (out->data == NULL) {
            lua_pop(kp_L, 1);
            return NGX_ERROR;
        }
        ngx_memcpy(out->data, p, len);
        out->len = len;
    }
    lua_pop(kp_L, 1);
    return NGX_OK;
}


static lua_Number
kp_number(int index, const char *field, lua_Number dflt)
{
    lua_Number  n = dflt;

    lua_getfield(kp_L, index, field);
    if (lua_type(kp_L, -1) == LUA_TNUMBER) {
        n = lua_tonumber(kp_L, -1);
    }
    lua_pop(kp_L, 1);
    return n;
}


static int
kp_boolean(int index, const char *field)
{
    int  b;

    lua_getfield(kp_L, index, field);
    b = lua_toboolean(kp_L, -1);
    lua_pop(kp_L, 1);
    return b;
}


static int
kp_call(ngx_stream_session_t *s, int fn, int nargs, int nresults)
{
    int  rc;

    kp_current = s;
    rc = lua_pcall(kp_L, nargs, nresults, 0);
    kp_current = NULL;
    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "kongpy stream: %s", lua_tostring(kp_L, -1));
        lua_pop(kp_L, 1);
    }
    return rc;
}


/* The session's copy of the proxy configuration, with its service's values. */
static ngx_int_t
kp_apply_plan(ngx_stream_session_t *s, kp_ctx_t *ctx, int index)
{
    kp_proxy_conf_t  *pscf, *copy;
    void            **confs;
    int               ssl, verify;

    pscf = ngx_stream_get_module_srv_conf(s, ngx_stream_proxy_module);
    copy = ngx_palloc(s->connection->pool, sizeof(kp_proxy_conf_t));
    confs = ngx_palloc(s->connection->pool, sizeof(void *) * ngx_stream_max_module);
    if (copy == NULL || confs == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(copy, pscf, sizeof(kp_proxy_conf_t));
    copy->connect_timeout = (ngx_msec_t) kp_number(index, "connect_timeout",
                                                   (lua_Number) pscf->connect_timeout);
    copy->timeout = (ngx_msec_t) kp_number(index, "timeout", (lua_Number) pscf->timeout);
    copy->next_upstream_tries = ctx->tries;
    copy->proxy_protocol = kp_boolean(index, "proxy_protocol");

    ssl = kp_boolean(index, "ssl");
    verify = kp_boolean(index, "ssl_verify");
    if (ssl && pscf->ssl == NULL) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "kongpy stream: the service needs TLS, and this "
                      "server has no upstream TLS context");
        return NGX_ERROR;
    }
    /* nginx tells a TLS upstream by its context, not by the flag */
    copy->ssl_enable = ssl;
    copy->ssl = ssl ? pscf->ssl : NULL;
    copy->ssl_verify = ssl && verify;

    ngx_memcpy(confs, s->srv_conf, sizeof(void *) * ngx_stream_max_module);
    confs[ngx_stream_proxy_module.ctx_index] = copy;
    s->srv_conf = confs;
    return NGX_OK;
}


static ngx_int_t
kp_preread(ngx_stream_session_t *s)
{
    kp_srv_conf_t  *kscf;
    kp_ctx_t       *ctx;
    lua_Number      status;
    ngx_int_t       rc;
    int             top;

    kscf = ngx_stream_get_module_srv_conf(s, ngx_stream_kongpy_module);
    ctx = kp_get_ctx(s);
    if (ctx == NULL) {
        return NGX_ERROR;
    }
    if (ctx->plan != LUA_NOREF) {
        return NGX_DECLINED;
    }
    while (ctx->preread_done < kp_npreread) {
        rc = kp_prereads[ctx->preread_done](s);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }
        if (rc == NGX_OK) {
            ctx->preread_done = kp_npreread;
            break;
        }
        if (rc != NGX_DECLINED) {
            return rc;
        }
        ctx->preread_done++;
    }
    if (kscf->role.len == 0) {
        return NGX_DECLINED;
    }
    if (kp_L == NULL || kp_fn_preread == LUA_NOREF) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "kongpy stream: the stream data plane is not running; "
                      "refusing the connection");
        return NGX_STREAM_INTERNAL_SERVER_ERROR;
    }

    top = lua_gettop(kp_L);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, kp_fn_preread);
    lua_pushlstring(kp_L, (const char *) kscf->role.data, kscf->role.len);
    if (kp_call(s, kp_fn_preread, 1, 1) != 0) {
        return NGX_STREAM_INTERNAL_SERVER_ERROR;
    }
    if (lua_type(kp_L, -1) == LUA_TNUMBER) {
        /* the session ends here with this status (403, 500, ...) */
        status = lua_tonumber(kp_L, -1);
        lua_settop(kp_L, top);
        if (status < 200 || status > 599) {
            status = NGX_STREAM_INTERNAL_SERVER_ERROR;
        }
        return (ngx_int_t) status;
    }
    if (lua_type(kp_L, -1) != LUA_TTABLE) {
        lua_settop(kp_L, top);
        return NGX_STREAM_INTERNAL_SERVER_ERROR;
    }

    ctx->tries = (ngx_uint_t) kp_number(-1, "tries", 1);
    if (ctx->tries < 1) {
        ctx->tries = 1;
    }
    if (kp_copy_string(s, -1, "proxy", &ctx->proxy) != NGX_OK
        || kp_copy_string(s, -1, "ssl_name", &ctx->ssl_name) != NGX_OK
        || kp_copy_string(s, -1, "client_cert", &ctx->client_cert) != NGX_OK
        || kp_copy_string(s, -1, "client_key", &ctx->client_key) != NGX_OK
        || kp_apply_plan(s, ctx, lua_gettop(kp_L)) != NGX_OK)
    {
        lua_settop(kp_L, top);
        return NGX_STREAM_INTERNAL_SERVER_ERROR;
    }
    ctx->plan = luaL_ref(kp_L, LUA_REGISTRYINDEX);
    lua_settop(kp_L, top);
    return NGX_DECLINED;
}


/* The session is over: the balancer's bookkeeping (least-connections). */
static ngx_int_t
kp_log(ngx_stream_session_t *s)
{
    kp_ctx_t  *ctx;
    int        top;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx == NULL || ctx->plan == LUA_NOREF || kp_L == NULL || kp_fn_log == LUA_NOREF) {
        return NGX_OK;
    }
    top = lua_gettop(kp_L);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, kp_fn_log);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, ctx->plan);
    (void) kp_call(s, kp_fn_log, 1, 0);
    lua_settop(kp_L, top);
    return NGX_OK;
}


/* -- balancer ----------------------------------------------------------- */

static ngx_int_t
kp_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_stream_session_t  *s = data;
    kp_ctx_t              *ctx;
    ngx_addr_t            *addr;
    const char            *host;
    size_t                 len;
    lua_Number             port;
    u_char                *name;
    int                    top;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx == NULL || ctx->plan == LUA_NOREF || kp_fn_balancer == LUA_NOREF) {
        return NGX_ERROR;
    }
    ctx->try++;
    top = lua_gettop(kp_L);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, kp_fn_balancer);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, ctx->plan);
    lua_pushinteger(kp_L, (lua_Integer) ctx->try);
    lua_pushboolean(kp_L, ctx->last_failed);
    if (kp_call(s, kp_fn_balancer, 3, 2) != 0) {
        lua_settop(kp_L, top);
        return NGX_BUSY;
    }
    if (lua_type(kp_L, -2) != LUA_TSTRING || lua_type(kp_L, -1) != LUA_TNUMBER) {
        if (lua_type(kp_L, -1) == LUA_TSTRING) {
            ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                          "kongpy stream: %s", lua_tostring(kp_L, -1));
        }
        lua_settop(kp_L, top);
        return NGX_BUSY;
    }
    host = lua_tolstring(kp_L, -2, &len);
    port = lua_tonumber(kp_L, -1);

    addr = ngx_pcalloc(s->connection->pool, sizeof(ngx_addr_t));
    name = ngx_pnalloc(s->connection->pool, len + sizeof(":65535") + 2);
    if (addr == NULL || name == NULL
        || ngx_parse_addr(s->connection->pool, addr, (u_char *) host, len) != NGX_OK
        || port < 1 || port > 65535)
    {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "kongpy stream: invalid peer \"%s\"", host);
        lua_settop(kp_L, top);
        return NGX_BUSY;
    }
    ngx_inet_set_port(addr->sockaddr, (in_port_t) port);
    addr->name.data = name;
    addr->name.len = ngx_sock_ntop(addr->sockaddr, addr->socklen, name,
                                   len + sizeof(":65535") + 2, 1);
    lua_settop(kp_L, top);

    pc->sockaddr = addr->sockaddr;
    pc->socklen = addr->socklen;
    pc->name = &addr->name;
    pc->cached = 0;
    pc->connection = NULL;
    return NGX_OK;
}


static void
kp_free_peer(ngx_peer_connection_t *pc, void *data, ngx_uint_t state)
{
    ngx_stream_session_t  *s = data;
    kp_ctx_t              *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx) {
        ctx->last_failed = (state & NGX_PEER_FAILED) ? 1 : 0;
    }
    if (pc->tries) {
        pc->tries--;
    }
}


#if (NGX_STREAM_SSL)
/* no TLS session is kept across connections to a balanced peer */
static ngx_int_t
kp_set_session(ngx_peer_connection_t *pc, void *data)
{
    return NGX_OK;
}


static void
kp_save_session(ngx_peer_connection_t *pc, void *data)
{
}
#endif


static ngx_int_t
kp_init_peer(ngx_stream_session_t *s, ngx_stream_upstream_srv_conf_t *us)
{
    kp_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx == NULL || ctx->plan == LUA_NOREF) {
        ngx_log_error(NGX_LOG_ERR, s->connection->log, 0,
                      "kongpy stream: a session reached the balancer "
                      "without a route");
        return NGX_ERROR;
    }
    s->upstream->peer.data = s;
    s->upstream->peer.get = kp_get_peer;
    s->upstream->peer.free = kp_free_peer;
    s->upstream->peer.tries = ctx->tries;
#if (NGX_STREAM_SSL)
    s->upstream->peer.set_session = kp_set_session;
    s->upstream->peer.save_session = kp_save_session;
#endif
    return NGX_OK;
}


/* -- variables ---------------------------------------------------------- */

static ngx_int_t
kp_set_value(ngx_stream_variable_value_t *v, ngx_str_t *value)
{
    if (value->data == NULL) {
        v->len = 0;
        v->data = (u_char *) "";
    } else {
        v->len = value->len;
        v->data = value->data;
    }
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}


static ngx_int_t
kp_var_field(ngx_stream_session_t *s, ngx_stream_variable_value_t *v,
    uintptr_t data)
{
    kp_ctx_t  *ctx;

    ctx = ngx_stream_get_module_ctx(s, ngx_stream_kongpy_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    return kp_set_value(v, (ngx_str_t *) ((u_char *) ctx + data));
}


/* The certificate a TLS handshake presents (nginx reads the key next). */
static ngx_int_t
kp_var_cert(ngx_stream_session_t *s, ngx_stream_variable_value_t *v,
    uintptr_t data)
{
    kp_ctx_t   *ctx;
    ngx_str_t   cert = ngx_null_string;
    int         top;

    ctx = kp_get_ctx(s);
    if (ctx == NULL || kp_L == NULL || kp_fn_certificate == LUA_NOREF) {
        v->not_found = 1;
        return NGX_OK;
    }
    top = lua_gettop(kp_L);
    lua_rawgeti(kp_L, LUA_REGISTRYINDEX, kp_fn_certificate);
    if (kp_call(s, kp_fn_certificate, 0, 1) != 0 || lua_type(kp_L, -1) != LUA_TTABLE) {
        lua_settop(kp_L, top);
        v->not_found = 1;
        return NGX_OK;
    }
    if (kp_copy_string(s, -1, "cert", &cert) != NGX_OK
        || kp_copy_string(s, -1, "key", &ctx->cert_key) != NGX_OK)
    {
        lua_settop(kp_L, top);
        return NGX_ERROR;
    }
    lua_settop(kp_L, top);
    return kp_set_value(v, &cert);
}


static ngx_stream_variable_t  kp_vars[] = {
    { ngx_string("kongpy_stream_proxy"), NULL, kp_var_field,
      offsetof(kp_ctx_t, proxy), NGX_STREAM_VAR_NOCACHEABLE, 0 },
    { ngx_string("kongpy_stream_ssl_name"), NULL, kp_var_field,
      offsetof(kp_ctx_t, ssl_name), NGX_STREAM_VAR_NOCACHEABLE, 0 },
    { ngx_string("kongpy_stream_client_cert"), NULL, kp_var_field,
      offsetof(kp_ctx_t, client_cert), NGX_STREAM_VAR_NOCACHEABLE, 0 },
    { ngx_string("kongpy_stream_client_key"), NULL, kp_var_field,
      offsetof(kp_ctx_t, client_key), NGX_STREAM_VAR_NOCACHEABLE, 0 },
    { ngx_string("kongpy_stream_cert"), NULL, kp_var_cert,
      0, NGX_STREAM_VAR_NOCACHEABLE, 0 },
    { ngx_string("kongpy_stream_cert_key"), NULL, kp_var_field,
      offsetof(kp_ctx_t, cert_key), NGX_STREAM_VAR_NOCACHEABLE, 0 },
    ngx_stream_null_variable
};


/* -- functions Lua calls ------------------------------------------------ */

static int
kp_lua_var(lua_State *L)
{
    ngx_stream_variable_value_t  *vv;
    ngx_str_t                     name;
    u_char                       *low;
    size_t                        len;
    const char                   *p;

    if (kp_current == NULL) {
        return luaL_error(L, "no session");
    }
    p = luaL_checklstring(L, 1, &len);
    low = ngx_pnalloc(kp_current->connection->pool, len);
    if (low == NULL) {
        return luaL_error(L, "no memory");
    }
    name.data = low;
    name.len = len;
    vv = ngx_stream_get_variable(kp_current, &name,
                                 ngx_hash_strlow(low, (u_char *) p, len));
    if (vv == NULL || vv->not_found) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, (const char *) vv->data, vv->len);
    return 1;
}


static int
kp_lua_log(lua_State *L)
{
    ngx_uint_t   level = (ngx_uint_t) luaL_checkinteger(L, 1);
    size_t       len;
    const char  *msg = luaL_checklstring(L, 2, &len);
    ngx_log_t   *log = kp_current ? kp_current->connection->log : ngx_cycle->log;

    if (level > NGX_LOG_DEBUG) {
        level = NGX_LOG_DEBUG;
    }
    ngx_log_error(level, log, 0, "[kongpy stream] %*s", len, msg);
    return 0;
}


static int
kp_lua_now(lua_State *L)
{
    ngx_time_t  *tp = ngx_timeofday();

    lua_pushnumber(L, (lua_Number) tp->sec + (lua_Number) tp->msec / 1000);
    return 1;
}


static int
kp_lua_update_time(lua_State *L)
{
    ngx_time_update();
    return 0;
}


/* mtime, size and inode of a file: the snapshot is re-read when they move */
static int
kp_lua_stat(lua_State *L)
{
    const char       *path = luaL_checkstring(L, 1);
    ngx_file_info_t   fi;

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushfstring(L, "%f:%f:%f", (lua_Number) ngx_file_mtime(&fi),
                    (lua_Number) ngx_file_size(&fi), (lua_Number) ngx_file_uniq(&fi));
    return 1;
}


static int
kp_lua_worker(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer) ngx_worker);
    lua_pushinteger(L, (lua_Integer) ngx_pid);
    return 2;
}


/* Best effort, before the session closes (kong.response.exit's body). */
static int
kp_lua_say(lua_State *L)
{
    size_t       len;
    const char  *data = luaL_checklstring(L, 1, &len);
    ngx_connection_t *c;

    if (kp_current == NULL) {
        return luaL_error(L, "no session");
    }
    c = kp_current->connection;
    if (c->type == SOCK_STREAM && len) {
        (void) c->send(c, (u_char *) data, len);
    }
    return 0;
}


static const luaL_Reg  kp_lua_api[] = {
    { "var", kp_lua_var },
    { "log", kp_lua_log },
    { "now", kp_lua_now },
    { "update_time", kp_lua_update_time },
    { "stat", kp_lua_stat },
    { "worker", kp_lua_worker },
    { "say", kp_lua_say },
    { NULL, NULL }
};


/* -- process ------------------------------------------------------------ */

static int
kp_ref_function(lua_State *L, int module, const char *name)
{
    lua_getfield(L, module, name);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}


static ngx_int_t
kp_start_lua(ngx_cycle_t *cycle, kp_main_conf_t *kmcf)
{
    lua_State  *L;
    int         module;

    L = luaL_newstate();
    if (L == NULL) {
        return NGX_ERROR;
    }
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushlstring(L, (const char *) kmcf->package_path.data, kmcf->package_path.len);
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, (const char *) kmcf->package_cpath.data, kmcf->package_cpath.len);
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);

    lua_getglobal(L, "require");
    lua_pushliteral(L, "kongpy.stream");
    if (lua_pcall(L, 1, 1, 0) != 0 || lua_type(L, -1) != LUA_TTABLE) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "kongpy stream: cannot load kongpy.stream: %s",
                      lua_tostring(L, -1));
        lua_close(L);
        return NGX_ERROR;
    }
    module = lua_gettop(L);

    lua_getfield(L, module, "init");
    lua_newtable(L);
    luaL_register(L, NULL, kp_lua_api);
    lua_pushinteger(L, NGX_LOG_ERR);
    lua_setfield(L, -2, "ERR");
    lua_pushinteger(L, NGX_LOG_WARN);
    lua_setfield(L, -2, "WARN");
    lua_pushinteger(L, NGX_LOG_NOTICE);
    lua_setfield(L, -2, "NOTICE");
    lua_pushinteger(L, NGX_LOG_INFO);
    lua_setfield(L, -2, "INFO");
    lua_pushinteger(L, NGX_LOG_DEBUG);
    lua_setfield(L, -2, "DEBUG");
    lua_pushinteger(L, NGX_LOG_ALERT);
    lua_setfield(L, -2, "ALERT");
    lua_pushinteger(L, NGX_LOG_CRIT);
    lua_setfield(L, -2, "CRIT");
    lua_pushinteger(L, NGX_LOG_EMERG);
    lua_setfield(L, -2, "EMERG");
    lua_pushlstring(L, (const char *) kmcf->settings.data, kmcf->settings.len);
    if (lua_pcall(L, 2, 0, 0) != 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "kongpy stream: init failed: %s", lua_tostring(L, -1));
        lua_close(L);
        return NGX_ERROR;
    }
    kp_fn_preread = kp_ref_function(L, module, "preread");
    kp_fn_balancer = kp_ref_function(L, module, "balancer");
    kp_fn_certificate = kp_ref_function(L, module, "certificate");
    kp_fn_log = kp_ref_function(L, module, "log");
    lua_settop(L, 0);
    kp_L = L;
    return NGX_OK;
}


/* In the master, once the configuration is read: the state starts where
 * the settings, the default certificate and the stream snapshot are readable
 * (workers may run as another user), and every worker forks a copy. A new
 * configuration (reload) starts a new state; the old workers keep theirs. */
static ngx_int_t
kp_init_module(ngx_cycle_t *cycle)
{
    kp_main_conf_t  *kmcf;

    if (kp_L) {
        lua_close(kp_L);
        kp_L = NULL;
        kp_fn_preread = kp_fn_balancer = kp_fn_certificate = kp_fn_log = LUA_NOREF;
    }
    kmcf = ngx_stream_cycle_get_module_main_conf(cycle, ngx_stream_kongpy_module);
    if (kmcf == NULL || !kmcf->used) {
        return NGX_OK;
    }
    return kp_start_lua(cycle, kmcf);
}


static void
kp_exit_process(ngx_cycle_t *cycle)
{
    if (kp_L) {
        lua_close(kp_L);
        kp_L = NULL;
    }
}


static ngx_int_t
kp_preconfiguration(ngx_conf_t *cf)
{
    ngx_stream_variable_t  *v, *var;

    for (v = kp_vars; v->name.len; v++) {
        var = ngx_stream_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }
    return NGX_OK;
}


static ngx_int_t
kp_postconfiguration(ngx_conf_t *cf)
{
    ngx_stream_core_main_conf_t  *cmcf;
    ngx_stream_handler_pt        *h, *elts;
    ngx_array_t                  *handlers;
    kp_main_conf_t               *kmcf;
    ngx_uint_t                    i;

    kmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_kongpy_module);
    if (!kmcf->used) {
        return NGX_OK;
    }
    if (kp_check_layout(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);
    handlers = &cmcf->phases[NGX_STREAM_PREREAD_PHASE].handlers;
    elts = handlers->elts;
    kp_npreread = handlers->nelts;
    kp_prereads = ngx_palloc(cf->pool, sizeof(ngx_stream_handler_pt) * (kp_npreread + 1));
    if (kp_prereads == NULL) {
        return NGX_ERROR;
    }
    /* nginx calls a phase's handlers from the end of the array */
    for (i = 0; i < kp_npreread; i++) {
        kp_prereads[i] = elts[kp_npreread - 1 - i];
    }
    handlers->nelts = 0;
    h = ngx_array_push(handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = kp_preread;

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = kp_log;
    return NGX_OK;
}
