#include <math.h>

#include "agents/agent_report.h"
#include "agents/agent_seed.h"
#include "common/err.h"
#include "common/log.h"
#include "common/json.h"
#include "common/util.h"

const char *agent_task_state_name(enum agent_task_state s)
{
	static const char *const names[] = {
		[AGENT_TASK_RUNNING] = "running",
		[AGENT_TASK_DONE] = "done",
		[AGENT_TASK_FAILED] = "failed",
	};

	return (size_t)s < FC_ARRAY_LEN(names) ? names[s] : "failed";
}

void agent_error_copy(char *dst, size_t size, const char *src)
{
	size_t len, lead;

	if (size == 0)
		return;
	if (str_copy(dst, size, src) == 0)
		return;
	/* Cut: back over continuation bytes to the last lead byte; keep its
	 * character only when its whole sequence fits. */
	len = strlen(dst);
	lead = len;
	while (lead > 0 && ((unsigned char)dst[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead > 0 && ((unsigned char)dst[lead - 1] & 0x80)) {
		unsigned char c = (unsigned char)dst[lead - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (len - (lead - 1) < need)
			dst[lead - 1] = '\0';
	}
}

int agent_vm_error_add(struct agent_vm_error **errs, size_t *n,
		       const char *vm_id, const char *name, const char *msg)
{
	struct agent_vm_error *e = realloc(*errs, (*n + 1) * sizeof(**errs));

	if (e == NULL)
		return err_set("out of memory");
	*errs = e;
	e = &e[*n];
	memset(e, 0, sizeof(*e));
	str_copy(e->vm_id, sizeof(e->vm_id), vm_id ? vm_id : "");
	str_copy(e->name, sizeof(e->name), name ? name : "");
	agent_error_copy(e->error, sizeof(e->error), msg ? msg : "");
	(*n)++;
	return 0;
}

void agent_desired_free(struct agent_desired *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; d->vms && i < d->nvms; i++)
		agent_net_ports_free(d->vms[i].ports, d->vms[i].nports);
	for (size_t i = 0; d->incoming && i < d->nincoming; i++)
		agent_net_ports_free(d->incoming[i].ports,
				     d->incoming[i].nports);
	for (size_t i = 0; d->seeds && i < d->nvms; i++)
		agent_seed_free(&d->seeds[i]);
	for (size_t i = 0; d->incoming_seeds && i < d->nincoming; i++)
		agent_seed_free(&d->incoming_seeds[i]);
	free(d->seeds);
	free(d->incoming);
	free(d->incoming_seeds);
	free(d->vms);
	free(d->tasks);
	free(d->consoles);
	agent_net_networks_free(d->nets, d->nnets);
	free(d->errors);
	memset(d, 0, sizeof(*d));
}

static const char *const desired_keys[] = { "generation", "vms", "tasks",
					    "incoming", "consoles",
					    "networks", NULL };
static const char *const console_keys[] = { "session_id", "vm_id", "kind",
					    "follow", "tail", NULL };

/* One entry of "consoles" into r: 0, or -1 with err_set(). */
static int console_parse(const cJSON *obj, const char *path,
			 struct agent_console_req *r)
{
	const char *s;
	bool follow;

	memset(r, 0, sizeof(*r));
	if (json_check_keys(obj, path, console_keys) < 0 ||
	    json_get_string(obj, path, "session_id", true, NULL, &s) < 0)
		return -1;
	if (strlen(s) != 32 || strspn(s, "0123456789abcdef") != 32)
		return err_set("%s.session_id: expected 32 hex digits", path);
	str_copy(r->session_id, sizeof(r->session_id), s);
	if (agent_uuid_get(obj, path, "vm_id", &s) < 0)
		return -1;
	str_copy(r->vm_id, sizeof(r->vm_id), s);
	if (json_get_string(obj, path, "kind", true, NULL, &s) < 0)
		return -1;
	if (strcmp(s, "console") != 0 && strcmp(s, "log") != 0)
		return err_set("%s.kind: expected console or log", path);
	r->interactive = strcmp(s, "console") == 0;
	if (json_get_bool(obj, path, "follow", false, false, &follow) < 0 ||
	    json_get_int(obj, path, "tail", false, 0, 100000, 0, &r->tail) < 0)
		return -1;
	r->follow = follow;
	return 0;
}
static const char *const task_keys[] = { "task_id",	"type",
					 "vm_id",	"target_node",
					 "target_uri", "max_seconds",
					 "postcopy", "rbd_user", NULL };

static int task_parse(const cJSON *obj, const char *path,
		      struct agent_task *t)
{
	const char *s;
	int64_t n;

	memset(t, 0, sizeof(*t));
	if (json_check_keys(obj, path, task_keys) < 0)
		return -1;
	if (agent_uuid_get(obj, path, "task_id", &s) < 0)
		return -1;
	str_copy(t->task_id, sizeof(t->task_id), s);
	if (agent_uuid_get(obj, path, "vm_id", &s) < 0)
		return -1;
	for (size_t i = 0; i < 36; i++)
		t->vm_id[i] = (char)((s[i] >= 'A' && s[i] <= 'F') ? s[i] + 32
								  : s[i]);
	if (json_get_string(obj, path, "type", true, NULL, &s) < 0)
		return -1;
	if (strcmp(s, "migrate") != 0 && strcmp(s, "reboot") != 0)
		return err_set("%s.type: expected migrate or reboot, got "
			       "'%.32s'",
			       path, s);
	str_copy(t->type, sizeof(t->type), s);
	if (strcmp(s, "migrate") == 0) {
		if (json_get_string(obj, path, "target_node", true, NULL, &s) <
		    0)
			return -1;
		if (name_validate("target_node", s) < 0)
			return err_prefix("%s", path);
		str_copy(t->target_node, sizeof(t->target_node), s);
		if (json_get_string(obj, path, "target_uri", true, NULL, &s) <
		    0)
			return -1;
		if (s[0] == '\0' || strstr(s, "://") == NULL ||
		    str_copy(t->target_uri, sizeof(t->target_uri), s) < 0)
			return err_set("%s.target_uri: expected a libvirt URI "
				       "such as qemu+tcp://10.250.0.3/system",
				       path);
		if (json_get_int(obj, path, "max_seconds", false, 0,
				 7 * 86400, 0, &n) < 0 ||
		    json_get_bool(obj, path, "postcopy", false, false,
				  &t->postcopy) < 0 ||
		    json_get_string(obj, path, "rbd_user", false, "", &s) < 0)
			return -1;
		/* it goes into domain XML: a cephx name only */
		if (strlen(s) >= sizeof(t->rbd_user) ||
		    s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
			       "UVWXYZ0123456789._-")] != '\0')
			return err_set("%s.rbd_user: expected a cephx user name",
				       path);
		str_copy(t->rbd_user, sizeof(t->rbd_user), s);
		t->max_seconds = (int)n;
	}
	return 0;
}

