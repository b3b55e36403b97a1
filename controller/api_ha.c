/*
 * api_ha.c - the API of "when a host dies" (ha.h): a host's evacuate and
 * unfence, its fence settings, a VM's HA policy, a pool's N+1 reserve.
 */
#include <arpa/inet.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "controller/api.h"
#include "controller/db.h"
#include "controller/ha.h"
#include "controller/resource.h"
#include "controller/store.h"

/* The host of the path (its row must exist): 0 with its HA state in
 * state and whether it heartbeats now (its last one within
 * ha_suspect_intervals) in *alive; -1 with the answer set. */
static int host_ha(struct api_ctx *c, const char *host, char *state,
		   size_t size, bool *alive)
{
	struct db_stmt *s;
	int64_t quiet = c->ctrl->cfg.heartbeat_interval_s *
			c->ctrl->cfg.ha_suspect_intervals * 1000;

	if (api_find_host(c, "SELECT ha_state, state = 'up', last_seen_ms "
			  "FROM hosts WHERE name = ?", host, &s) < 0)
		return -1;
	str_copy(state, size, store_col_text(s, 0));
	*alive = db_col_int(s, 1) &&
		 time_wall_ms() - db_col_int64(s, 2) < quiet;
	db_reset(s);
	return 0;
}

/* A POST that takes no body (or an empty object): 0, or -1 with 400. */
static int no_body(struct api_ctx *c)
{
	if (c->json && !(cJSON_IsObject(c->json) && c->json->child == NULL)) {
		api_err(c, 400, "invalid_body", NULL, "%s takes no body (or an "
			"empty object)", c->m->route->name);
		return -1;
	}
	return 0;
}

void h_host_evacuate(struct api_ctx *c)
{
	const char *host = c->m->params[0];
	char state[16], why[256];
	struct db_stmt *s;
	bool alive;

	res_target(c, &res_hosts, host);
	if (no_body(c) < 0 || api_begin(c) < 0 ||
	    host_ha(c, host, state, sizeof(state), &alive) < 0)
		return;
	if (alive) {
		api_err(c, 409, "host_alive", NULL, "host '%s' still "
			"heartbeats: evacuate is for a host known dead; move "
			"its VMs with 'finctl host drain %s' instead", host,
			host);
		return;
	}
	snprintf(why, sizeof(why), "evacuated by an operator (request %s)",
		 c->request_id);
	/* failed (and so fenced, then restarted) by the fence pass; a host
	 * already failed or fenced is where evacuate leads anyway */
	if (ha_fail_host(c->ctrl->st, host, why, c->request_id) < 0) {
		api_err_internal(c, "failing the host");
		return;
	}
	/* the operator's word that it is dead: its VMs restart once it is
	 * fenced, without waiting for a self-fence (ha_fence.c) */
	s = api_stmt(c, "UPDATE hosts SET ha_off = 1, fence_next_ms = 0 WHERE "
		     "name = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, host);
	if (api_step_done(c, s, "recording that the host is off") < 0)
		return;
	res_answer(c, &res_hosts, host, 202);
}

void h_host_unfence(struct api_ctx *c)
{
	const char *host = c->m->params[0];
	char state[16], vm[64];
	struct db_stmt *s;
	bool alive;
	int rc;

	res_target(c, &res_hosts, host);
	if (no_body(c) < 0 || api_begin(c) < 0 ||
	    host_ha(c, host, state, sizeof(state), &alive) < 0)
		return;
	if (strcmp(state, "fenced") != 0) {
		api_err(c, 409, "not_fenced", NULL, "host '%s' is %s, not "
			"fenced: only a fenced host is unfenced", host, state);
		return;
	}
	rc = api_find(c, "SELECT vm_id FROM ha_evictions WHERE host = ? ORDER "
		      "BY vm_id LIMIT 1", host, &s, "reading evictions");
	if (rc < 0)
		return;
	if (rc > 0) {
		str_copy(vm, sizeof(vm), store_col_text(s, 0));
		db_reset(s);
		api_err(c, 409, "evictions_pending", NULL, "host '%s' may "
			"still hold VM '%s', restarted elsewhere: start its "
			"agent so that it destroys that copy (it is unfenced by "
			"itself then)", host, vm);
		return;
	}
	s = api_stmt(c, "UPDATE hosts SET unfence = 1, fence_next_ms = 0 WHERE "
		     "name = ?");
	if (s == NULL)
		return;
	store_bind_text(s, 1, host);
	if (api_step_write(c, s, "asking for an unfence") < 0)
		return;
	res_answer(c, &res_hosts, host, 202);
}

/* Whether text is an IPv4 or IPv6 address. */
static bool is_address(const char *text)
{
	unsigned char a[16];

	return inet_pton(AF_INET, text, a) == 1 ||
	       inet_pton(AF_INET6, text, a) == 1;
}

/* A fence agent's address: printable, no blank, at most 255 bytes. */
static bool printable_word(const char *text)
{
	if (strlen(text) > 255)
		return false;
	for (; *text; text++)
		if ((unsigned char)*text <= ' ' || *text == 0x7f)
			return false;
	return true;
}

int api_ha_host_patch(struct api_ctx *c, const char *host)
{
	static const char *const cols[] = {"storage_address", "fence_command",
					   "fence_address"};
	static const char *const sql[] = {
		"UPDATE hosts SET storage_address = ? WHERE name = ?",
		"UPDATE hosts SET fence_command = ? WHERE name = ?",
		"UPDATE hosts SET fence_address = ? WHERE name = ?",
	};

	for (size_t i = 0; i < FC_ARRAY_LEN(cols); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->json,
								  cols[i]);
		const char *text;
		struct db_stmt *s;

		if (v == NULL)
			continue;
		if (!cJSON_IsNull(v) && !cJSON_IsString(v)) {
			api_err(c, 400, "invalid_field", cols[i], "$.%s: "
				"expected a string or null", cols[i]);
			return -1;
		}
		text = cJSON_IsString(v) ? v->valuestring : "";
		if (i == 0 && text[0] && !is_address(text)) {
			api_err(c, 400, "invalid_field", cols[i], "$.%s: "
				"expected the IPv4 or IPv6 address the host's "
				"Ceph client uses, got '%.64s'", cols[i], text);
			return -1;
		}
		if (i == 1 && text[0] &&
		    (name_validate("fence agent", text) < 0 || text[0] == '.')) {
			api_err(c, 400, "invalid_field", cols[i], "$.%s: "
				"expected the file name of a fence agent in the "
				"controller's fence_agents_dir ('%s'), got "
				"'%.64s'", cols[i],
				c->ctrl->cfg.fence_agents_dir, text);
			return -1;
		}
		if (i == 2 && !printable_word(text)) {
			api_err(c, 400, "invalid_field", cols[i], "$.%s: "
				"expected an address without blanks, at most "
				"255 bytes", cols[i]);
			return -1;
		}
		s = api_stmt(c, sql[i]);
		if (s == NULL)
			return -1;
		store_bind_texts(s, 1, (const char *const[]){text, host}, 2);
		if (api_step_done(c, s, "updating the host's fencing") < 0)
			return -1;
	}
	return 0;
}

