/* A node's desired state, as its heartbeat's answer lists it (see
 * desired.h). */
#include <cjson/cJSON.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/db.h"
#include "controller/desired.h"
#include "controller/domname.h"
#include "controller/netstate.h"
#include "controller/report.h"
#include "controller/store.h"
#include "controller/task.h"
#include "controller/vmimage.h"

/* name if it is a valid name, else "orphan" (an orphan's name is the
 * agent's, unchecked). */
static const char *valid_or_orphan(const char *name)
{
	return name_validate("domain", name) == 0 ? name : "orphan";
}

/* The columns desired_vms() reads of a VM v, then its condition. */
#define DESIRED_VM                                                         \
	"SELECT id, name, tenant, grp, vcpus, mem_mib, disk_gib, desired, "  \
	"0, seq, (SELECT wipe_on_delete FROM tenants t WHERE t.name = "      \
	"v.tenant), " VMIMAGE_COLS ", " DESIRED_HAS_PORTS " FROM vms v WHERE "
/* Whether VM v has ports (column 19): only those cost the statements of
 * netstate_vm_ports(), so that a node's desired state is read in a few
 * statements however many VMs without NICs it runs. */
#define DESIRED_HAS_PORTS                                                  \
	"CASE WHEN EXISTS (SELECT 1 FROM ports p WHERE p.vm_id = v.id) "     \
	"THEN 1 ELSE 0 END"

/* The VMs of node, as its desired state lists them, into vms: those
 * placed on it, except one that another node reports active (it is not
 * handed to a second node; report.h); every deleted VM the node reports,
 * wherever it is placed, for the node to destroy its copy; and, deleted,
 * the orphans it was told to destroy (REPORT_SQL_DESTROY: the agent
 * destroys by vm_id, so their tenant, the name's first part, and sizes
 * only have to make a valid spec); and, deleted the same way (no
 * storage: the agent destroys and undefines the domain and removes only
 * this node's files, never an RBD disk), the VMs restarted away from it
 * after it was fenced (ha.h ha_evictions), first thing when it returns.
 * 0, or -1 with err_set(). */
static int desired_vms(struct store *st, const char *node, cJSON *vms)
{
	/* disjoint sets, one SELECT each, so that each reads through an
	 * index (vms by host; the node's reports) rather than every VM or
	 * every report: "deleted OR NOT EXISTS" in one SELECT made
	 * PostgreSQL hash all the reports (a seq scan, 0.2 s with 100,000)
	 * for each desired state */
	struct db_stmt *s = store_stmt(st, DESIRED_VM "host = ?1 AND desired "
				     "= 'deleted' UNION ALL " DESIRED_VM "host = "
				     "?1 AND desired != 'deleted' AND NOT EXISTS "
				     "(SELECT 1 FROM reports r WHERE r.vm_id = "
				     "v.id AND r.host != ?1 AND r.state IN "
				     REPORT_SQL_ACTIVE ") UNION ALL " DESIRED_VM
				     "host != ?1 AND "
				     "desired = 'deleted' AND id IN (SELECT "
				     "r.vm_id FROM reports r WHERE r.host = ?1) "
				     "UNION ALL "
				     "SELECT vm_id, name, substr(name, 1, "
				     "instr(name || '.', '.') - 1), NULL, 1, 16, "
				     "1, 'deleted', 1, NULL, 0, NULL, NULL, "
				     "NULL, '[]', NULL, NULL, NULL, NULL, 0 FROM "
				     "(" REPORT_SQL_DESTROY ") d UNION ALL "
				     "SELECT e.vm_id, v.tenant || '.' || v.name, "
				     "v.tenant, NULL, 1, 16, 1, 'deleted', 1, "
				     "NULL, 0, NULL, NULL, NULL, '[]', NULL, "
				     "NULL, NULL, NULL, 0 FROM ha_evictions e JOIN "
				     "vms v ON v.id = e.vm_id WHERE e.host = ?1 "
				     "ORDER BY 10");
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, node);
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *v = cJSON_CreateObject();
		const char *tenant = store_col_text(s, 2);
		char dom[DOMNAME_SIZE];

		if (db_col_int(s, 8)) {
			str_copy(dom, sizeof(dom),
				 valid_or_orphan(store_col_text(s, 1)));
			tenant = valid_or_orphan(tenant);
		} else {
			/* names in the store are valid: the name fits */
			domname_format(tenant, store_col_text(s, 1), dom,
				       sizeof(dom));
		}
		vmimage_spec_base(s, dom, tenant, store_col_text(s, 7), v);
		if (!db_col_int(s, 8) &&
		    vmimage_spec_add(s, 11, store_col_text(s, 1), node, v) < 0) {
			cJSON_Delete(v);
			rc = DB_NOMEM;
			break;
		}
		/* the tenant's wipe policy (only when set: optional) */
		if (db_col_int(s, 10))
			cJSON_AddTrueToObject(v, "wipe");
		cJSON_AddItemToArray(vms, v);
		/* its NICs (an orphan has none: it is only destroyed) */
		if (!db_col_int(s, 19))
			cJSON_AddArrayToObject(v, "ports");
		else if (netstate_vm_ports(st, store_col_text(s, 0),
					   cJSON_AddArrayToObject(v, "ports")) <
			 0) {
			db_reset(s);
			return -1;
		}
	}
	if (rc != DB_DONE)
		store_err(st, "reading the host's VMs");
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* A migration of a VM on a ceph storage pool: the cephx user its disk
 * is opened as on the target ("rbd_user", the pool's user with "{node}"
 * the target), which the source writes into the domain the target
 * receives. 0, or -1 with err_set(). */
