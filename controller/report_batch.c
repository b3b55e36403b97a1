/* A heartbeat's list of domains read and written in a few statements
 * whatever its length (see report.h "Batched"). */
#include <stdlib.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/audit.h"
#include "controller/db.h"
#include "controller/report.h"
#include "controller/store.h"
#include "controller/task.h"

/* The statements below take REPORT_CHUNK rows (or ids) each, the unused
 * ones bound to NULL (which no row matches, and which the writes skip):
 * one text per chunk size, prepared once, under SQLite's limit of 32,766
 * bound parameters and PostgreSQL's 65,535. */
#define Q4 "?,?,?,?"
#define Q16 Q4 "," Q4 "," Q4 "," Q4
#define Q64 Q16 "," Q16 "," Q16 "," Q16
#define Q256 Q64 "," Q64 "," Q64 "," Q64
#define R3 "(?,?,?)"
#define R3x4 R3 "," R3 "," R3 "," R3
#define R3x16 R3x4 "," R3x4 "," R3x4 "," R3x4
#define R3x64 R3x16 "," R3x16 "," R3x16 "," R3x16
#define R4 "(?,?,?,?)"
#define R4x4 R4 "," R4 "," R4 "," R4
#define R4x16 R4x4 "," R4x4 "," R4x4 "," R4x4
#define R4x64 R4x16 "," R4x16 "," R4x16 "," R4x16

/* Rows per write statement, and ids per read or delete statement. */
#define ROWS 64
#define IDS 256

/* The new or changed rows of a node's report: the node ?1, the time ?2
 * (both named first in the text: a bare ? is one more than the highest
 * number before it, on both engines), then (vm_id, name, state) from ?3
 * on. */
static const char sql_upsert[] =
	"WITH p(host, t) AS (SELECT CAST(?1 AS TEXT), CAST(?2 AS INTEGER)), "
	"d(vm_id, name, state) AS (VALUES " R3x64 ") "
	"INSERT INTO reports(host, vm_id, name, state, seen_ms) "
	"SELECT p.host, d.vm_id, d.name, d.state, p.t FROM p, d WHERE "
	"d.vm_id IS NOT NULL "
	"ON CONFLICT(host, vm_id) DO UPDATE SET name = excluded.name, "
	"state = excluded.state, seen_ms = excluded.seen_ms";

/* The rows of node ?1 whose vm_id is among ?2.. */
static const char sql_forget[] =
	"DELETE FROM reports WHERE host = ?1 AND vm_id IN (?2," Q256 ")";

/* The VMs behind the ids ?2.., whether a node other than ?1 reports
 * each active (report_conflict() then says whether that is a conflict),
 * and whether it has an open task (a non-correlated IN: one pass over
 * the open tasks a statement, on both engines). */
static const char sql_vms[] =
	"SELECT v.id, v.host, v.state, v.error, v.desired = 'deleted', "
	"v.cpu_pct, v.balloon_mib, v.disk_alloc_bytes, EXISTS (SELECT 1 FROM "
	"reports r WHERE r.vm_id = v.id AND r.host != ?1 AND r.state IN "
	REPORT_SQL_ACTIVE "), CASE WHEN v.id IN (SELECT t.vm_id FROM tasks t "
	"WHERE t.state IN ('pending','running')) THEN 1 ELSE 0 END FROM vms "
	"v WHERE v.id IN (?2," Q256 ")";

/* New (state, error) of VMs recorded on ?1 and not being deleted, at
 * ?2, from ?3 on (vm_id, state, error). */
static const char sql_states[] =
	"WITH p(host, t) AS (SELECT CAST(?1 AS TEXT), CAST(?2 AS INTEGER)), "
	"c(id, state, error) AS (VALUES " R3x64 ") "
	"UPDATE vms SET state = c.state, error = c.error, updated_ms = p.t "
	"FROM p, c WHERE vms.id = c.id AND vms.host = p.host AND "
	"vms.desired != 'deleted' AND (vms.state != c.state OR vms.error != "
	"c.error)";

