/* GET /metrics and GET /healthz of the reporter (metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "net.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	char *out;
	unsigned port;
};

/* Queues text (malloc'ed, the response frees it), or answers MHD_NO. */
static enum MHD_Result metrics_reply(struct MHD_Connection *c, unsigned status,
				     const char *type, char *text, size_t len,
				     const char *allow)
{
	if (!text)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result metrics_text(struct MHD_Connection *c, unsigned status,
				    const char *text, const char *allow)
{
	return metrics_reply(c, status, "text/plain; charset=utf-8", strdup(text),
			     strlen(text), allow);
}

static enum MHD_Result metrics_on_request(void *cls, struct MHD_Connection *c,
					  const char *url, const char *method,
					  const char *version, const char *upload_data,
					  size_t *upload_data_size, void **con_cls)
{
	const struct metrics_server *s = cls;
	(void)version;
	(void)upload_data;
	/* A body is read to its end and dropped; the answer comes after. */
	if (!*con_cls) {
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	int known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0;
	if (!known)
		return metrics_text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics or /healthz\n",
				    NULL);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return metrics_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				    "GET, HEAD");
	/* The run history only: Redis is the reporter's to watch. */
	char reason[512];
	int degraded = health_check(s->out, NULL, reason, sizeof(reason));
	if (strcmp(url, "/healthz") == 0) {
		char *text = NULL;
		int n = degraded ? asprintf(&text, "degraded: %s\n", reason)
				 : asprintf(&text, "ok\n");
		return n < 0 ? MHD_NO
			     : metrics_reply(c, MHD_HTTP_OK, "text/plain; charset=utf-8", text,
					     (size_t)n, NULL);
	}
	size_t len = 0;
	char *text = metrics_render(degraded ? reason : "", &len);
	return metrics_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
			     text, len, NULL);
}

static void metrics_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("metrics: http: %s", line);
}

struct metrics_server *metrics_serve(const char *listen, const char *out,
				     char *errstr, size_t errstr_size)
{
	struct sockaddr_storage ss;
	socklen_t ss_len = 0;
	if (net_listen_addr(listen, &ss, &ss_len, errstr, errstr_size) < 0)
		return NULL;
	struct metrics_server *s = calloc(1, sizeof(*s));
	if (!s || !(s->out = strdup(out))) {
		free(s);
		snprintf(errstr, errstr_size, "out of memory");
		return NULL;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, metrics_on_request, s,
				     MHD_OPTION_EXTERNAL_LOGGER, metrics_on_mhd_log, NULL,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				     MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(errstr, errstr_size, "cannot listen on '%s' (address in use, "
			 "or not an address of this machine)", listen);
		free(s->out);
		free(s);
		return NULL;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	log_info("metrics: serving /metrics and /healthz on %s (port %u)", listen, s->port);
	return s;
}

unsigned metrics_serve_port(const struct metrics_server *s)
{
	return s ? s->port : 0;
}

void metrics_serve_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	log_info("metrics: stopped");
	free(s->out);
	free(s);
}
