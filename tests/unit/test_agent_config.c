/* Unit tests of agents/agent_config.c: good and bad agent.conf files. */
#include "tests/unit/fc_test.h"

#include "agents/agent_config.h"
#include "common/err.h"
#include "common/util.h"

static const char *data_path(const char *name)
{
	static char path[4096];
	const char *top = getenv("FC_TOP");

	snprintf(path, sizeof(path), "%s/tests/data/agent/%s", top ? top : ".",
		 name);
	return path;
}

static int load(const char *name, struct agent_config **out)
{
	struct config *cfg = NULL;
	int rc;

	*out = NULL;
	if (config_load(data_path(name), false, &cfg) < 0)
		return -1;
	rc = agent_config_from(cfg, out);
	config_free(cfg);
	return rc;
}

static void test_good_file(void **state)
{
	struct agent_config *ac;
	(void)state;

	assert_int_equal(load("good.conf", &ac), 0);
	assert_string_equal(ac->controller_url, "https://127.0.0.1:8740");
	assert_string_equal(ac->node_name, "n1");
	assert_string_equal(ac->pool, "default");
	assert_string_equal(ac->libvirt_uri, "test:///default");
	assert_string_equal(ac->migration_uri, "qemu+tls://10.250.0.2/system");
	assert_string_equal(ac->tls.ca_file, "/etc/pki/CA/cacert.pem");
	assert_string_equal(ac->tls.cert_file,
			    "/etc/pki/libvirt/clientcert.pem");
	assert_string_equal(ac->tls.key_file,
			    "/etc/pki/libvirt/private/clientkey.pem");
	assert_false(ac->insecure);
	assert_string_equal(ac->storage_dir, "/var/lib/fincloud/disks");
	assert_string_equal(ac->image_dir, "/var/lib/fincloud/images");
	assert_string_equal(ac->credential_file,
			    "/var/lib/fincloud/agent.credential");
	assert_string_equal(ac->join_token_file, "/etc/fincloud/join.token");
	assert_int_equal(ac->heartbeat_interval, 5);
	assert_string_equal(ac->manifest_dir, "/etc/fincloud/manifests");
	assert_string_equal(ac->health_listen, "127.0.0.1:8741");
	assert_int_equal(ac->log_level, LOG_LVL_DEBUG);
	assert_string_equal(ac->virt_type, "qemu");
	assert_int_equal(ac->migration_max_seconds, 90);
	assert_false(ac->migration_auto_converge);
	assert_string_equal(ac->ceph_dir, "/etc/ceph/fincloud");
	agent_config_free(ac);
}

static void test_defaults(void **state)
{
	struct config *cfg = NULL;
	struct agent_config *ac = NULL;
	(void)state;

	assert_int_equal(config_parse("empty.conf", "node_name = n9\n", &cfg),
			 0);
	assert_int_equal(agent_config_from(cfg, &ac), 0);
	assert_string_equal(ac->libvirt_uri, "qemu:///system");
	assert_string_equal(ac->manifest_dir, "/etc/fincloud/manifests");
	assert_string_equal(ac->controller_url, "");
	assert_string_equal(ac->health_listen, "");
	assert_string_equal(ac->pool, "default");
	assert_int_equal(ac->heartbeat_interval, 5);
	assert_int_equal(ac->orphan_grace, 3600);
	assert_int_equal(ac->log_level, LOG_LVL_INFO);
	assert_string_equal(ac->virt_type, "auto");
	assert_int_equal(ac->migration_max_seconds, 600);
	assert_true(ac->migration_auto_converge);
	assert_string_equal(ac->ceph_dir, "/etc/fincloud/ceph");
	agent_config_free(ac);
	config_free(cfg);
}