/* Usage (vm_id, cpu_pct, balloon_mib, disk_alloc_bytes) from ?2 on of
 * the VMs recorded on node ?1. */
static const char sql_usage[] =
	"WITH p(host) AS (SELECT CAST(?1 AS TEXT)), "
	"u(id, cpu, balloon, disk) AS (VALUES " R4x64 ") "
	"UPDATE vms SET cpu_pct = CAST(u.cpu AS REAL), balloon_mib = "
	"CAST(u.balloon AS INTEGER), disk_alloc_bytes = CAST(u.disk AS "
	"INTEGER) FROM p, u WHERE vms.id = u.id AND vms.host = p.host";

/* The stored report of one domain. */
struct stored {
	char *vm_id, *name, *state;
	bool listed; /* in the new list */
};

static int stored_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stored *)a)->vm_id,
		      ((const struct stored *)b)->vm_id);
}

static void stored_free(struct stored *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].vm_id);
		free(s[i].name);
		free(s[i].state);
	}
	free(s);
}

/* node's report rows, sorted by vm_id, into *out (*n). 0 or -1. */
static int stored_load(struct store *st, const char *node,
		       struct stored **out, size_t *n)
{
	struct db_stmt *s = store_stmt1(st, "SELECT vm_id, name, state FROM "
				      "reports WHERE host = ?", node);
	struct stored *a = NULL;
	size_t len = 0, cap = 0;
	int rc = DB_ERROR;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		if (len == cap) {
			size_t c = cap ? 2 * cap : 128;
			struct stored *b = realloc(a, c * sizeof(*a));

			if (b == NULL) {
				rc = DB_NOMEM;
				break;
			}
			a = b;
			cap = c;
		}
		a[len] = (struct stored){
			.vm_id = strdup(store_col_text(s, 0)),
			.name = strdup(store_col_text(s, 1)),
			.state = strdup(store_col_text(s, 2)),
		};
		if (!a[len].vm_id || !a[len].name || !a[len].state) {
			len++;
			rc = DB_NOMEM;
			break;
		}
		len++;
	}
	db_reset(s);
	if (rc != DB_DONE) {
		stored_free(a, len);
		return rc == DB_NOMEM ? err_set("out of memory")
				      : store_err(st, "reading a node's report");
	}
	if (len > 1)
		qsort(a, len, sizeof(*a), stored_cmp);
	*out = a;
	*n = len;
	return 0;
}

static struct stored *stored_find(struct stored *a, size_t n, const char *id)
{
	struct stored key = {.vm_id = (char *)id};

	return n ? bsearch(&key, a, n, sizeof(*a), stored_cmp) : NULL;
}

/* Whether d[i] is the last entry of d naming its vm_id (a list naming a
 * domain twice counts its last word, as one write after another did). */
static bool last_of(const struct report_dom *d, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++)
		if (strcmp(d[j].vm_id, d[i].vm_id) == 0)
			return false;
	return true;
}

