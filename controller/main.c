/* fincloud-controller: the REST API daemon. */
#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "controller/anchor.h"
#include "controller/api.h"
#include "controller/ctrl.h"
#include "controller/jobs.h"
#include "controller/rebalance.h"
#include "controller/store.h"


/* One thread per connection, and every agent keeps one open (its
 * long-poll): per-connection memory is what grows with the fleet. Headers
 * fit in 8 KiB; bodies are copied out to a capped buffer as they arrive.
 * The deepest stack is cJSON's recursion, bounded by its nesting limit. */
#define CONN_POOL ((size_t)8 * 1024)
#define THREAD_STACK ((size_t)512 * 1024)

/* Per-connection upload state. */
struct conn {
	struct buf body;
	bool too_large;
};

static struct ctrl g_ctrl;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static const char *query_value(void *ud, const char *key)
{
	return MHD_lookup_connection_value(ud, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result send_answer(struct MHD_Connection *con,
				   struct api_ctx *c)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;

	if (c->text) {
		text = c->text;
		c->text = NULL;
		len = strlen(text);
	} else if (c->resp && c->status != 204) {
		text = cJSON_PrintUnformatted(c->resp);
		if (text == NULL) {
			static const char oom[] =
				"{\"error\":{\"code\":\"internal\",\"message\":"
				"\"out of memory\",\"field\":null}}";
			r = MHD_create_response_from_buffer(
				sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
			ret = MHD_queue_response(con, 500, r);
			MHD_destroy_response(r);
			return ret;
		}
		len = strlen(text);
	}
	r = MHD_create_response_from_buffer(len, text ? text : (void *)"",
					    text ? MHD_RESPMEM_MUST_FREE
						 : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	if (len > 0)
		MHD_add_response_header(r, "Content-Type", c->content_type);
	if (c->location[0])
		MHD_add_response_header(r, "Location", c->location);
	if (c->request_id[0])
		MHD_add_response_header(r, "X-Request-Id", c->request_id);
	ret = MHD_queue_response(con, (unsigned)c->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *con, int status,
				    const char *code, const char *msg)
{
	struct api_ctx c = {.ctrl = &g_ctrl, .content_type = "application/json"};
	enum MHD_Result ret;

	api_err(&c, status, code, NULL, "%s", msg);
	ret = send_answer(con, &c);
	api_ctx_release(&c);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct conn *cn = *con_cls;
	struct api_ctx c;
	enum MHD_Result ret;
	char msg[160];

	(void)cls;
	(void)version;
	if (cn == NULL) {
		const char *cl = MHD_lookup_connection_value(
			con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int64_t n;

		cn = calloc(1, sizeof(*cn));
		if (cn == NULL)
			return MHD_NO;
		buf_init(&cn->body, (size_t)g_ctrl.cfg.max_body);
		*con_cls = cn;
		if (cl && parse_int64(cl, &n) == 0 && n > g_ctrl.cfg.max_body) {
			snprintf(msg, sizeof(msg), "the request body is %" PRId64
				 " bytes; the limit is %" PRId64, n,
				 g_ctrl.cfg.max_body);
			return answer_error(con, 413, "too_large", msg);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!cn->too_large &&
		    buf_append(&cn->body, upload_data, *upload_size) < 0)
			cn->too_large = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (cn->too_large) {
		snprintf(msg, sizeof(msg), "the request body exceeds the "
			 "%" PRId64 "-byte limit", g_ctrl.cfg.max_body);
		return answer_error(con, 413, "too_large", msg);
	}
	memset(&c, 0, sizeof(c));
	c.ctrl = &g_ctrl;
	c.method = method;
	c.path = url;
	c.query = query_value;
	c.query_ud = con;
	c.authorization = MHD_lookup_connection_value(
		con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	c.idempotency_key = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							"Idempotency-Key");
	c.body = cn->body.data;
	c.body_len = cn->body.len;
	api_handle(&c);
	ret = send_answer(con, &c);
	api_ctx_release(&c);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *con,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (cn) {
		buf_free(&cn->body);
		free(cn);
		*con_cls = NULL;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fincloud-controller [--config FILE] [--check-config]\n"
		"                           [--listen-address A] [--listen-port P]\n"
		"                           [--database FILE] [--state-dir DIR]\n"
		"                           [--heartbeat-timeout S] [--heartbeat-interval S]\n"
		"                           [--sample-interval S] [--orphan-grace S]\n"
		"                           [--max-body BYTES]\n"
		"                           [--tls-cert FILE --tls-key FILE] [--log-level L]\n"
		"\n"
		"The fincloud REST API daemon. Settings come from FILE (default\n"
		"%s, keys listen_address, listen_port, database,\n"
		"state_dir, heartbeat_timeout, heartbeat_interval, sample_interval,\n"
		"orphan_grace, max_body, tls_cert, tls_key, log_level); each has a flag (the key\n"
		"with '-' for '_') that overrides it.\n"
		"\n"
		"  --check-config   validate the configuration and exit: 0 when it\n"
		"                   is good, 2 with 'file:line: why' when not\n"
		"  --help, --version\n",
		CTRL_DEFAULT_CONFIG);
}

static char *read_pem(const char *path)
{
	char *data = NULL;
	size_t len;

	if (file_read_all(path, 1 << 20, &data, &len) < 0)
		return NULL;
	return data;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		/* 'k': a setting; its key is the flag's name with '_' for '-' */
		{"listen-address", required_argument, NULL, 'k'},
		{"listen-port", required_argument, NULL, 'k'},
		{"database", required_argument, NULL, 'k'},
		{"state-dir", required_argument, NULL, 'k'},
		{"heartbeat-timeout", required_argument, NULL, 'k'},
		{"log-level", required_argument, NULL, 'k'},
		{"heartbeat-interval", required_argument, NULL, 'k'},
		{"sample-interval", required_argument, NULL, 'k'},
		{"orphan-grace", required_argument, NULL, 'k'},
		{"max-body", required_argument, NULL, 'k'},
		{"tls-cert", required_argument, NULL, 'k'},
		{"tls-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	struct { char key[32]; const char *value; } sets[16];
	size_t nsets = 0;
	bool check = false;
	struct config *cfg = NULL;
	struct MHD_Daemon *d = NULL;
	char *cert = NULL, *key = NULL;
	struct jobs jobs = {0};
	unsigned flags;
	int opt, idx = 0, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:h", opts, &idx)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'C': check = true; break;
		case 'k':
			if (nsets == FC_ARRAY_LEN(sets))
				break;
			str_copy(sets[nsets].key, sizeof(sets[0].key),
				 opts[idx].name);
			for (char *p = sets[nsets].key; *p; p++)
				if (*p == '-')
					*p = '_';
			sets[nsets++].value = optarg;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("fincloud-controller %s\n", version_str()); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fincloud-controller: unexpected argument '%s': "
			"see --help\n", argv[optind]);
		return 2;
	}
	log_init("fincloud-controller", LOG_LVL_INFO, LOG_TO_STDERR);
	if (config_load(config_path ? config_path : CTRL_DEFAULT_CONFIG,
			config_path == NULL, &cfg) < 0)
		goto config_fail;
	for (size_t i = 0; i < nsets; i++)
		if (config_set(cfg, sets[i].key, sets[i].value) < 0)
			goto config_fail;
	if (ctrl_config_from(cfg, &g_ctrl.cfg) < 0)
		goto config_fail;
	if (g_ctrl.cfg.tls_cert[0] &&
	    (access(g_ctrl.cfg.tls_cert, R_OK) != 0 ||
	     access(g_ctrl.cfg.tls_key, R_OK) != 0)) {
		err_set("tls_cert '%s' or tls_key '%s' cannot be read",
			g_ctrl.cfg.tls_cert, g_ctrl.cfg.tls_key);
		goto config_fail;
	}
	if (check) {
		config_free(cfg);
		return 0;
	}
	config_free(cfg);
	cfg = NULL;
	log_set_level(g_ctrl.cfg.log_level);
	/* the database and the admin token file hold secrets (token hashes,
	 * the first admin token): nothing the daemon creates is for others */
	umask(077);

	if (dir_create(g_ctrl.cfg.state_dir, 0700) < 0) {
		log_error("%s", err_msg());
		return 1;
	}
	if (store_open(g_ctrl.cfg.database, &g_ctrl.st) < 0) {
		log_error("%s", err_msg());
		return 1;
	}
	ctrl_init(&g_ctrl);
	if (anchor_open(g_ctrl.st, g_ctrl.cfg.state_dir, &g_ctrl.anchor) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	g_ctrl.stats = calloc(api_nroutes, sizeof(*g_ctrl.stats));
	if (g_ctrl.stats == NULL) {
		log_error("out of memory");
		goto out;
	}
	if (api_bootstrap_admin(&g_ctrl) < 0) {
		log_error("first admin token: %s", err_msg());
		goto out;
	}
	if (rb_recover(&g_ctrl) < 0)
		log_warn("rebalance runs of an earlier start: %s", err_msg());
	if (jobs_liveness_reset(&g_ctrl) < 0)
		log_warn("%s", err_msg());

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG;
	{
		/* the TLS options, from tls[first]: without TLS, first is
		 * the end of the list */
		struct MHD_OptionItem tls[] = {
			{MHD_OPTION_HTTPS_MEM_CERT, 0, NULL},
			{MHD_OPTION_HTTPS_MEM_KEY, 0, NULL},
			{MHD_OPTION_END, 0, NULL},
		};
		size_t first = 2;
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)g_ctrl.cfg.listen_port);
		if (inet_pton(AF_INET, g_ctrl.cfg.listen_address, &sa.sin_addr) != 1) {
			log_error("listen_address '%s' is not an IPv4 address",
				  g_ctrl.cfg.listen_address);
			goto out;
		}
		if (g_ctrl.cfg.tls_cert[0]) {
			cert = read_pem(g_ctrl.cfg.tls_cert);
			key = read_pem(g_ctrl.cfg.tls_key);
			if (cert == NULL || key == NULL) {
				log_error("TLS: %s", err_msg());
				goto out;
			}
			flags |= MHD_USE_TLS;
			tls[0].ptr_value = cert;
			tls[1].ptr_value = key;
			first = 0;
		}
		d = MHD_start_daemon(
			flags, 0, NULL, NULL, on_request, NULL,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
			MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_POOL,
			MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK,
			MHD_OPTION_ARRAY, tls + first, MHD_OPTION_END);
	}
	if (d == NULL) {
		log_error("cannot listen on %s:%" PRId64 ": is the port in use?",
			  g_ctrl.cfg.listen_address, g_ctrl.cfg.listen_port);
		goto out;
	}
	if (jobs_start(&jobs, &g_ctrl) < 0)
		log_error("%s: hosts are not marked down, pools not sampled",
			  err_msg());
	log_info("listening on %s://%s:%" PRId64 " (database '%s')",
		 g_ctrl.cfg.tls_cert[0] ? "https" : "http",
		 g_ctrl.cfg.listen_address, g_ctrl.cfg.listen_port,
		 g_ctrl.cfg.database);
	while (!g_stop)
		pause();
	log_info("stopping");
	rc = 0;
out:
	ctrl_stop(&g_ctrl);
	if (d)
		MHD_stop_daemon(d);
	jobs_join(&jobs);
	rb_shutdown(&g_ctrl);
	store_close(g_ctrl.st);
	anchor_free(g_ctrl.anchor);
	free(g_ctrl.stats);
	free(cert);
	free(key);
	return rc;
config_fail:
	fprintf(stderr, "fincloud-controller: %s\n", err_msg());
	config_free(cfg);
	return 2;
}