static void test_flag_overrides_file(void **state)
{
	struct config *cfg = NULL;
	struct agent_config *ac = NULL;
	(void)state;

	assert_int_equal(config_load(data_path("good.conf"), false, &cfg), 0);
	assert_int_equal(config_set(cfg, "libvirt_uri", "qemu:///system"), 0);
	assert_int_equal(config_set(cfg, "heartbeat_interval", "0"), 0);
	assert_int_equal(agent_config_from(cfg, &ac), -1);
	assert_null(ac);
	assert_string_equal(err_msg(),
			    "command line: key 'heartbeat_interval': expected "
			    "an integer from 1 to 3600, got '0'");
	assert_int_equal(config_set(cfg, "heartbeat_interval", "7"), 0);
	assert_int_equal(agent_config_from(cfg, &ac), 0);
	assert_string_equal(ac->libvirt_uri, "qemu:///system");
	assert_int_equal(ac->heartbeat_interval, 7);
	agent_config_free(ac);
	config_free(cfg);
}

/* Every setting that names a file or a directory must be absolute. */
static void test_paths_absolute(void **state)
{
	static const char *const keys[] = {
		"storage_dir",	   "image_dir",	   "credential_file",
		"join_token_file", "manifest_dir",
	};
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(keys); i++) {
		struct config *cfg = NULL;
		struct agent_config *ac = NULL;
		char text[128], want[256];

		snprintf(text, sizeof(text), "node_name = n9\n%s = rel/x\n",
			 keys[i]);
		snprintf(want, sizeof(want),
			 "t.conf:2: key '%s': expected an absolute path, got "
			 "'rel/x'",
			 keys[i]);
		assert_int_equal(config_parse("t.conf", text, &cfg), 0);
		assert_int_equal(agent_config_from(cfg, &ac), -1);
		assert_null(ac);
		assert_string_equal(err_msg(), want);
		config_free(cfg);
	}
}

/* TLS everywhere unless insecure = yes: an https controller needs its
 * CA, plain HTTP and qemu+tcp need insecure, a certificate needs its
 * key; a local or qemu+tls migration URI is not plain. */
static void test_tls(void **state)
{
	static const struct {
		const char *text;
		const char *msg; /* NULL: accepted */
	} cases[] = {
		{"controller_url = https://c:8740\n",
		 "t.conf:2: key 'controller_url': 'https://c:8740' is https: "
		 "set ca_file to the installation's CA (ca-cert.pem) so that "
		 "the agent can verify the controller"},
		{"controller_url = http://c:8740\n",
		 "t.conf:2: key 'controller_url': 'http://c:8740' is plain "
		 "HTTP: use https:// with ca_file, cert_file and key_file, or "
		 "set insecure = yes on a closed development network"},
		{"controller_url = http://c:8740\ninsecure = yes\n", NULL},
		{"controller_url = https://c:8740\nca_file = /ca.pem\n", NULL},
		/* several controllers: each URL is held to the same rules */
		{"controller_url = https://a:8740, https://b:8740\n"
		 "ca_file = /ca.pem\n", NULL},
		{"controller_url = https://a:8740,http://b:8740\n"
		 "ca_file = /ca.pem\n",
		 "t.conf:2: key 'controller_url': 'https://a:8740,http://b:8740' "
		 "is plain HTTP: use https:// with ca_file, cert_file and "
		 "key_file, or set insecure = yes on a closed development "
		 "network"},
		{"controller_url = https://a:8740,ftp://b\n",
		 "t.conf:2: key 'controller_url': expected an http:// or "
		 "https:// URL, or up to 8 of them separated by commas "
		 "(several controllers, docs/operations.md), got "
		 "'https://a:8740,ftp://b'"},
		{"controller_url = https://a:8740,\n",
		 "t.conf:2: key 'controller_url': expected an http:// or "
		 "https:// URL, or up to 8 of them separated by commas "
		 "(several controllers, docs/operations.md), got "
		 "'https://a:8740,'"},
		{"controller_url = https://c:8740\nca_file = /ca.pem\n"
		 "cert_file = /c.pem\n",
		 "t.conf:4: key 'cert_file': cert_file and key_file go "
		 "together: set both (this node's bundle from 'fincloud-ca.sh "
		 "issue') or neither"},
		{"ca_file = ca.pem\n",
		 "t.conf:2: key 'ca_file': expected an absolute path, got "
		 "'ca.pem'"},
		{"migration_uri = qemu+tcp://10.0.0.2/system\n",
		 "t.conf:2: key 'migration_uri': 'qemu+tcp://10.0.0.2/system' "
		 "carries migrations in plain text: use qemu+tls://, or set "
		 "insecure = yes on a closed development network"},
		{"migration_uri = qemu+tcp://10.0.0.2/system\ninsecure = yes\n",
		 NULL},
		{"migration_uri = qemu+tls://10.0.0.2/system\n", NULL},
		{"migration_uri = test:///default\n", NULL},
		{"insecure = maybe\n", "t.conf:2: key 'insecure': expected yes "
		 "or no, got 'maybe'"},
	};
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		struct config *cfg = NULL;
		struct agent_config *ac = NULL;
		char text[512];

		snprintf(text, sizeof(text), "node_name = n9\n%s",
			 cases[i].text);
		assert_int_equal(config_parse("t.conf", text, &cfg), 0);
		if (cases[i].msg == NULL) {
			assert_int_equal(agent_config_from(cfg, &ac), 0);
		} else {
			assert_int_equal(agent_config_from(cfg, &ac), -1);
			assert_string_equal(err_msg(), cases[i].msg);
		}
		agent_config_free(ac);
		config_free(cfg);
	}
	assert_true(agent_uri_plain("qemu+tcp://10.0.0.2/system"));
	assert_true(agent_uri_plain("qemu+ssh://root@n2/system"));
	assert_true(agent_uri_plain("qemu://n2/system"));
	assert_false(agent_uri_plain("qemu+tls://10.0.0.2/system"));
	assert_false(agent_uri_plain("qemu:///system"));
	assert_false(agent_uri_plain("test:///default"));
	assert_false(agent_uri_plain(""));
}