/* The spec's "first_boot" (optional) into *seed, and spec->seed at it.
 * A seed comes with an image only. */
static int vm_seed(const cJSON *item, const char *path,
		   struct agent_vm_spec *spec, struct agent_seed *seed)
{
	const cJSON *fb = NULL;
	char where[JSON_PATH_MAX];

	if (json_get_object(item, path, "first_boot", false, &fb) < 0)
		return -1;
	if (fb == NULL)
		return 0;
	json_path_key(where, sizeof(where), path, "first_boot");
	if (spec->image_sha256[0] == '\0')
		return err_set("%s: a first_boot comes with an image", where);
	if (agent_seed_parse(fb, where, spec->vm_id, seed) < 0)
		return -1;
	seed->ports = spec->ports;
	seed->nports = spec->nports;
	spec->seed = seed;
	return 0;
}

/* "incoming" (optional): the specs of VMs migrating here, each with its
 * image. A bad one is reported like a bad VM entry. -1 when out of
 * memory or not an array. */
static int incoming_parse(const cJSON *root, struct agent_desired *out)
{
	const cJSON *arr = NULL, *item;
	char path[JSON_PATH_MAX];
	size_t i = 0, n;

	if (json_get_array(root, "$", "incoming", false, &arr) < 0)
		return -1;
	n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
	out->incoming = calloc(n + 1, sizeof(*out->incoming));
	out->incoming_seeds = calloc(n + 1, sizeof(*out->incoming_seeds));
	if (out->incoming == NULL || out->incoming_seeds == NULL)
		return err_set("out of memory");
	cJSON_ArrayForEach(item, arr) {
		struct agent_vm_spec *s = &out->incoming[out->nincoming];

		json_path_index(path, sizeof(path), "$.incoming", i++);
		if (agent_spec_parse(item, path, s) == 0 &&
		    vm_seed(item, path, s,
			    &out->incoming_seeds[out->nincoming]) == 0 &&
		    (s->image_sha256[0] ||
		     err_set("%s: an incoming VM comes with its image", path) ==
			     0)) {
			out->nincoming++;
			continue;
		}
		if (agent_vm_error_add(&out->errors, &out->nerrors, "", "",
				       err_msg()) < 0)
			return -1;
	}
	return 0;
}