static int task_rbd_user(struct store *st, const struct task_order *o,
			 cJSON *t)
{
	struct db_stmt *s = store_stmt1(st, "SELECT replace(p.client, '{node}', "
				      "?2) FROM vms v JOIN storage_pools p ON "
				      "p.name = v.storage WHERE v.id = ?1 AND "
				      "p.type = 'ceph'", o->vm_id);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 2, o->target_host);
	rc = store_row(st, s, "reading the VM's storage pool");
	if (rc > 0) {
		cJSON_AddStringToObject(t, "rbd_user", store_col_text(s, 0));
		db_reset(s);
	}
	return rc < 0 ? -1 : 0;
}

/* The open agent tasks of node, as its desired state lists them, into
 * tasks. 0, or -1 with err_set(). */
static int desired_tasks(struct store *st, const char *node, cJSON *tasks)
{
	struct task_order *o = NULL;
	size_t n = 0;

	if (task_orders(st, node, &o, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "task_id", o[i].id);
		cJSON_AddStringToObject(t, "type", task_type_name(o[i].type));
		cJSON_AddStringToObject(t, "vm_id", o[i].vm_id);
		if (o[i].type == TASK_MIGRATE) {
			cJSON_AddStringToObject(t, "target_node",
						o[i].target_host);
			cJSON_AddStringToObject(t, "target_uri",
						o[i].target_uri);
			if (o[i].max_seconds > 0)
				cJSON_AddNumberToObject(t, "max_seconds",
							o[i].max_seconds);
			cJSON_AddBoolToObject(t, "postcopy", o[i].postcopy);
			if (task_rbd_user(st, &o[i], t) < 0) {
				cJSON_Delete(t);
				free(o);
				return -1;
			}
		}
		cJSON_AddItemToArray(tasks, t);
	}
	free(o);
	return 0;
}

/* The desired state of node at generation gen; NULL with err_set() when
 * it cannot be read whole (a partial one would tell the agent to destroy
 * what it runs). The caller frees it. */
cJSON *desired_state(struct store *st, const char *node, int64_t gen)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "generation", (double)gen);
	if (desired_vms(st, node, cJSON_AddArrayToObject(o, "vms")) < 0 ||
	    desired_tasks(st, node, cJSON_AddArrayToObject(o, "tasks")) < 0 ||
	    vmimage_incoming(st, node,
			     cJSON_AddArrayToObject(o, "incoming")) < 0 ||
	    netstate_node_networks(st, node,
				   cJSON_AddArrayToObject(o, "networks")) < 0) {
		cJSON_Delete(o);
		o = NULL;
	}
	return o;
}
