/* Unit tests of scheduler/htools.c and scheduler/ganeti_score.c: reading
 * Ganeti's text format, file:line errors, the round trip, and the score
 * against what hinfo printed for the files in tests/data/htools/. */
#include <math.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "common/util.h"
#include "scheduler/ganeti_score.h"
#include "scheduler/htools.h"
#include "scheduler/problem.h"

static const char *data_dir(void)
{
	static char dir[4096];
	const char *top = getenv("FC_TOP");

	snprintf(dir, sizeof(dir), "%s/tests/data/htools", top ? top : ".");
	return dir;
}

static struct sched_problem *parse_ok(const char *text)
{
	struct sched_problem *p = NULL;

	if (htools_parse("t.data", text, strlen(text), &p) < 0)
		fail_msg("parse failed: %s", err_msg());
	return p;
}

static void parse_err(const char *text, const char *want)
{
	struct sched_problem *p = NULL;

	assert_int_equal(htools_parse("t.data", text, strlen(text), &p), -1);
	assert_null(p);
	if (strstr(err_msg(), want) == NULL)
		fail_msg("error '%s' does not contain '%s'", err_msg(), want);
}

static const char small[] =
	"g1|u1|preferred||\n"
	"g2|u2|preferred||\n"
	"\n"
	"n1|16384|1024|10240|409600|307200|16|M|u1|1\n"
	"n2|16384|1024|15360|409600|409600|16|N|u1|1\n"
	"n3|32768|1024|31744|409600|409600|32|Y|u2|1\n"
	"\n"
	"i1|2048|51200|2|running|Y|n1||plain||1\n"
	"i2|3072|0|4|running|Y|n1||rbd||1\n"
	"i3|1024|0|1|ADMIN_down|Y|n2||ext||1\n"
	"\n"
	"\n"
	"|128,1,1024,1,1,1|128,1,1024,1,1,1;32768,8,1048576,16,8,12|"
	"plain,rbd|2.5|32.0\n"
	"g2|128,1,1024,1,1,1|128,1,1024,1,1,1;32768,8,1048576,16,8,12|"
	"plain,rbd|8.0|16.0\n";

static void test_model_mapping(void **state)
{
	struct sched_problem *p = parse_ok(small);
	(void)state;

	assert_int_equal(p->npools, 2);
	assert_string_equal(p->pools[0].name, "g1");
	assert_true(p->pools[0].ratio[DIM_VCPU] == 4.0); /* no own line */
	assert_true(p->pools[1].ratio[DIM_VCPU] == 8.0);
	assert_int_equal(p->nhosts, 3);
	assert_int_equal(p->hosts[2].pool, 1);
	assert_int_equal(p->hosts[2].state, HOST_DOWN);
	assert_int_equal(p->hosts[0].state, HOST_UP);
	assert_int_equal(p->nvms, 3);
	assert_int_equal(p->vms[0].host, 0);
	assert_true(p->vms[0].req[DIM_MEM] == 2048);
	assert_true(p->vms[0].req[DIM_DISK] == 50); /* plain: local GiB */
	assert_true(p->vms[1].req[DIM_DISK] == 0);  /* rbd: not on the node */
	assert_true(p->vms[2].req[DIM_MEM] == 0);   /* down: no memory */
	/* usable memory: free + what the node's running primaries use */
	assert_true(p->hosts[0].cap[DIM_MEM] == 10240 + 2048 + 3072);
	assert_true(p->hosts[0].cap[DIM_DISK] == 300 + 50);
	/* (n_cpu + vcpus) / t_cpu <= ratio: 16 - 1 / 4 */
	assert_true(fabs(p->hosts[0].cap[DIM_VCPU] - 15.75) < 1e-12);
	assert_false(htools_vm_movable(p, 0)); /* plain */
	assert_true(htools_vm_movable(p, 1));  /* rbd */
	assert_int_equal(p->ntenants, 1);
	sched_problem_free(p);
}

static void test_errors_name_line_and_field(void **state)
{
	(void)state;
	parse_err("g|u|preferred||\n\nn1|x|0|0|0|0|1|N|u\n\n\n",
		  "t.data:3: node 'n1': field 't_mem' must be a number, got 'x'");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|nope\n\n\n",
		  "t.data:3: node 'n1': field 'group_uuid': no node group has "
		  "uuid 'nope'");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n"
		  "i|1|1|1|running|Y|n9||plain|\n\n",
		  "t.data:5: instance 'i': field 'pnode': no node is named 'n9'");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n"
		  "i|1|1|1|sleeping|Y|n1||plain|\n\n",
		  "t.data:5: instance 'i': field 'status' must be one of");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n"
		  "i|1|1|1|running|Y|n1||floppy|\n\n",
		  "field 'disk_template' must be one of");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n"
		  "i|-5|1|1|running|Y|n1||plain|\n\n",
		  "must not be negative");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\nn1|1|0|0|0|0|1|N|u\n"
		  "\n\n", "t.data:4: node 'n1' is listed twice");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n",
		  "t.data: 2 sections instead of 4 or 5");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|Q|u\n\n\n",
		  "field 'offline' must be Y, N or M, got 'Q'");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n\n\n"
		  "|1|2|plain|x|32\n", "t.data:7: ipolicy '': field "
		  "'vcpu_ratio' must be a number, got 'x'");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n"
		  "i|1|1|1|running|Y|n1|n1|drbd|\n\n",
		  "has the same primary and secondary node 'n1'");
}

