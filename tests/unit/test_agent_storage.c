/* Unit tests of agents/agent_storage.c: fincloud's file marker and the
 * orphan rule (files + known VMs + times -> files to remove). */
#include "tests/unit/fc_test.h"

#include "agents/agent_storage.h"

#define S 1000000000ULL
#define GRACE (3600 * S)
#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"
#define ID3 "33333333-3333-4333-8333-333333333333"

static void test_marker(void **state)
{
	char id[37];

	(void)state;
	assert_true(agent_storage_marked(ID1 ".qcow2", id));
	assert_string_equal(id, ID1);
	assert_true(agent_storage_marked(ID2 ".console.log", id));
	assert_string_equal(id, ID2);
	assert_true(agent_storage_marked(ID3 ".seed.iso", id));
	assert_string_equal(id, ID3);
	/* Not the form the agent writes: never fincloud's. */
	assert_false(agent_storage_marked("11111111-1111-4111-8111-"
					  "11111111111A.qcow2", id));
	assert_false(agent_storage_marked(ID1 ".qcow2.bak", id));
	assert_false(agent_storage_marked(ID1 ".raw", id));
	assert_false(agent_storage_marked(ID1, id));
	assert_false(agent_storage_marked("base.qcow2", id));
	assert_false(agent_storage_marked("x" ID1 ".qcow2", id));
	assert_false(agent_storage_marked("", id));
}

/* One pass of the rule; the names of the files to remove, joined by ' '
 * into out, and the orphans kept into *next (the caller frees it). */
static void pass(const char *const *files, size_t nfiles,
		 const char *const *known, size_t nknown,
		 const struct agent_orphan *prev, size_t nprev, uint64_t now,
		 struct agent_orphan **next, size_t *nnext, char *out,
		 size_t size)
{
	struct agent_orphan *rm = NULL;
	size_t nrm = 0;

	assert_int_equal(agent_storage_orphans(files, nfiles, known, nknown,
					       prev, nprev, now, GRACE, next,
					       nnext, &rm, &nrm),
			 0);
	out[0] = '\0';
	for (size_t i = 0; i < nrm; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
			 i ? " " : "", rm[i].file);
	free(rm);
}

static void test_orphans_after_grace(void **state)
{
	const char *files[] = { ID1 ".qcow2", ID1 ".console.log",
				ID2 ".qcow2", "base.qcow2", "notes.txt",
				ID3 ".qcow2" };
	const char *known[] = { "22222222-2222-4222-8222-222222222222",
				"33333333-3333-4333-8333-333333333333" };
	struct agent_orphan *n1 = NULL, *n2 = NULL, *n3 = NULL;
	size_t nn1 = 0, nn2 = 0, nn3 = 0;
	char out[512];

	(void)state;
	/* First seen: timed, nothing removed yet. */
	pass(files, 6, known, 2, NULL, 0, 100 * S, &n1, &nn1, out,
	     sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(nn1, 2);
	assert_string_equal(n1[0].file, ID1 ".qcow2");
	assert_string_equal(n1[0].vm_id, ID1);
	assert_int_equal(n1[0].since_ns, 100 * S);
	/* Within the grace period: still kept, the first time kept too. */
	pass(files, 6, known, 2, n1, nn1, 100 * S + GRACE - 1, &n2, &nn2,
	     out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(nn2, 2);
	assert_int_equal(n2[1].since_ns, 100 * S);
	/* Past it: both files of ID1 go; ID2 and ID3 have VMs, the
	 * unmarked files are never touched. */
	pass(files, 6, known, 2, n2, nn2, 100 * S + GRACE, &n3, &nn3, out,
	     sizeof(out));
	assert_string_equal(out, ID1 ".qcow2 " ID1 ".console.log");
	assert_int_equal(nn3, 0);
	free(n1);
	free(n2);
	free(n3);
}

static void test_vm_comes_back(void **state)
{
	const char *files[] = { ID1 ".qcow2" };
	const char *known[] = { "11111111-1111-4111-8111-111111111111" };
	struct agent_orphan *n1 = NULL, *n2 = NULL, *n3 = NULL;
	size_t nn1 = 0, nn2 = 0, nn3 = 0;
	char out[256];

	(void)state;
	pass(files, 1, NULL, 0, NULL, 0, 10 * S, &n1, &nn1, out, sizeof(out));
	assert_int_equal(nn1, 1);
	/* A VM appears behind it (e.g. one migrating in): no longer an
	 * orphan, its timer is forgotten. */
	pass(files, 1, known, 1, n1, nn1, 20 * S, &n2, &nn2, out, sizeof(out));
	assert_int_equal(nn2, 0);
	assert_string_equal(out, "");
	/* Orphaned again: timed afresh, not from the first sighting. */
	pass(files, 1, NULL, 0, n2, nn2, 10 * S + GRACE, &n3, &nn3, out,
	     sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(nn3, 1);
	assert_int_equal(n3[0].since_ns, 10 * S + GRACE);
	free(n1);
	free(n2);
	free(n3);
}

static void test_zero_grace_and_gone_files(void **state)
{
	const char *files[] = { ID1 ".qcow2" };
	struct agent_orphan prev = { .file = ID2 ".qcow2", .vm_id = ID2,
				     .since_ns = 1 };
	struct agent_orphan *next = NULL, *rm = NULL;
	size_t nnext = 0, nrm = 0;

	(void)state;
	assert_int_equal(agent_storage_orphans(files, 1, NULL, 0, &prev, 1,
					       5 * S, 0, &next, &nnext, &rm,
					       &nrm),
			 0);
	/* Grace 0: removed at once; a file that went away is dropped. */
	assert_int_equal(nrm, 1);
	assert_string_equal(rm[0].file, ID1 ".qcow2");
	assert_int_equal(nnext, 0);
	free(next);
	free(rm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_marker),
		cmocka_unit_test(test_orphans_after_grace),
		cmocka_unit_test(test_vm_comes_back),
		cmocka_unit_test(test_zero_grace_and_gone_files),
	};

	return cmocka_run_group_tests_name("agent_storage", tests, NULL,
					   NULL);
}
