#include "common/err.h"
#include "common/json.h"
#include "common/util.h"
#include "controller/domname.h"
#include "controller/netstate.h"
#include "controller/store.h"
#include "controller/vmimage.h"

void vmimage_spec_base(struct db_stmt *s, const char *dom, const char *tenant,
		       const char *state, cJSON *v)
{
	cJSON_AddStringToObject(v, "vm_id", store_col_text(s, 0));
	cJSON_AddStringToObject(v, "name", dom);
	cJSON_AddStringToObject(v, "tenant", tenant);
	if (db_col_type(s, 3) == DB_NULL)
		cJSON_AddNullToObject(v, "group");
	else
		cJSON_AddStringToObject(v, "group", store_col_text(s, 3));
	cJSON_AddNumberToObject(v, "vcpus", db_col_double(s, 4));
	cJSON_AddNumberToObject(v, "mem_mib", db_col_double(s, 5));
	cJSON_AddNumberToObject(v, "disk_gib", db_col_double(s, 6));
	cJSON_AddNullToObject(v, "base_image");
	cJSON_AddStringToObject(v, "state", state);
}

/* "fincloud-{node}" with node "node1" -> "fincloud-node1" into out. */
static void user_for(const char *pattern, const char *node, char *out,
		     size_t size)
{
	const char *at = strstr(pattern, "{node}");

	if (at == NULL)
		snprintf(out, size, "%s", pattern);
	else
		snprintf(out, size, "%.*s%s%s", (int)(at - pattern), pattern,
			 node, at + 6);
}

/* The "storage" of a VM on a ceph pool (columns col+5 .. col+7). */
static int spec_storage(struct db_stmt *s, int col, const char *node, cJSON *v)
{
	cJSON *st, *mons;
	char user[256];

	if (db_col_type(s, col + 5) == DB_NULL)
		return 0;
	st = cJSON_AddObjectToObject(v, "storage");
	mons = json_csv_array(store_col_text(s, col + 6));
	if (st == NULL || mons == NULL) {
		cJSON_Delete(mons);
		return err_set("out of memory");
	}
	cJSON_AddStringToObject(st, "type", "ceph");
	cJSON_AddStringToObject(st, "pool", store_col_text(s, col + 5));
	cJSON_AddItemToObject(st, "monitors", mons);
	user_for(store_col_text(s, col + 7), node, user, sizeof(user));
	cJSON_AddStringToObject(st, "user", user);
	return 0;
}

int vmimage_spec_add(struct db_stmt *s, int col, const char *hostname,
		     const char *node, cJSON *v)
{
	cJSON *im, *fb, *keys;

	if (db_col_type(s, col) == DB_NULL)
		return 0;
	im = cJSON_AddObjectToObject(v, "image");
	fb = cJSON_AddObjectToObject(v, "first_boot");
	keys = cJSON_Parse(store_col_text(s, col + 3));
	if (im == NULL || fb == NULL || keys == NULL) {
		cJSON_Delete(keys);
		return err_set("out of memory");
	}
	cJSON_AddStringToObject(im, "sha256", store_col_text(s, col));
	cJSON_AddStringToObject(im, "format", store_col_text(s, col + 1));
	cJSON_AddNumberToObject(im, "size_bytes",
				(double)db_col_int64(s, col + 2));
	cJSON_AddStringToObject(fb, "hostname", hostname);
	cJSON_AddItemToObject(fb, "ssh_keys", keys);
	if (db_col_type(s, col + 4) == DB_NULL)
		cJSON_AddNullToObject(fb, "user_data");
	else
		cJSON_AddStringToObject(fb, "user_data",
					store_col_text(s, col + 4));
	return spec_storage(s, col, node, v);
}

int vmimage_incoming(struct store *st, const char *node, cJSON *out)
{
	struct db_stmt *s = store_stmt1(st, "SELECT v.id, v.name, v.tenant, "
				      "v.grp, v.vcpus, v.mem_mib, v.disk_gib, "
				      VMIMAGE_COLS " FROM tasks t JOIN vms v "
				      "ON v.id = t.vm_id WHERE t.target_host "
				      "= ? AND t.type = 'migrate' AND t.state "
				      "IN ('pending','running') AND "
				      "v.image_sha256 IS NOT NULL ORDER BY "
				      "t.seq", node);
	int rc = DB_ERROR;

	if (s == NULL)
		return -1;
	while ((rc = db_step(s)) == DB_ROW) {
		cJSON *v = cJSON_CreateObject();
		char dom[DOMNAME_SIZE];

		/* names in the store are valid: the name fits */
		domname_format(store_col_text(s, 2), store_col_text(s, 1), dom,
			       sizeof(dom));
		cJSON_AddItemToArray(out, v);
		vmimage_spec_base(s, dom, store_col_text(s, 2), "running", v);
		if (vmimage_spec_add(s, 7, store_col_text(s, 1), node, v) < 0) {
			rc = DB_NOMEM;
			break;
		}
		/* its NICs: the target defines their filters before the
		 * source copies the domain, and keeps them until it runs */
		if (netstate_vm_ports(st, store_col_text(s, 0),
				      cJSON_AddArrayToObject(v, "ports")) < 0) {
			db_reset(s);
			return -1;
		}
	}
	db_reset(s);
	if (rc == DB_NOMEM)
		return -1;
	return rc == DB_DONE ? 0 : store_err(st, "reading the VMs "
						 "migrating in");
}

int vmimage_prepared(struct ctrl *ctrl, const char *node,
		     const cJSON *prepared)
{
	const cJSON *id;

	cJSON_ArrayForEach(id, prepared) {
		struct db_stmt *s;
		char source[NAME_MAX_LEN + 1];
		int rc;

		if (!cJSON_IsString(id))
			continue;
		s = store_stmt(ctrl->st, "UPDATE tasks SET target_ready = 1 "
			       "WHERE vm_id = ?1 AND target_host = ?2 AND type "
			       "= 'migrate' AND state IN ('pending','running') "
			       "AND target_ready = 0 RETURNING source_host");
		if (s == NULL)
			return -1;
		store_bind_text(s, 1, id->valuestring);
		store_bind_text(s, 2, node);
		rc = store_row(ctrl->st, s, "recording a prepared migration");
		if (rc > 0)
			str_copy(source, sizeof(source), store_col_text(s, 0));
		/* RETURNING: the update is done once the statement is */
		while (rc > 0 && db_step(s) == DB_ROW)
			;
		db_reset(s);
		if (rc < 0)
			return -1;
		if (rc > 0 && ctrl_bump_generation(ctrl, source) < 0)
			return -1;
	}
	return 0;
}