int report_record(struct store *st, const char *node,
		  const struct report_dom *d, size_t n, int64_t now_ms)
{
	struct stored *old = NULL, *o;
	struct db_stmt *s = NULL;
	size_t nold = 0, k = 0;
	int ret = -1;

	if (stored_load(st, node, &old, &nold) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		o = stored_find(old, nold, d[i].vm_id);
		if (o)
			o->listed = true;
		if (!last_of(d, n, i) ||
		    (o && strcmp(o->name, d[i].name) == 0 &&
		     strcmp(o->state, d[i].state) == 0))
			continue; /* unchanged: no write */
		if (k == 0) {
			s = store_stmt(st, sql_upsert);
			if (s == NULL)
				goto out;
			store_bind_text(s, 1, node);
			db_bind_int64(s, 2, now_ms);
		}
		store_bind_texts(s, 3 + 3 * (int)k,
				 (const char *[]){d[i].vm_id, d[i].name,
						  d[i].state}, 3);
		if (++k == ROWS) {
			if (store_done(st, s, "recording domains") < 0)
				goto out;
			k = 0;
		}
	}
	if (k > 0 && store_done(st, s, "recording domains") < 0)
		goto out;
	k = 0;
	for (size_t i = 0; i < nold; i++) {
		if (old[i].listed)
			continue;
		if (k == 0) {
			s = store_stmt1(st, sql_forget, node);
			if (s == NULL)
				goto out;
		}
		store_bind_text(s, 2 + (int)k, old[i].vm_id);
		if (++k == IDS + 1) {
			if (store_done(st, s, "forgetting domains gone "
				       "from a node") < 0)
				goto out;
			k = 0;
		}
	}
	if (k > 0 && store_done(st, s, "forgetting domains gone from a "
				     "node") < 0)
		goto out;
	ret = 0;
out:
	stored_free(old, nold);
	return ret;
}

void report_vms_free(struct report_vm *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].error);
	free(v);
}

/* Read the rows of s (sql_vms, stepped) into the entries of v whose
 * domain in d names them. 0 or -1. */
static int vms_read(struct store *st, struct db_stmt *s,
		    const struct report_dom *d, size_t n, struct report_vm *v)
{
	int rc;

	while ((rc = db_step(s)) == DB_ROW) {
		const char *id = store_col_text(s, 0);

		for (size_t i = 0; i < n; i++) {
			if (v[i].found || strcmp(d[i].vm_id, id) != 0)
				continue;
			v[i].found = true;
			str_copy(v[i].host, sizeof(v[i].host),
				 store_col_text(s, 1));
			str_copy(v[i].state, sizeof(v[i].state),
				 store_col_text(s, 2));
			v[i].error = strdup(store_col_text(s, 3));
			v[i].deleted = db_col_int(s, 4) != 0;
			v[i].cpu_pct = db_col_double(s, 5);
			v[i].balloon_mib = db_col_int64(s, 6);
			v[i].disk_bytes = db_col_int64(s, 7);
			v[i].contested = db_col_int(s, 8) != 0;
			v[i].tasks = db_col_int(s, 9) != 0;
			if (v[i].error == NULL) {
				db_reset(s);
				return err_set("out of memory");
			}
		}
	}
	db_reset(s);
	return rc == DB_DONE ? 0 : store_err(st, "reading the reported VMs");
}

int report_vms(struct store *st, const char *node, const struct report_dom *d,
	       size_t n, struct report_vm **out)
{
	struct report_vm *v = calloc(n + 1, sizeof(*v));
	struct db_stmt *s = NULL;
	size_t k = 0, from = 0;

	*out = NULL;
	if (v == NULL)
		return err_set("out of memory");
	for (size_t i = 0; i < n; i++) {
		if (k == 0 && (s = store_stmt1(st, sql_vms, node)) == NULL)
			goto fail;
		store_bind_text(s, 2 + (int)k, d[i].vm_id);
		if (++k == IDS + 1 || i + 1 == n) {
			/* the chunk's rows go to its own domains */
			if (vms_read(st, s, d + from, i + 1 - from,
				     v + from) < 0)
				goto fail;
			from = i + 1;
			k = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i].repeated = !last_of(d, n, i);
	*out = v;
	return 0;
fail:
	report_vms_free(v, n);
	return -1;
}

int report_usage(struct store *st, const char *node,
		 const struct report_dom *d, const struct report_vm *v,
		 size_t n)
{
	struct db_stmt *s = NULL;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!last_of(d, n, i))
			continue;
		if (v && (!v[i].found || strcmp(v[i].host, node) != 0 ||
			  (v[i].cpu_pct == d[i].cpu_pct &&
			   v[i].balloon_mib == d[i].balloon_mib &&
			   v[i].disk_bytes == d[i].disk_bytes)))
			continue;
		if (k == 0 && (s = store_stmt1(st, sql_usage, node)) == NULL)
			return -1;
		store_bind_text(s, 2 + 4 * (int)k, d[i].vm_id);
		db_bind_double(s, 3 + 4 * (int)k, d[i].cpu_pct);
		db_bind_int64(s, 4 + 4 * (int)k, d[i].balloon_mib);
		db_bind_int64(s, 5 + 4 * (int)k, d[i].disk_bytes);
		if (++k == ROWS) {
			if (store_done(st, s, "recording usage") < 0)
				return -1;
			k = 0;
		}
	}
	return k > 0 ? store_done(st, s, "recording usage") : 0;
}