/* Each bad file fails with its own file:line and reason. */
static void test_bad_files(void **state)
{
	static const struct {
		const char *file;
		const char *msg; /* expected after "PATH:" */
	} cases[] = {
		{ "bad-unknown-key.conf",
		  "2: unknown key 'heartbeat_intervall' (did you mean "
		  "'heartbeat_interval'?)" },
		{ "bad-interval.conf", "2: key 'heartbeat_interval': expected "
				       "an integer from 1 to 3600, got '0'" },
		{ "bad-relative-path.conf",
		  "2: key 'storage_dir': expected an absolute path, got "
		  "'relative/disks'" },
		{ "bad-health-listen.conf",
		  "2: key 'health_listen': the health endpoint listens on "
		  "loopback only: use 127.0.0.1:PORT or [::1]:PORT, got "
		  "'0.0.0.0:8741'" },
		{ "bad-controller-url.conf",
		  "2: key 'controller_url': expected an http:// or https:// "
		  "URL, or up to 8 of them separated by commas (several "
		  "controllers, docs/operations.md), got 'ftp://x'" },
		{ "bad-node-name.conf",
		  "1: node name 'bad name' has a forbidden character at "
		  "position 4: use letters, digits, '.', '_' and '-'" },
		{ "bad-log-level.conf",
		  "2: key 'log_level': expected error, warn, info or debug, "
		  "got 'loud'" },
		{ "bad-virt-type.conf",
		  "2: key 'virt_type': expected auto, kvm or qemu, got 'xen'" },
		{ "bad-migration-max-seconds.conf",
		  "2: key 'migration_max_seconds': expected an integer from 0 "
		  "to 604800, got '-5'" },
		{ "bad-auto-converge.conf",
		  "2: key 'migration_auto_converge': expected yes or no, got "
		  "'maybe'" },
		{ "bad-syntax.conf",
		  "2: expected 'key = value', got 'this is not a setting'" },
	};
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		struct agent_config *ac = NULL;
		char want[8192];

		snprintf(want, sizeof(want), "%s:%s", data_path(cases[i].file),
			 cases[i].msg);
		assert_int_equal(load(cases[i].file, &ac), -1);
		assert_null(ac);
		assert_string_equal(err_msg(), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_flag_overrides_file),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_paths_absolute),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests_name("agent_config", tests, NULL, NULL);
}