static void test_read_missing_file(void **state)
{
	struct sched_problem *p = NULL;
	(void)state;

	assert_int_equal(htools_read("/nonexistent/x.data", &p), -1);
	assert_non_null(strstr(err_msg(), "/nonexistent/x.data"));
}

/* Without moves the written text is the text read. */
static void test_round_trip_identity(void **state)
{
	struct sched_problem *p = parse_ok(small);
	char *out;
	(void)state;

	out = htools_format(p);
	assert_non_null(out);
	assert_string_equal(out, small);
	free(out);
	sched_problem_free(p);
}

/* A moved instance changes pnode and the nodes' f_mem / f_dsk, and the
 * written file scores what the state claimed. */
static void test_round_trip_after_move(void **state)
{
	struct sched_problem *p = parse_ok(small), *q = NULL;
	double a, b;
	char *out;
	(void)state;

	p->vms[1].host = 1; /* i2 (rbd, 3072 MiB) n1 -> n2 */
	p->vms[0].host = 1; /* i1 (plain, local disk) too */
	assert_int_equal(ganeti_score_of(p, &a), 0);
	out = htools_format(p);
	assert_non_null(out);
	assert_non_null(strstr(out, "n1|16384|1024|15360|409600|358400|"));
	assert_non_null(strstr(out, "n2|16384|1024|10240|409600|358400|"));
	assert_non_null(strstr(out, "i2|3072|0|4|running|Y|n2||rbd||1\n"));
	assert_int_equal(htools_parse("o.data", out, strlen(out), &q), 0);
	assert_int_equal(ganeti_score_of(q, &b), 0);
	assert_true(fabs(a - b) < 1e-12);
	free(out);
	sched_problem_free(p);
	sched_problem_free(q);
}

/* The score of each example equals what hinfo printed (8 decimals). */
static void test_score_matches_hinfo(void **state)
{
	char path[4200], *text = NULL, *line, *save = NULL;
	size_t len, checked = 0;
	(void)state;

	snprintf(path, sizeof(path), "%s/hinfo-scores", data_dir());
	if (file_read_all(path, 1 << 20, &text, &len) < 0)
		fail_msg("%s", err_msg());
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[256], file[4400];
		double want, got;
		struct sched_problem *p = NULL;

		if (line[0] == '#')
			continue;
		assert_int_equal(sscanf(line, "%255s %lf", name, &want), 2);
		snprintf(file, sizeof(file), "%s/%s", data_dir(), name);
		if (htools_read(file, &p) < 0)
			fail_msg("%s", err_msg());
		assert_int_equal(ganeti_score_of(p, &got), 0);
		if (fabs(got - want) > 1e-6)
			fail_msg("%s: score %.8f, hinfo printed %.8f", name, got,
				 want);
		checked++;
		sched_problem_free(p);
	}
	assert_true(checked >= 8);
	free(text);
}

/* The O(1) move update agrees with a score computed from scratch. */
static void test_incremental_equals_full(void **state)
{
	char file[4200];
	struct sched_problem *p = NULL;
	struct ganeti_score *g;
	int *host;
	size_t i, k;
	uint32_t r = 12345;
	(void)state;

	snprintf(file, sizeof(file), "%s/mixed-30.data", data_dir());
	if (htools_read(file, &p) < 0)
		fail_msg("%s", err_msg());
	g = ganeti_score_new(p, NULL);
	assert_non_null(g);
	host = calloc(p->nvms, sizeof(*host));
	assert_non_null(host);
	for (i = 0; i < p->nvms; i++)
		host[i] = p->vms[i].host;
	for (k = 0; k < 300; k++) {
		size_t vm, to;
		double tried, full;
		struct ganeti_score *f;

		r = r * 1103515245u + 12345u;
		vm = (r >> 8) % p->nvms;
		r = r * 1103515245u + 12345u;
		to = (r >> 8) % p->nhosts;
		tried = ganeti_score_try(g, vm, to);
		ganeti_score_move(g, vm, to);
		host[vm] = (int)to;
		assert_true(fabs(tried - ganeti_score_value(g)) < 1e-9);
		if (k % 30 == 0) {
			f = ganeti_score_new(p, host);
			assert_non_null(f);
			full = ganeti_score_value(f);
			if (fabs(full - ganeti_score_value(g)) > 1e-9)
				fail_msg("move %zu: incremental %.12f, full "
					 "%.12f", k, ganeti_score_value(g),
					 full);
			ganeti_score_free(f);
		}
	}
	free(host);
	ganeti_score_free(g);
	sched_problem_free(p);
}