/* Set the state and error of the VMs c (n, distinct) recorded on node
 * and not being deleted, updated_ms now_ms, where they differ. 0 or -1. */
static int report_states(struct store *st, const char *node,
			 const struct report_change *c, size_t n,
			 int64_t now_ms)
{
	struct db_stmt *s = NULL;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k == 0) {
			s = store_stmt1(st, sql_states, node);
			if (s == NULL)
				return -1;
			db_bind_int64(s, 2, now_ms);
		}
		store_bind_texts(s, 3 + 3 * (int)k,
				 (const char *[]){c[i].vm_id, c[i].state,
						  c[i].error}, 3);
		if ((++k == ROWS || i + 1 == n) &&
		    store_done(st, s, "updating the VMs' states") < 0)
			return -1;
		if (k == ROWS)
			k = 0;
	}
	return 0;
}

int report_changes_alloc(struct report_changes *h, size_t n)
{
	*h = (struct report_changes){
		.c = calloc(n + 1, sizeof(*h->c)),
		.tasks = calloc(n + 1, sizeof(*h->tasks)),
		.why = calloc(n + 1, sizeof(*h->why)),
	};
	if (h->c && h->tasks && h->why)
		return 0;
	report_changes_free(h);
	return err_set("out of memory");
}

void report_changes_free(struct report_changes *h)
{
	free(h->c);
	free(h->tasks);
	free(h->why);
	*h = (struct report_changes){0};
}

int report_changes_apply(struct store *st, const char *node,
			 const struct report_changes *h,
			 const char *request_id)
{
	/* up to two audit entries a change: its state, a new conflict */
	char (*action)[32] = calloc(2 * h->n + 1, sizeof(*action));
	char (*target)[48] = calloc(h->n + 1, sizeof(*target));
	const char **act = calloc(2 * h->n + 1, sizeof(*act));
	const char **tgt = calloc(2 * h->n + 1, sizeof(*tgt));
	size_t na = 0;
	int ret = -1;

	if (!action || !target || !act || !tgt) {
		err_set("out of memory");
		goto out;
	}
	if (h->n == 0 || report_states(st, node, h->c, h->n,
				       time_wall_ms()) < 0) {
		ret = h->n == 0 ? 0 : -1;
		goto out;
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct report_change *c = &h->c[i];

		/* the VM reached what was asked for, or failed: end its
		 * lifecycle task */
		if (h->tasks[i] &&
		    task_vm_state(st, c->vm_id, c->state,
				  c->error[0] ? c->error : NULL) < 0)
			goto out;
		snprintf(target[i], sizeof(target[i]), "vm:%.40s", c->vm_id);
		if (c->state_new || !c->conflict) {
			snprintf(action[na], sizeof(action[na]), "vm.state.%s",
				 c->state);
			act[na] = action[na];
			tgt[na++] = target[i];
		}
		if (c->conflict) {
			log_warn("vm '%s': %s", c->vm_id, c->error);
			str_copy(action[na], sizeof(action[na]), "vm.conflict");
			act[na] = action[na];
			tgt[na++] = target[i];
		}
	}
	ret = audit_events(st, act, tgt, na, request_id);
out:
	free(action);
	free(target);
	free(act);
	free(tgt);
	return ret;
}