int agent_desired_parse(const char *body, size_t len,
			struct agent_desired *out)
{
	const cJSON *vms = NULL, *tasks = NULL, *consoles = NULL, *item;
	char path[JSON_PATH_MAX];
	cJSON *root = NULL;
	size_t i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (json_parse(body, len, "desired state", &root) < 0)
		return -1;
	if (!cJSON_IsObject(root)) {
		err_set("desired state: expected a JSON object");
		goto out;
	}
	if (json_check_keys(root, "$", desired_keys) < 0 ||
	    json_get_int(root, "$", "generation", true, 0, INT64_MAX, 0,
			 &out->generation) < 0 ||
	    json_get_array(root, "$", "vms", true, &vms) < 0 ||
	    json_get_array(root, "$", "tasks", false, &tasks) < 0 ||
	    json_get_array(root, "$", "consoles", false, &consoles) < 0 ||
	    agent_net_networks_parse(cJSON_GetObjectItemCaseSensitive(root,
								   "networks"),
				     "$.networks", &out->nets, &out->nnets) < 0)
		goto out;
	out->vms = calloc((size_t)cJSON_GetArraySize(vms) + 1,
			  sizeof(*out->vms));
	out->seeds = calloc((size_t)cJSON_GetArraySize(vms) + 1,
			    sizeof(*out->seeds));
	out->tasks = calloc((size_t)(tasks ? cJSON_GetArraySize(tasks) : 0) + 1,
			    sizeof(*out->tasks));
	out->consoles = calloc((size_t)(consoles ? cJSON_GetArraySize(consoles)
						 : 0) + 1,
			       sizeof(*out->consoles));
	if (out->vms == NULL || out->tasks == NULL || out->consoles == NULL ||
	    out->seeds == NULL) {
		err_set("out of memory");
		goto out;
	}
	i = 0;
	cJSON_ArrayForEach(item, vms) {
		json_path_index(path, sizeof(path), "$.vms", i++);
		if (agent_spec_parse(item, path, &out->vms[out->nvms]) == 0 &&
		    vm_seed(item, path, &out->vms[out->nvms],
			    &out->seeds[out->nvms]) == 0) {
			out->nvms++;
			continue;
		}
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "vm_id");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(item, "name");

