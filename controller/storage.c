/* Storage pools and their availability (see storage.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/store.h"
#include "controller/storage.h"
#include "scheduler/metrics.h"

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

double storage_availability(const double *a, size_t n, int replicas,
			    double each)
{
	double sorted[STORAGE_HOLDERS_MAX];

	if (replicas < 1)
		replicas = 1;
	if (n == 0)
		return 1 - pow(1 - each, replicas);
	if (n > FC_ARRAY_LEN(sorted))
		n = FC_ARRAY_LEN(sorted);
	memcpy(sorted, a, n * sizeof(*a));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	if ((size_t)replicas < n)
		n = (size_t)replicas;
	return sched_availability(sorted, n);
}

/* The availability of the hosts named in csv ("a,b"), the first
 * STORAGE_HOLDERS_MAX, into
 * a (*n of them; a name that is no host counts as unavailable, 0). 0, or
 * -1 with err_set(). */
static int hosts_availability(struct store *st, const char *csv, double *a,
			      size_t *n)
{
	const char *p = csv;
	int rc = 0;

	*n = 0;
	while (p && *p && *n < STORAGE_HOLDERS_MAX) {
		size_t len = strcspn(p, ",");
		char name[128];
		struct db_stmt *s;

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		s = store_stmt1(st, "SELECT availability FROM hosts WHERE "
				"name = ?", name);
		if (s == NULL)
			return -1;
		rc = store_row(st, s, "reading a replica host");
		if (rc < 0)
			return -1;
		a[(*n)++] = rc > 0 ? db_col_double(s, 0) : 0;
		db_reset(s);
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* The availability of a ceph pool from its row's replica columns. */
static int ceph_availability(struct store *st, int replicas,
			     const char *hosts, double each, double *avail)
{
	double a[STORAGE_HOLDERS_MAX];
	size_t n;

	if (hosts_availability(st, hosts, a, &n) < 0)
		return -1;
	*avail = storage_availability(a, n, replicas, each);
	return 0;
}

cJSON *storage_json(struct store *st, struct db_stmt *s)
{
	cJSON *o;
	const char *type = store_col_text(s, 1);
	double a = 1;
	bool ceph = strcmp(type, "ceph") == 0;

	if (ceph && ceph_availability(st, db_col_int(s, 5),
				      store_col_text(s, 6),
				      db_col_double(s, 7), &a) < 0)
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", store_col_text(s, 0));
	cJSON_AddStringToObject(o, "type", type);
	if (ceph) {
		const char *h = store_col_text(s, 6);

		cJSON_AddStringToObject(o, "ceph_pool", store_col_text(s, 2));
		cJSON_AddItemToObject(o, "monitors",
				      json_csv_array(store_col_text(s, 3)));
		cJSON_AddStringToObject(o, "client", store_col_text(s, 4));
		cJSON_AddNumberToObject(o, "replicas", db_col_int(s, 5));
		cJSON_AddItemToObject(o, "replica_hosts", json_csv_array(h));
		cJSON_AddNumberToObject(o, "replica_availability",
					db_col_double(s, 7));
		cJSON_AddNumberToObject(o, "availability", a);
	} else {
		/* a local disk is exactly as available as its host */
		cJSON_AddNullToObject(o, "availability");
	}
	cJSON_AddNumberToObject(o, "vms", (double)db_col_int64(s, 9));
	cJSON_AddNumberToObject(o, "created_ms",
				(double)db_col_int64(s, 8));
	return o;
}

void storage_redact(cJSON *o)
{
	static const char *const hidden[] = {"ceph_pool", "monitors",
					     "client", "replica_hosts", "vms"};

	for (size_t i = 0; i < FC_ARRAY_LEN(hidden); i++)
		cJSON_DeleteItemFromObject(o, hidden[i]);
}

int storage_pool_availability(struct store *st, const char *name, double *a)
{
	struct db_stmt *s = store_stmt1(st, "SELECT type, replicas, "
				      "replica_hosts, replica_availability FROM "
				      "storage_pools WHERE name = ?", name);
	int rc;
	char hosts[1024];
	int replicas;
	double each;

	if (s == NULL)
		return -1;
	rc = store_row(st, s, "reading the storage pool");
	if (rc <= 0)
		return rc;
	*a = 1;
	if (strcmp(store_col_text(s, 0), "ceph") != 0) {
		db_reset(s);
		return 1;
	}
	replicas = db_col_int(s, 1);
	str_copy(hosts, sizeof(hosts), store_col_text(s, 2));
	each = db_col_double(s, 3);
	db_reset(s);
	return ceph_availability(st, replicas, hosts, each, a) < 0 ? -1 : 1;
}

int storage_group_availability(struct store *st, const char *group,
			       double *a)
{
	/* one row per place: a local disk's host (its availability), or a
	 * ceph pool (NULL: computed from its replicas) */
	struct db_stmt *q = store_stmt(st, "SELECT DISTINCT 'h', h.name, "
				     "h.availability FROM vms v JOIN hosts h ON "
				     "h.name = v.host JOIN storage_pools p ON "
				     "p.name = v.storage WHERE v.grp = ?1 AND "
				     "v.desired != 'deleted' AND p.type = "
				     "'local' UNION SELECT DISTINCT 'p', "
				     "v.storage, CAST(NULL AS REAL) FROM vms v "
				     "JOIN "
				     "storage_pools p ON p.name = v.storage "
				     "WHERE v.grp = ?1 AND v.desired != "
				     "'deleted' AND p.type = 'ceph'");
	char pools[16][128];
	size_t npools = 0;
	double down = 1;
	int rc, places = 0;

	*a = 0;
	if (q == NULL)
		return -1;
	store_bind_text(q, 1, group);
	while ((rc = db_step(q)) == DB_ROW) {
		places++;
		if (store_col_text(q, 0)[0] == 'h')
			down *= 1 - db_col_double(q, 2);
		else if (npools < FC_ARRAY_LEN(pools))
			str_copy(pools[npools++], sizeof(pools[0]),
				 store_col_text(q, 1));
	}
	if (rc != DB_DONE)
		store_err(st, "computing the group's storage availability");
	db_reset(q);
	if (rc != DB_DONE)
		return -1;
	/* the pools' own availability reads other rows: after the reset */
	for (size_t i = 0; i < npools; i++) {
		double pa = 0;

		if (storage_pool_availability(st, pools[i], &pa) < 0)
			return -1;
		down *= 1 - pa;
	}
	if (places)
		*a = 1 - down;
	return 0;
}