/* Memory kept for DRBD failovers (N+1) is not offered to new VMs. */
static void test_capacity_keeps_failover_memory(void **state)
{
	char file[4200];
	struct sched_problem *p = NULL;
	(void)state;

	snprintf(file, sizeof(file), "%s/n1-failure.data", data_dir());
	if (htools_read(file, &p) < 0)
		fail_msg("%s", err_msg());
	/* node-01-003: f_mem 512 + running primaries 1536 - 1024 kept for
	 * the instances of node-01-004 (or -001) that fail over to it */
	assert_string_equal(p->hosts[2].name, "node-01-003");
	assert_true(p->hosts[2].cap[DIM_MEM] == 512 + 1536 - 1024);
	sched_problem_free(p);
}

static void test_location_tags_refused(void **state)
{
	struct sched_problem *p =
		parse_ok("g|u|preferred||\n\nn1|1024|0|1024|10|10|1|N|u\n\n\n"
			 "htools:nlocation:rack\n");
	double s;
	(void)state;

	assert_int_equal(ganeti_score_of(p, &s), -1);
	assert_non_null(strstr(err_msg(), "location tags are not supported"));
	sched_problem_free(p);
}

/* The error names the policy's owner: it used to be read from the
 * line's copy after the copy was freed (ASan: heap-use-after-free). */
static void test_bad_vcpu_ratio_names_owner(void **state)
{
	(void)state;
	parse_err("group-with-a-long-name|u|preferred||\n\n"
		  "n1|1|0|0|0|0|1|N|u\n\n\n\n"
		  "group-with-a-long-name|1|2|plain|0|32\n",
		  "t.data:7: ipolicy 'group-with-a-long-name': field "
		  "'vcpu_ratio' must be > 0");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\n\n\n\n"
		  "g|1|2|plain|-1|32\n", "ipolicy 'g': field 'vcpu_ratio'");
}

/* A node memory beyond int64_t used to reach a float-to-integer
 * conversion (UBSan: outside the range of representable values); every
 * size is now bounded where it is read. */
static void test_huge_numbers_refused(void **state)
{
	(void)state;
	parse_err("g|u|preferred||\n\nn1|1e30|0|0|0|0|1|N|u\n\n\n",
		  "t.data:3: node 'n1': field 't_mem' is out of range");
	parse_err("g|u|preferred||\n\nn1|1024|-9223372036854775807|0|0|0|1"
		  "|N|u\n\n\n", "field 'n_mem' is out of range");
	parse_err("g|u|preferred||\n\nn1|1024|0|0|0|0|1|N|u\n\n"
		  "i|9223372036854775807|1|1|running|Y|n1||plain|\n"
		  "j|9223372036854775807|1|1|running|Y|n1||plain|\n\n",
		  "instance 'i': field 'mem' is out of range");
}

/* Found by tests/fuzz/fuzz_htools.c: a cluster tag of a lone '\r' (from
 * "\r\r\n") was accepted, written as "\r\n" and read back as the end of
 * the section. CRLF line ends still read. */
static void test_carriage_return_inside_line_refused(void **state)
{
	struct sched_problem *p;
	(void)state;

	parse_err("\n\n\n\r\r\nlr\n\nd", "t.data:4: a carriage return "
		  "inside a line");
	parse_err("g|u|preferred||\n\nn1|1|0|0|0|0|1|N|u\r|\n\n\n",
		  "t.data:3: a carriage return");
	p = parse_ok("g|u|preferred||\r\n\r\nn1|1024|0|1024|10|10|1|N|u\r\n"
		     "\r\n\r\n");
	assert_int_equal(p->nhosts, 1);
	sched_problem_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_mapping),
		cmocka_unit_test(test_errors_name_line_and_field),
		cmocka_unit_test(test_read_missing_file),
		cmocka_unit_test(test_round_trip_identity),
		cmocka_unit_test(test_round_trip_after_move),
		cmocka_unit_test(test_score_matches_hinfo),
		cmocka_unit_test(test_incremental_equals_full),
		cmocka_unit_test(test_capacity_keeps_failover_memory),
		cmocka_unit_test(test_location_tags_refused),
		cmocka_unit_test(test_bad_vcpu_ratio_names_owner),
		cmocka_unit_test(test_huge_numbers_refused),
		cmocka_unit_test(test_carriage_return_inside_line_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
