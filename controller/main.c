/* fincloud-controller: the REST API daemon. */
#include <getopt.h>
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
#include "controller/console.h"
#include "controller/ctrl.h"
#include "controller/jobs.h"
#include "controller/wakeup.h"
#include "controller/rebalance.h"
#include "controller/server.h"
#include "controller/store.h"


static struct ctrl g_ctrl;
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* Room for the settings' flags, and getopt's value for the first. */
#define SETTINGS_MAX 64
#define FLAG_LEN 32
#define SETTING_OPT 256

/* One long option per key of ctrl_config_keys (the key with '-' for
 * '_'), its value SETTING_OPT + the key's index, into opts (room for
 * SETTINGS_MAX + 1, ended by a zeroed entry); the names go to flags. */
static void settings_options(struct option *opts, char flags[][FLAG_LEN])
{
	size_t i;

	for (i = 0; ctrl_config_keys[i] && i < SETTINGS_MAX; i++) {
		snprintf(flags[i], FLAG_LEN, "%s", ctrl_config_keys[i]);
		for (char *p = flags[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		opts[i] = (struct option){flags[i], required_argument, NULL,
					  SETTING_OPT + (int)i};
	}
	opts[i] = (struct option){NULL, 0, NULL, 0};
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fincloud-controller [--config FILE] [--check-config]\n"
		"                           [--listen-address A] [--listen-port P]\n"
		"                           [--database FILE|URL] [--state-dir DIR]\n"
		"                           [--heartbeat-timeout S] [--heartbeat-interval S]\n"
		"                           [--sample-interval S] [--orphan-grace S]\n"
		"                           [--max-body BYTES]\n"
		"                           [--tls-cert FILE --tls-key FILE] [--log-level L]\n"
		"                           [--max-connections N] [--per-ip-connections N]\n"
		"                           [--request-timeout S] [--http-threads N]\n"
		"                           [--agent-listen-port P] [--image-max-size BYTES]\n"
		"                           [--tls-ca FILE] [--require-client-cert yes|no]\n"
		"                           [--insecure yes|no] [--ui-dir DIR]\n"
		"                           [--task-timeout-TYPE S]\n"
		"                           [--ha-suspect-intervals N] [--ha-fail-intervals N]\n"
		"                           [--ha-fence-timeout S] [--ha-fence-retry S]\n"
		"                           [--ceph-conf FILE] [--ceph-keyring FILE]\n"
		"                           [--ceph-id USER] [--fence-agents-dir DIR]\n"
		"\n"
		"The fincloud REST API daemon. Settings come from FILE (default\n"
		"%s, keys listen_address, listen_port, database,\n"
		"state_dir, heartbeat_timeout, heartbeat_interval, sample_interval,\n"
		"orphan_grace, max_body, tls_cert, tls_key, log_level, max_connections,\n"
		"per_ip_connections, request_timeout, http_threads,\n"
		"agent_listen_port, token_ttl_default, token_ttl_max,\n"
		"auth_fail_limit, join_token_ttl, join_token_ttl_max, image_max_size,\n"
		"tls_ca, require_client_cert, insecure, vni_min, vni_max, ui_dir,\n"
		"task_timeout_create, task_timeout_start, task_timeout_stop,\n"
		"task_timeout_delete, task_timeout_migrate, task_timeout_reboot,\n"
		"ha_suspect_intervals, ha_fail_intervals, ha_fence_timeout,\n"
		"ha_fence_retry, ceph_conf, ceph_keyring, ceph_id, fence_agents_dir);\n"
		"each has\n"
		"a flag (the key\n"
		"with '-' for '_') that overrides it.\n"
		"\n"
		"  --check-config   validate the configuration and exit: 0 when it\n"
		"                   is good, 2 with 'file:line: why' when not\n"
		"  --help, --version\n",
		CTRL_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	/* the fixed options, then one per setting (see settings_options) */
	struct option opts[SETTINGS_MAX + 5] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
	};
	char flags[SETTINGS_MAX][FLAG_LEN];
	const char *config_path = NULL;
	char dbname[CTRL_PATH_MAX];
	struct { const char *key, *value; } sets[SETTINGS_MAX];
	size_t nsets = 0;
	bool check = false;
	struct config *cfg = NULL;
	struct server *srv = NULL;
	struct jobs jobs = {0};
	struct wakeup wakeup = {0};
	int opt, rc = 1;

	settings_options(opts + 4, flags);
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		const char *k = NULL;

		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'C': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("fincloud-controller %s\n", version_str()); return 0;
		default:
			if (opt < SETTING_OPT ||
			    opt >= SETTING_OPT + SETTINGS_MAX) {
				usage(stderr);
				return 2;
			}
			k = ctrl_config_keys[opt - SETTING_OPT];
		}
		if (k && nsets < FC_ARRAY_LEN(sets)) {
			sets[nsets].key = k;
			sets[nsets++].value = optarg;
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
	if (g_ctrl.cfg.tls_ca[0] && access(g_ctrl.cfg.tls_ca, R_OK) != 0) {
		err_set("tls_ca '%s' cannot be read: %s", g_ctrl.cfg.tls_ca,
			strerror(errno));
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
	if (ctrl_init(&g_ctrl) < 0) {
		log_error("%s", err_msg());
		store_close(g_ctrl.st);
		return 1;
	}
	/* on PostgreSQL agents' desired states are read beside the writers
	 * (ctrl.h "The reader") */
	if (db_engine(store_db(g_ctrl.st)) == DB_PG &&
	    store_open(g_ctrl.cfg.database, &g_ctrl.reader) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	if (anchor_open(g_ctrl.st, g_ctrl.cfg.state_dir, &g_ctrl.anchor) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	g_ctrl.stats = calloc(api_nroutes, sizeof(*g_ctrl.stats));
	if (g_ctrl.stats == NULL) {
		log_error("out of memory");
		goto out;
	}
	g_ctrl.consoles = console_broker_new(&g_ctrl);
	if (g_ctrl.consoles == NULL) {
		log_error("%s", err_msg());
		goto out;
	}
	if (api_bootstrap_admin(&g_ctrl) < 0) {
		log_error("first admin token: %s", err_msg());
		goto out;
	}
	if (api_image_sweep(&g_ctrl) < 0)
		log_warn("image store: %s", err_msg());
	if (rb_recover(&g_ctrl) < 0)
		log_warn("rebalance runs of an earlier start: %s", err_msg());
	if (jobs_liveness_reset(&g_ctrl) < 0)
		log_warn("%s", err_msg());

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* before the API: no long-poll parks before it can be woken */
	if (wakeup_start(&wakeup, &g_ctrl) < 0)
		log_error("%s: agents' long-polls end at their deadline when "
			  "another controller changes their node", err_msg());
	if (server_start(&g_ctrl, &srv) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	if (jobs_start(&jobs, &g_ctrl) < 0)
		log_error("%s: hosts are not marked down, pools not sampled",
			  err_msg());
	store_display_name(g_ctrl.cfg.database, dbname, sizeof(dbname));
	log_info("listening on %s://%s:%" PRId64 " (database '%s')",
		 g_ctrl.cfg.tls_cert[0] ? "https" : "http",
		 g_ctrl.cfg.listen_address, g_ctrl.cfg.listen_port, dbname);
	if (g_ctrl.cfg.agent_listen_port)
		log_info("agents' port %" PRId64, g_ctrl.cfg.agent_listen_port);
	if (g_ctrl.cfg.require_client_cert)
		log_info("agents need a client certificate of '%s' whose CN "
			 "is their node name", g_ctrl.cfg.tls_ca);
	else if (!g_ctrl.cfg.tls_cert[0])
		log_warn("TLS is off: agents' and operators' requests travel "
			 "in plain text (docs/security.md)");
	while (!g_stop)
		pause();
	log_info("stopping");
	rc = 0;
out:
	ctrl_stop(&g_ctrl);
	/* open consoles end (audited) while the server can still close
	 * their connections; the broker is freed only once no request or
	 * switch can reach it */
	console_broker_quit(g_ctrl.consoles);
	server_stop(srv);
	console_broker_free(g_ctrl.consoles);
	g_ctrl.consoles = NULL;
	jobs_join(&jobs);
	wakeup_join(&wakeup);
	rb_shutdown(&g_ctrl);
	ctrl_fini(&g_ctrl);
	store_close(g_ctrl.reader);
	store_close(g_ctrl.st);
	anchor_free(g_ctrl.anchor);
	free(g_ctrl.stats);
	return rc;
config_fail:
	fprintf(stderr, "fincloud-controller: %s\n", err_msg());
	config_free(cfg);
	return 2;
}
