/* Unit tests of the agent's files: the credential (0600, atomic, refused
 * when others can read it, bound to the node name it was issued to), the
 * join token, and the manifest directory (agents/agent_client.c,
 * agents/agent_manifest.c). */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_client.h"
#include "agents/agent_manifest.h"
#include "common/err.h"
#include "common/util.h"

struct dir {
	char path[64];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/fc-test-agent-files-XXXXXX");
	if (mkdtemp(d->path) == NULL) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644), 0);
}

static void test_credential(void **state)
{
	struct dir *d = *state;
	char path[256], nf[300], buf[AGENT_CREDENTIAL_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state/agent.credential", d->path);
	assert_int_equal(agent_credential_load(path, buf, sizeof(buf)), 0);
	assert_int_equal(agent_credential_store(path, "s3cr3t-0123456789abcdef"),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(agent_credential_load(path, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "s3cr3t-0123456789abcdef");

	/* Readable by others: refused with what to do. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(agent_credential_load(path, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "is readable by others (mode 644): "
					  "chmod 600 it"));
	assert_int_equal(chmod(path, 0600), 0);
	/* Not something that can go into an HTTP header. */
	assert_int_equal(agent_credential_store(path, "two words"), 0);
	assert_int_equal(agent_credential_load(path, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "not printable ASCII"));

	/* The credential's node: none recorded (a credential stored
	 * before), the same name, another name (refused, naming both and
	 * the way out). */
	snprintf(nf, sizeof(nf), "%s.node", path);
	assert_int_equal(agent_credential_check_node(path, "n1"), 0);
	assert_int_equal(agent_credential_bind(path, "n1"), 0);
	assert_int_equal(stat(nf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(agent_credential_check_node(path, "n1"), 1);
	assert_int_equal(agent_credential_check_node(path, "n1-new"), -1);
	assert_non_null(strstr(err_msg(), "issued to node 'n1', but this agent "
					  "is configured as node 'n1-new'"));
	assert_non_null(strstr(err_msg(), "Set node_name = n1 again"));
	assert_non_null(strstr(err_msg(), nf));
}

static void test_join_token(void **state)
{
	struct dir *d = *state;
	char path[256], buf[AGENT_CREDENTIAL_MAX];

	put(d->path, "join.token", "  tok-123 \n");
	snprintf(path, sizeof(path), "%s/join.token", d->path);
	assert_int_equal(agent_join_token_load(path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tok-123");
	put(d->path, "join.token", "\n");
	assert_int_equal(agent_join_token_load(path, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "is empty"));
	snprintf(path, sizeof(path), "%s/missing.token", d->path);
	assert_int_equal(agent_join_token_load(path, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "join token file"));
}

#define SPEC(id, name)                                                       \
	"{\"vm_id\":\"0c6f8e9a-" id "-4222-8333-444455556666\",\"name\":\"" name \
	"\",\"tenant\":\"infra\",\"vcpus\":1,\"mem_mib\":64,\"disk_gib\":1,"     \
	"\"state\":\"running\"}"

/* What agent_manifest_load() found in a directory. */
struct loaded {
	struct agent_vm_spec *specs;
	struct agent_vm_error *errs;
	size_t n, nerr;
};

/* Load the manifests of dir into *l, which must succeed. */
static void load(const char *dir, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(agent_manifest_load(dir, &l->specs, &l->n, &l->errs,
					     &l->nerr),
			 0);
}

static void loaded_free(struct loaded *l)
{
	free(l->specs);
	free(l->errs);
}

static void test_manifests(void **state)
{
	struct dir *d = *state;
	struct loaded l;
	char man[256];

	/* A missing directory means no manifests. */
	snprintf(man, sizeof(man), "%s/manifests", d->path);
	load(man, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.nerr, 0);
	loaded_free(&l);

	assert_int_equal(dir_create(man, 0755), 0);
	put(man, "b.json", SPEC("2222", "infra.b"));
	put(man, "a.json", SPEC("1111", "infra.a"));
	put(man, "c.json", "{\"vm_id\": 1}");
	put(man, "d.json", "not json");
	put(man, "notes.txt", "ignored");
	put(man, ".hidden.json", "ignored too");
	load(man, &l);
	/* In file name order, bad files reported one each, others go on. */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.specs[0].name, "infra.a");
	assert_string_equal(l.specs[1].name, "infra.b");
	assert_true(l.specs[0].from_manifest);
	assert_int_equal(l.nerr, 2);
	assert_string_equal(l.errs[0].name, "c.json");
	assert_non_null(
		strstr(l.errs[0].error, "c.json: $.vm_id: expected a string"));
	assert_string_equal(l.errs[1].name, "d.json");
	assert_non_null(strstr(l.errs[1].error, "invalid JSON"));
	loaded_free(&l);
}

static void test_manifest_too_big(void **state)
{
	struct dir *d = *state;
	struct loaded l;
	char man[256];
	char *big = malloc(AGENT_MANIFEST_MAX_BYTES + 2);

	assert_non_null(big);
	memset(big, ' ', AGENT_MANIFEST_MAX_BYTES + 1);
	big[AGENT_MANIFEST_MAX_BYTES + 1] = '\0';
	snprintf(man, sizeof(man), "%s/big", d->path);
	assert_int_equal(dir_create(man, 0755), 0);
	put(man, "big.json", big);
	free(big);
	load(man, &l);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.nerr, 1);
	loaded_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_credential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manifest_too_big, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("agent_files", tests, NULL, NULL);
}