int api_ha_pool_patch(struct api_ctx *c, const char *pool)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->json,
							  "ha_reserve");
	const char *text;
	struct db_stmt *s;

	if (v == NULL)
		return 0;
	text = cJSON_IsNull(v) ? "none" : cJSON_GetStringValue(v);
	if (text == NULL ||
	    (strcmp(text, "none") != 0 && strcmp(text, "n+1") != 0)) {
		api_err(c, 400, "invalid_field", "ha_reserve", "$.ha_reserve: "
			"expected 'none' or 'n+1'");
		return -1;
	}
	s = api_stmt(c, "UPDATE pools SET ha_reserve = ? WHERE name = ?");
	if (s == NULL)
		return -1;
	store_bind_texts(s, 1, (const char *const[]){text, pool}, 2);
	return api_step_done(c, s, "updating the pool's reserve");
}

int api_ha_reserve_json(struct api_ctx *c, const char *pool, cJSON *o)
{
	char why[512];
	bool holds;
	cJSON *r;
	struct db_stmt *s;
	int rc = api_find(c, "SELECT ha_reserve FROM pools WHERE name = ?",
			  pool, &s, "reading the pool's reserve");

	if (rc <= 0)
		return rc;
	r = cJSON_AddObjectToObject(o, "ha_reserve");
	cJSON_AddStringToObject(r, "policy", store_col_text(s, 0));
	db_reset(s);
	if (ha_reserve_holds(c->ctrl->st, pool, &holds, why, sizeof(why)) <
	    0) {
		api_err_internal(c, "checking the N+1 reserve");
		return -1;
	}
	cJSON_AddBoolToObject(r, "holds", holds);
	if (holds)
		cJSON_AddNullToObject(r, "why");
	else
		cJSON_AddStringToObject(r, "why", why);
	return 0;
}

int api_ha_vm_fields(struct api_ctx *c, const char *vm, const char *pool)
{
	const cJSON *ha = cJSON_GetObjectItemCaseSensitive(c->json, "ha");
	const cJSON *prio = cJSON_GetObjectItemCaseSensitive(c->json,
							     "ha_priority");
	const char *policy = NULL;
	int64_t p = 0;
	struct db_stmt *s;

	if (ha == NULL && prio == NULL)
		return 0;
	if (ha && !cJSON_IsNull(ha)) {
		policy = cJSON_GetStringValue(ha);
		if (policy == NULL || (strcmp(policy, "none") != 0 &&
				       strcmp(policy, "restart") != 0)) {
			api_err(c, 400, "invalid_field", "ha", "$.ha: expected "
				"'restart' or 'none'");
			return -1;
		}
	} else if (ha) {
		policy = "none";
	}
	if (prio && api_get_int(c, "ha_priority", false, -1000, 1000, 0, &p) <
			    0)
		return -1;
	s = api_stmt(c, "UPDATE vms SET ha = coalesce(?, ha), ha_priority = "
		     "CASE WHEN ? THEN ? ELSE ha_priority END WHERE id = ?");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, policy);
	db_bind_int64(s, 2, prio != NULL);
	db_bind_int64(s, 3, p);
	store_bind_text(s, 4, vm);
	if (api_step_done(c, s, "recording the VM's HA policy") < 0)
		return -1;
	/* a new HA VM (or one made HA) must leave the pool's N+1 reserve
	 * holding, counted with it */
	if (policy && strcmp(policy, "restart") == 0) {
		char why[512];
		bool holds;

		if (ha_reserve_holds(c->ctrl->st, pool, &holds, why,
				     sizeof(why)) < 0) {
			api_err_internal(c, "checking the N+1 reserve");
			return -1;
		}
		if (!holds) {
			api_err(c, 409, "ha_reserve", "ha", "VM '%s': %s; add "
				"a host to pool '%s', or use --ha none", vm,
				why, pool);
			return -1;
		}
	}
	return 0;
}
