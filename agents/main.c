/*
 * fincloud-agent - one per compute node: reconciles libvirt towards the
 * node's desired state (static manifests and the controller's answer to
 * its heartbeats), reports inventory, utilisation and domain states, and
 * sends domain events as they happen. See docs/agent.md.
 *
 * This file reads the options and the config and starts the threads; the
 * work is in libfcagent: the main loop (agent_loop.h), the controller's
 * tasks (agent_task.h), the event sender (agent_events.h).
 *
 * Threads: the main loop (connect, reconcile, heartbeat), libvirt's event
 * loop (agent_virt.c), the event sender, the signal waiter, one thread
 * per running migration and, when health_listen is set, the health
 * endpoint. Each module states the locks it holds in its header.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "agents/agent_config.h"
#include "agents/agent_domxml.h"
#include "agents/agent_health.h"
#include "agents/agent_loop.h"
#include "agents/agent_virt.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"

/* ---- signals and start-up -------------------------------------------- */

static sigset_t stop_signals;
static atomic_bool ending; /* main() is tearing down: SIGUSR1 ends the waiter */

/* Takes the stop signals for the whole process; arg is the loop. Ends
 * after the first SIGINT or SIGTERM, or on a SIGUSR1 once main() is
 * ending; any other SIGUSR1 is ignored. */
static void *signal_waiter(void *arg)
{
	struct agent_loop *loop = arg;
	int sig = 0;

	while (sigwait(&stop_signals, &sig) == 0) {
		if (sig == SIGUSR1 && atomic_load(&ending))
			break; /* the agent is ending: stop this thread */
		if (sig == SIGUSR1)
			continue;
		log_info("signal %d: stopping (VMs keep running)", sig);
		agent_loop_quit(loop);
		break;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fincloud-agent [--config FILE] [OPTIONS]\n"
		"\n"
		"Reconciles this node's libvirt towards its desired state (static\n"
		"manifests and the controller's) and reports to the controller.\n"
		"\n"
		"  --config FILE       settings file (default %s)\n"
		"  --check-config      validate the settings and exit (0 ok, 2 bad)\n"
		"  --once              one reconcile pass (and exchange), then exit;\n"
		"                      exit status 1 when a VM could not be applied\n"
		"  --no-controller     manifests only; never contact a controller\n"
		"  --stop-timeout SEC  ACPI shutdown grace before power-off (default 60)\n"
		"  --KEY VALUE         override any config key, e.g.\n"
		"                      --libvirt-uri test:///default --log-level debug\n"
		"  --help, --version\n"
		"\n"
		"Config keys: controller_url node_name pool libvirt_uri migration_uri\n"
		"storage_dir image_dir credential_file join_token_file\n"
		"heartbeat_interval manifest_dir health_listen log_level\n"
		"orphan_grace min_free_disk_mib virt_type migration_max_seconds\n"
		"migration_auto_converge image_cache_max ca_file cert_file\n"
		"key_file insecure ceph_dir self_fence_timeout\n",
		AGENT_CONFIG_DEFAULT_PATH);
}

static bool known_key(const char *key)
{
	for (size_t i = 0; agent_config_keys[i]; i++)
		if (strcmp(agent_config_keys[i], key) == 0)
			return true;
	return false;
}


