/*
 * cmd_rebalance.c - finctl rebalance plan|run (docs/rebalancing.md):
 *
 *   finctl rebalance plan --pool P [--policy spread|pack] [--max-moves N]
 *                         [--min-gain G]
 *   finctl rebalance run  --pool P [...] [--concurrency K] [--no-wait]
 *                         [--timeout S]
 *
 * plan shows the moves with eta before and predicted after; run starts
 * them as one task and follows it (finctl_wait_run).
 */
#include "finctl/finctl.h"

static const struct finctl_col move_cols[] = {
	{"VM", "vm_name"}, {"ID", "vm"}, {"FROM", "source"}, {"TO", "target"},
	{"MEM_MIB", "mem_mib"}, {"PHASE", "phase"},
	{"SCORE_BEFORE", "score_before"}, {"SCORE_AFTER", "score_after"},
};

static const struct finctl_col eta_cols[] = {
	{"DIMENSION", "dim"}, {"ETA_POOL", "pool"},
	{"MIN_BEFORE", "b.min"}, {"MAX_BEFORE", "b.max"},
	{"STDDEV_BEFORE", "b.stddev"}, {"MIN_AFTER", "a.min"},
	{"MAX_AFTER", "a.max"}, {"STDDEV_AFTER", "a.stddev"},
};

/* The body of POST /v1/pools/P/rebalance from the options (dry: a plan
 * only); *path gets that path, for the caller to free. */
static cJSON *rb_request(struct finctl_ctx *x, bool dry, char **path)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("policy", "max-moves", "min-gain",
					      "concurrency"));

	if (dry)
		cJSON_AddBoolToObject(b, "dry_run", true);
	*path = finctl_path("/v1/pools/%s/rebalance", finctl_opt(x, "pool"));
	return b;
}

static void print_plan(const struct finctl_ctx *x FC_UNUSED,
		       const cJSON *plan)
{
	const cJSON *b = finctl_get(plan, "eta_before");
	const cJSON *a = finctl_get(plan, "eta_after");
	const cJSON *it;
	cJSON *rows = cJSON_CreateArray();
	static const char *const dims[] = {"vcpus", "mem_mib", "disk_gib"};
	char v[4][64];

	finctl_field(plan, "pool", v[0], sizeof(v[0]));
	finctl_field(plan, "policy", v[1], sizeof(v[1]));
	finctl_field(plan, "score_before", v[2], sizeof(v[2]));
	finctl_field(plan, "score_after", v[3], sizeof(v[3]));
	printf("pool %s, policy %s: %d move(s), score %s -> %s", v[0], v[1],
	       cJSON_GetArraySize(finctl_get(plan, "moves")), v[2], v[3]);
	finctl_field(plan, "mib_moved", v[0], sizeof(v[0]));
	printf(", %s MiB to copy\n", v[0]);
	finctl_print_table(finctl_get(plan, "moves"), move_cols,
			   FC_ARRAY_LEN(move_cols));
	for (size_t d = 0; d < FC_ARRAY_LEN(dims); d++) {
		cJSON *r = cJSON_CreateObject();
		const cJSON *bd = finctl_get(b, dims[d]);

		cJSON_AddStringToObject(r, "dim", dims[d]);
		cJSON_AddItemToObject(r, "pool", cJSON_Duplicate(
			finctl_get(bd, "pool"), 1));
		cJSON_AddItemToObject(r, "b", cJSON_Duplicate(bd, 1));
		cJSON_AddItemToObject(r, "a", cJSON_Duplicate(
			finctl_get(a, dims[d]), 1));
		cJSON_AddItemToArray(rows, r);
	}
	printf("\neta per dimension (pool, and across its hosts), before and "
	       "predicted after:\n");
	finctl_print_table(rows, eta_cols, FC_ARRAY_LEN(eta_cols));
	finctl_field(plan, "hosts_active_before", v[0], sizeof(v[0]));
	finctl_field(plan, "hosts_active_after", v[1], sizeof(v[1]));
	printf("hosts running VMs: %s -> %s\n", v[0], v[1]);
	cJSON_ArrayForEach(it, finctl_get(plan, "not_moved")) {
		finctl_field(it, "vm_name", v[0], sizeof(v[0]));
		finctl_field(it, "host", v[1], sizeof(v[1]));
		finctl_field(it, "reason", v[2], sizeof(v[2]));
		printf("not moved: %s on %s: %s\n", v[0], v[1], v[2]);
	}
	cJSON_ArrayForEach(it, finctl_get(plan, "unresolved"))
		if (cJSON_IsString(it))
			printf("unresolved: %s\n", it->valuestring);
	if (cJSON_IsTrue(finctl_get(plan, "max_moves_reached")))
		printf("the move budget (--max-moves) ended the plan\n");
	cJSON_Delete(rows);
}

/* plan (dry) or run. */
static int rebalance(struct finctl_ctx *x, bool dry)
{
	char *p;
	cJSON *b = rb_request(x, dry, &p);
	int rc;

	if (dry)
		rc = finctl_show_as(x, "POST", p, b, print_plan);
	else
		rc = finctl_run_start(x, p, b);
	free(p);
	return rc;
}

int finctl_rebalance_plan(struct finctl_ctx *x)
{
	return rebalance(x, true);
}

int finctl_rebalance_run(struct finctl_ctx *x)
{
	return rebalance(x, false);
}