		if (agent_vm_error_add(&out->errors, &out->nerrors,
				       cJSON_IsString(id) ? id->valuestring : "",
				       cJSON_IsString(nm) ? nm->valuestring : "",
				       err_msg()) < 0)
			goto out;
	}
	i = 0;
	cJSON_ArrayForEach(item, tasks) {
		json_path_index(path, sizeof(path), "$.tasks", i++);
		if (task_parse(item, path, &out->tasks[out->ntasks]) == 0) {
			out->ntasks++;
			continue;
		}
		/* A task with an unreadable id cannot be reported back. */
		if (agent_vm_error_add(&out->errors, &out->nerrors, "", "",
				       err_msg()) < 0)
			goto out;
	}
	if (incoming_parse(root, out) < 0)
		goto out;
	i = 0;
	cJSON_ArrayForEach(item, consoles) {
		json_path_index(path, sizeof(path), "$.consoles", i++);
		if (console_parse(item, path, &out->consoles[out->nconsoles]) ==
		    0)
			out->nconsoles++;
		else /* the controller answers its operator after a while */
			log_warn("desired state: %s", err_msg());
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

static bool add_int(cJSON *o, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

cJSON *agent_json_inventory(const struct agent_inventory *inv)
{
	cJSON *o = cJSON_CreateObject();
	const char *vt = inv->virt_type[0] ? inv->virt_type : "qemu";

	if (o == NULL || !add_int(o, "vcpus", inv->vcpus) ||
	    !add_int(o, "mem_mib", inv->mem_mib) ||
	    !add_int(o, "mem_free_mib", inv->mem_free_mib) ||
	    !add_int(o, "disk_gib", inv->disk_gib) ||
	    !add_int(o, "disk_free_gib", inv->disk_free_gib) ||
	    !cJSON_AddStringToObject(o, "cpu_model", inv->cpu_model) ||
	    !cJSON_AddStringToObject(o, "virt_type", vt) ||
	    !cJSON_AddStringToObject(o, "virt_type_reason",
				     inv->virt_type_reason) ||
	    !cJSON_AddStringToObject(o, "libvirt_version",
				     inv->libvirt_version)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *domain_json(const struct agent_domain *d)
{
	cJSON *o = cJSON_CreateObject();
	double pct = isfinite(d->cpu_pct) && d->cpu_pct > 0 ? d->cpu_pct : 0;

	if (o == NULL || !cJSON_AddStringToObject(o, "vm_id", d->uuid) ||
	    !cJSON_AddStringToObject(o, "name", d->name) ||
	    !cJSON_AddStringToObject(o, "state",
				     agent_dom_state_name(d->state)) ||
	    !add_int(o, "vcpus", d->vcpus) || !add_int(o, "mem_mib", d->mem_mib) ||
	    !add_int(o, "balloon_mib", d->balloon_mib) ||
	    !add_int(o, "cpu_time_ns", (int64_t)d->cpu_time_ns) ||
	    !cJSON_AddNumberToObject(o, "cpu_pct",
				     (double)(int64_t)(pct * 100) / 100) ||
	    !add_int(o, "disk_alloc_bytes", (int64_t)d->disk_alloc_bytes)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *foreign_json(const struct agent_domain *d)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddStringToObject(o, "name", d->name) ||
	    !cJSON_AddStringToObject(o, "uuid", d->uuid) ||
	    !cJSON_AddStringToObject(o, "state",
				     agent_dom_state_name(d->state))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Whether hb's list shows d from before its migration away ended: the
 * journal's DONE entry for it is younger than the list. */
static bool left_since_listed(const struct agent_heartbeat *hb,
			      const struct agent_domain *d)
{
	for (size_t i = 0; hb->doms_ns && d->managed && i < hb->njournal; i++)
		if (hb->journal[i].state == AGENT_JOURNAL_DONE &&
		    hb->journal[i].done_ns > hb->doms_ns &&
		    strcasecmp(hb->journal[i].vm_id, d->uuid) == 0)
			return true;
	return false;
}

cJSON *agent_json_heartbeat(const struct agent_heartbeat *hb)
{
	cJSON *o = cJSON_CreateObject(), *inv, *doms, *foreign, *tasks, *errs,
	      *x;

	if (o == NULL)
		return NULL;
	if (!add_int(o, "generation_seen", hb->generation_seen) ||
	    !cJSON_AddStringToObject(o, "status", hb->degraded_reason
							  ? "degraded"
							  : "ok"))
		goto fail;
	if (hb->degraded_reason) {
		char reason[1024];

		str_copy(reason, sizeof(reason), hb->degraded_reason);
		if (!cJSON_AddStringToObject(o, "degraded_reason", reason) ||
		    !cJSON_AddBoolToObject(o, "domains_listed",
					   hb->domains_listed))
			goto fail;
	}
	inv = agent_json_inventory(hb->inv);
	if (inv == NULL)
		goto fail;
	cJSON_AddItemToObject(o, "inventory", inv);
	doms = cJSON_AddArrayToObject(o, "domains");
	foreign = cJSON_AddArrayToObject(o, "foreign_domains");
	tasks = cJSON_AddArrayToObject(o, "tasks");
	if (doms == NULL || foreign == NULL || tasks == NULL)
		goto fail;
	for (size_t i = 0; i < hb->ndoms; i++) {
		if (left_since_listed(hb, &hb->doms[i]))
			continue;
		x = hb->doms[i].managed ? domain_json(&hb->doms[i])
					: foreign_json(&hb->doms[i]);
		if (x == NULL)
			goto fail;
		cJSON_AddItemToArray(hb->doms[i].managed ? doms : foreign, x);
	}
	for (size_t i = 0; i < hb->ntasks; i++) {
		const struct agent_task *t = &hb->tasks[i];

		x = cJSON_CreateObject();
		if (x == NULL)
			goto fail;
		cJSON_AddItemToArray(tasks, x);
		if (!cJSON_AddStringToObject(x, "task_id", t->task_id) ||
		    !cJSON_AddStringToObject(x, "state",
					     agent_task_state_name(t->state)))
			goto fail;
		if (t->state == AGENT_TASK_FAILED &&
		    !cJSON_AddStringToObject(x, "error", t->error))
			goto fail;
	}
	if (cJSON_GetArraySize(hb->prepared) > 0) {
		x = cJSON_Duplicate(hb->prepared, true);
		if (x == NULL)
			goto fail;
		cJSON_AddItemToObject(o, "prepared", x);
	}
	if (hb->interfaces) {
		x = cJSON_Duplicate(hb->interfaces, true);
		if (x == NULL)
			goto fail;
		cJSON_AddItemToObject(o, "interfaces", x);
	}
	if (hb->vlan_capable != 0 &&
	    !cJSON_AddBoolToObject(o, "vlan_capable", hb->vlan_capable > 0))
		goto fail;
	if (!cJSON_AddNumberToObject(o, "self_fence_s",
				     (double)hb->self_fence_s))
		goto fail;
	if (hb->njournal > 0) {
		x = agent_journal_json(hb->journal, hb->njournal);
		if (x == NULL)
			goto fail;
		cJSON_AddItemToObject(o, "migrations", x);
	}
	if (hb->nerrors > 0) {
		errs = cJSON_AddArrayToObject(o, "vm_errors");
		if (errs == NULL)
			goto fail;
		for (size_t i = 0; i < hb->nerrors; i++) {
			const struct agent_vm_error *e = &hb->errors[i];

			x = cJSON_CreateObject();
			if (x == NULL)
				goto fail;
			cJSON_AddItemToArray(errs, x);
			if (!cJSON_AddStringToObject(x, "vm_id", e->vm_id) ||
			    !cJSON_AddStringToObject(x, "error", e->error) ||
			    (e->name[0] &&
			     !cJSON_AddStringToObject(x, "name", e->name)))
				goto fail;
		}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