int main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool check = false, once = false, no_controller = false;
	int64_t stop_timeout = 60;
	char *overrides[64][2];
	size_t noverrides = 0;
	struct config *cfg = NULL;
	struct agent_config *acfg = NULL;
	struct agent_loop_opts opts;
	struct agent_virt *virt = NULL;
	struct agent_loop *loop = NULL;
	pthread_t sig_th;
	bool sig_started = false;
	struct agent_health *health = NULL;
	int status = 1;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		char key[64];
		const char *val, *eq;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("fincloud-agent %s\n", version_str());
			return 0;
		}
		if (strcmp(arg, "--check-config") == 0) {
			check = true;
			continue;
		}
		if (strcmp(arg, "--once") == 0) {
			once = true;
			continue;
		}
		if (strcmp(arg, "--no-controller") == 0) {
			no_controller = true;
			continue;
		}
		if (!str_startswith(arg, "--")) {
			fprintf(stderr, "fincloud-agent: unexpected argument "
					"'%s' (see --help)\n",
				arg);
			return 2;
		}
		eq = strchr(arg, '=');
		if (str_copy(key, sizeof(key), arg + 2) < 0) {
			fprintf(stderr, "fincloud-agent: unknown option '%s'\n",
				arg);
			return 2;
		}
		if (eq)
			key[eq - arg - 2] = '\0';
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			fprintf(stderr, "fincloud-agent: option '%s' needs a "
					"value\n",
				arg);
			return 2;
		}
		if (strcmp(key, "config") == 0) {
			config_path = val;
		} else if (strcmp(key, "stop_timeout") == 0) {
			if (parse_int64(val, &stop_timeout) < 0 ||
			    stop_timeout < 0 || stop_timeout > 3600) {
				fprintf(stderr, "fincloud-agent: --stop-timeout: "
						"expected seconds from 0 to "
						"3600, got '%s'\n",
					val);
				return 2;
			}
		} else if (known_key(key) &&
			   noverrides < FC_ARRAY_LEN(overrides)) {
			overrides[noverrides][0] = strdup(key);
			overrides[noverrides][1] = strdup(val);
			noverrides++;
		} else {
			fprintf(stderr, "fincloud-agent: unknown option '%s' "
					"(see --help)\n",
				arg);
			return 2;
		}
	}

	/* The default file may be absent (flags only); a named one not. */
	if (config_load(config_path ? config_path : AGENT_CONFIG_DEFAULT_PATH,
			config_path == NULL, &cfg) < 0)
		goto bad_config;
	for (size_t i = 0; i < noverrides; i++)
		if (!overrides[i][0] || !overrides[i][1] ||
		    config_set(cfg, overrides[i][0], overrides[i][1]) < 0)
			goto bad_config;
	if (agent_config_from(cfg, &acfg) < 0)
		goto bad_config;
	if (check) {
		printf("%s: ok\n", cfg->path);
		status = 0;
		goto out;
	}
	log_init("fincloud-agent", acfg->log_level, LOG_TO_STDERR);
	if (!no_controller && acfg->controller_url[0] == '\0') {
		log_info("no controller_url set: running on manifests only");
		no_controller = true;
	}
	opts.no_controller = no_controller;
	opts.once = once;
	opts.stop_timeout_ns = (uint64_t)stop_timeout * 1000000000ULL;

	/* Every thread inherits this mask: only signal_waiter() takes the
	 * stop signals, so no libvirt or curl call is interrupted. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (agent_virt_event_loop_start() < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	virt = agent_virt_new(acfg->libvirt_uri, acfg->storage_dir,
			      acfg->image_dir);
	if (virt && agent_virt_set_virt_type(virt, acfg->virt_type) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	loop = virt ? agent_loop_new(acfg, virt, &opts) : NULL;
	if (loop == NULL) {
		log_error("%s", err_msg());
		goto out;
	}
	if (pthread_create(&sig_th, NULL, signal_waiter, loop) == 0)
		sig_started = true;
	if (acfg->health_listen[0]) {
		health = agent_health_start(acfg->health_listen,
					    agent_loop_health, loop);
		if (health == NULL) {
			log_error("%s", err_msg());
			goto out;
		}
	}
	log_info("fincloud-agent %s: node '%s', libvirt '%s', %s",
		 version_str(), acfg->node_name, acfg->libvirt_uri,
		 no_controller ? "manifests only" : acfg->controller_url);

	if (agent_loop_run(loop) < 0) {
		log_error("%s", err_msg());
		goto out;
	}
	status = 0;
	if (once && agent_loop_failed(loop))
		status = 1;
out:
	if (loop)
		agent_loop_quit(loop);
	agent_health_stop(health);
	if (sig_started) {
		atomic_store(&ending, true);
		pthread_kill(sig_th, SIGUSR1);
		pthread_join(sig_th, NULL);
	}
	/* The loop's threads end (migrations in flight finish or fail)
	 * before libvirt goes; the loop's memory only after libvirt's
	 * event loop, which may still deliver an event to it. */
	if (loop)
		agent_loop_stop(loop);
	agent_virt_free(virt);
	agent_virt_event_loop_stop();
	agent_domxml_cleanup();
	agent_loop_free(loop);
	agent_config_free(acfg);
	config_free(cfg);
	for (size_t i = 0; i < noverrides; i++) {
		free(overrides[i][0]);
		free(overrides[i][1]);
	}
	return status;

bad_config:
	fprintf(stderr, "%s\n", err_msg());
	status = 2;
	goto out;
}
