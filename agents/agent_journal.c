/*
 * agent_journal.c - the migration journal on disk (agent_journal.h).
 *
 * The file is one JSON object, {"version": 1, "migrations": [...]}, each
 * entry as in agent_journal_json() but with "running" for a migration
 * that had not ended when the file was written.
 */
#include <libgen.h>
#include <sys/stat.h>

#include "agents/agent_journal.h"
#include "agents/agent_spec.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

/* A journal holds one entry per migration since the controller last
 * settled them: a few per node. */
#define JOURNAL_MAX_BYTES (1024 * 1024)

int agent_journal_path(const char *credential_file, char *buf, size_t size)
{
	char dir[PATH_MAX];

	if (str_copy(dir, sizeof(dir), credential_file) < 0 ||
	    snprintf(buf, size, "%s/%s", dirname(dir), AGENT_JOURNAL_FILE) >=
		    (int)size)
		return err_set("credential_file '%s': path too long for the "
			       "migration journal",
			       credential_file);
	return 0;
}

const char *agent_journal_state_name(enum agent_journal_state s)
{
	static const char *const names[] = {
		[AGENT_JOURNAL_RUNNING] = "running",
		[AGENT_JOURNAL_DONE] = "done",
		[AGENT_JOURNAL_INTERRUPTED] = "interrupted",
	};

	return (size_t)s < FC_ARRAY_LEN(names) ? names[s] : "interrupted";
}

static const char *const file_keys[] = { "version", "migrations", NULL };
static const char *const entry_keys[] = { "task_id", "vm_id", "target_node",
					  "started_ms", "state", NULL };

static int entry_parse(const cJSON *o, const char *path,
		       struct agent_journal_entry *e)
{
	const char *task, *vm, *target, *state;
	char where[JSON_PATH_MAX];

	memset(e, 0, sizeof(*e));
	if (json_check_keys(o, path, entry_keys) < 0 ||
	    json_get_string(o, path, "task_id", true, NULL, &task) < 0 ||
	    json_get_string(o, path, "vm_id", true, NULL, &vm) < 0 ||
	    json_get_string(o, path, "target_node", true, NULL, &target) < 0 ||
	    json_get_int(o, path, "started_ms", true, 0, INT64_MAX, 0,
			 &e->started_ms) < 0 ||
	    json_get_string(o, path, "state", true, NULL, &state) < 0)
		return -1;
	if (agent_uuid_check(json_path_key(where, sizeof(where), path,
					   "task_id"),
			     task) < 0 ||
	    agent_uuid_check(json_path_key(where, sizeof(where), path,
					   "vm_id"),
			     vm) < 0)
		return -1;
	if (str_copy(e->target_node, sizeof(e->target_node), target) < 0)
		return err_set("%s.target_node: too long", path);
	str_copy(e->task_id, sizeof(e->task_id), task);
	str_copy(e->vm_id, sizeof(e->vm_id), vm);
	if (strcmp(state, "done") == 0)
		e->state = AGENT_JOURNAL_DONE;
	else if (strcmp(state, "running") == 0 ||
		 strcmp(state, "interrupted") == 0)
		e->state = AGENT_JOURNAL_INTERRUPTED;
	else
		return err_set("%s.state: expected running, done or "
			       "interrupted, got '%.32s'",
			       path, state);
	return 0;
}

int agent_journal_load(const char *path, struct agent_journal_entry **out,
		       size_t *n)
{
	const cJSON *list, *item;
	char where[JSON_PATH_MAX];
	cJSON *root = NULL;
	char *text = NULL;
	struct stat st;
	size_t len, i = 0;
	int64_t version;
	int ret = -1;

	*n = 0;
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return err_set("out of memory");
	if (stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(path, JOURNAL_MAX_BYTES, &text, &len) < 0 ||
	    json_parse(text, len, path, &root) < 0)
		goto out;
	if (json_check_keys(root, "$", file_keys) < 0 ||
	    json_get_int(root, "$", "version", true, 1, 1, 1, &version) < 0 ||
	    json_get_array(root, "$", "migrations", true, &list) < 0)
		goto out;
	free(*out);
	*out = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(**out));
	if (*out == NULL) {
		err_set("out of memory");
		goto out;
	}
	cJSON_ArrayForEach(item, list) {
		json_path_index(where, sizeof(where), "$.migrations", i++);
		if (entry_parse(item, where, &(*out)[*n]) < 0)
			goto out;
		(*n)++;
	}
	ret = 0;
out:
	if (ret < 0) {
		err_prefix("migration journal '%s' (the VMs this node migrated "
			   "away; the agent does not start without it: repair "
			   "it, or check where those VMs run and remove it)",
			   path);
		*n = 0;
	}
	free(text);
	cJSON_Delete(root);
	return ret;
}

static cJSON *entries_json(const struct agent_journal_entry *e, size_t n,
			   bool for_file)
{
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; list && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		const char *state = agent_journal_state_name(e[i].state);

		/* On disk, an interrupted entry stays "running" until the
		 * controller settles it; the heartbeat says what is known. */
		if (for_file && e[i].state == AGENT_JOURNAL_INTERRUPTED)
			state = "running";
		if (o == NULL || !cJSON_AddItemToArray(list, o)) {
			cJSON_Delete(o);
			cJSON_Delete(list);
			return NULL;
		}
		if (!cJSON_AddStringToObject(o, "task_id", e[i].task_id) ||
		    !cJSON_AddStringToObject(o, "vm_id", e[i].vm_id) ||
		    !cJSON_AddStringToObject(o, "target_node",
					     e[i].target_node) ||
		    !cJSON_AddNumberToObject(o, "started_ms",
					     (double)e[i].started_ms) ||
		    !cJSON_AddStringToObject(o, "state", state)) {
			cJSON_Delete(list);
			return NULL;
		}
	}
	return list;
}

cJSON *agent_journal_json(const struct agent_journal_entry *e, size_t n)
{
	return entries_json(e, n, false);
}

int agent_journal_save(const char *path,
		       const struct agent_journal_entry *e, size_t n)
{
	cJSON *root = cJSON_CreateObject(), *list = entries_json(e, n, true);
	char dir[PATH_MAX];
	char *text = NULL;
	int ret = -1;

	if (root == NULL || list == NULL ||
	    !cJSON_AddNumberToObject(root, "version", 1)) {
		cJSON_Delete(list);
		err_set("out of memory");
		goto out;
	}
	cJSON_AddItemToObject(root, "migrations", list);
	text = cJSON_Print(root);
	if (text == NULL) {
		err_set("out of memory");
		goto out;
	}
	str_copy(dir, sizeof(dir), path);
	if (dir_create(dirname(dir), 0700) < 0 ||
	    file_write_atomic(path, text, strlen(text), 0600) < 0) {
		err_prefix("cannot write the migration journal");
		goto out;
	}
	ret = 0;
out:
	free(text);
	cJSON_Delete(root);
	return ret;
}
