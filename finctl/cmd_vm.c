/*
 * cmd_vm.c - finctl vm create|start|stop|reboot|delete|migrate and task
 * show: the VM lifecycle and the tasks it runs as, each with --wait.
 */
#include "finctl/finctl.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/http_client.h"
#include "common/util.h"

void finctl_vm_path(const struct finctl_ctx *x, const char *action,
		    struct buf *b)
{
	const char *tenant = finctl_opt(x, "tenant");

	buf_puts(b, "/v1/vms/");
	finctl_url_escape(b, x->a.pos[0]);
	if (action)
		buf_printf(b, "/%s", action);
	if (tenant) {
		buf_puts(b, "?tenant=");
		finctl_url_escape(b, tenant);
	}
}

/* The Idempotency-Key of this create: --request-id, or one made for this
 * invocation, so that a retry of the same request creates nothing more. */
static int vm_request_id(struct finctl_ctx *x)
{
	const char *given = finctl_opt(x, "request-id");
	char line[256], hex[33] = "";

	if (given && strlen(given) > 128) {
		fprintf(stderr, "finctl: --request-id: at most 128 "
			"characters\n");
		return FINCTL_USAGE;
	}
	if (given)
		snprintf(line, sizeof(line), "Idempotency-Key: %s", given);
	else if (random_hex(hex, sizeof(hex), 16) == 0)
		snprintf(line, sizeof(line), "Idempotency-Key: finctl-%s", hex);
	if ((given == NULL && hex[0] == '\0') ||
	    http_client_set_header(x->http, line) < 0) {
		fprintf(stderr, "finctl: %s\n", err_msg());
		return FINCTL_FAIL;
	}
	return FINCTL_OK;
}

/* The largest --ssh-key and --user-data files finctl reads (the
 * controller's own limits are in docs/images.md). */
#define SSH_KEY_FILE_MAX (64 * 1024)
#define USER_DATA_MAX (64 * 1024)

/* Every --ssh-key FILE: each of its lines that is not empty or a comment
 * is one key of "ssh_keys"; --user-data FILE as "user_data". FINCTL_OK,
 * or FINCTL_USAGE with the reason printed. */
static int first_boot_body(const struct finctl_ctx *x, cJSON *b)
{
	const char *ud = finctl_opt(x, "user-data");
	cJSON *keys = NULL;
	char *text = NULL;
	size_t len;
	int rc = FINCTL_USAGE;

	for (int i = 0; i < x->a.nopt; i++) {
		char *line, *next;

		if (strcmp(x->a.key[i], "ssh-key") != 0)
			continue;
		if (file_read_all(x->a.val[i], SSH_KEY_FILE_MAX, &text,
				  &len) < 0) {
			fprintf(stderr, "finctl: --ssh-key: %s\n", err_msg());
			goto out;
		}
		if (keys == NULL)
			keys = cJSON_AddArrayToObject(b, "ssh_keys");
		for (line = text; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			line = str_trim(line);
			if (line[0] && line[0] != '#')
				cJSON_AddItemToArray(keys,
						     cJSON_CreateString(line));
		}
		free(text);
		text = NULL;
	}
	if (ud) {
		if (file_read_all(ud, USER_DATA_MAX, &text, &len) < 0) {
			fprintf(stderr, "finctl: --user-data: %s\n", err_msg());
			goto out;
		}
		if (strlen(text) != len) {
			fprintf(stderr, "finctl: --user-data '%s' holds a NUL "
				"byte: user-data is text\n", ud);
			goto out;
		}
		cJSON_AddStringToObject(b, "user_data", text);
	}
	rc = FINCTL_OK;
out:
	free(text);
	return rc;
}

int finctl_vm_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("tenant", "flavor", "image",
					      "group", "name", "pool",
					      "storage", "ha", "ha-priority"));
	const char *postcopy = finctl_opt(x, "postcopy");
	cJSON *out = NULL;
	const cJSON *id, *h;
	int rc = first_boot_body(x, b);

	if (postcopy) /* the VM's setting, as the pool's is named */
		cJSON_AddBoolToObject(b, "migration_postcopy",
				      strcmp(postcopy, "yes") == 0);

	if (rc == FINCTL_OK)
		rc = finctl_vm_networks(x, b);

	if (rc == FINCTL_OK)
		rc = vm_request_id(x);
	if (rc == FINCTL_OK)
		rc = finctl_call(x, "POST", "/v1/vms", b, &out);
	http_client_set_header(x->http, NULL);
	cJSON_Delete(b);
	if (rc != FINCTL_OK)
		return rc;
	id = cJSON_GetObjectItemCaseSensitive(out, "id");
	h = cJSON_GetObjectItemCaseSensitive(out, "host");
	if (finctl_opt(x, "wait") && cJSON_IsString(id)) {
		if (!x->json)
			fprintf(stderr, "VM %s placed on %s, waiting until it "
				"runs\n", id->valuestring,
				cJSON_IsString(h) ? h->valuestring : "?");
		rc = finctl_wait_vm(x, id->valuestring, "running");
		if (rc == FINCTL_OK && !x->json)
			printf("%s\n", id->valuestring);
	} else if (x->json) {
		finctl_print_json(out);
	} else {
		finctl_print_kv(out, "");
	}
	cJSON_Delete(out);
	return rc;
}

int finctl_vm_show(struct finctl_ctx *x)
{
	struct buf b;
	int rc;

	buf_init(&b, 4096);
	finctl_vm_path(x, NULL, &b);
	rc = finctl_show(x, "GET", buf_str(&b), NULL);
	buf_free(&b);
	return rc;
}

/* POST /v1/vms/VM/action (DELETE /v1/vms/VM when action is NULL); with
 * --wait, wait until the VM is in state want (NULL: gone), following it
 * by the id the answer gives. */
static int vm_action(struct finctl_ctx *x, const char *action,
		     const char *want)
{
	const cJSON *id;
	struct buf b;
	cJSON *out;
	int rc;

	buf_init(&b, 4096);
	finctl_vm_path(x, action, &b);
	rc = finctl_call(x, action ? "POST" : "DELETE", buf_str(&b), NULL, &out);
	buf_free(&b);
	id = cJSON_GetObjectItemCaseSensitive(out, "id");
	if (rc == FINCTL_OK && finctl_opt(x, "wait"))
		rc = finctl_wait_vm(x, cJSON_IsString(id) ? id->valuestring
							 : x->a.pos[0], want);
	else if (rc == FINCTL_OK && x->json)
		finctl_print_json(out);
	else if (rc == FINCTL_OK && out)
		finctl_print_kv(out, "");
	cJSON_Delete(out);
	return rc;
}

int finctl_vm_start(struct finctl_ctx *x)
{
	return vm_action(x, "start", "running");
}

int finctl_vm_stop(struct finctl_ctx *x)
{
	return vm_action(x, "stop", "stopped");
}

int finctl_vm_delete(struct finctl_ctx *x)
{
	return vm_action(x, NULL, NULL);
}

/* --postcopy yes|no|pool: the VM's migration_postcopy, pool as null. */
int finctl_vm_update(struct finctl_ctx *x)
{
	const char *pc = finctl_opt(x, "postcopy");
	cJSON *b = finctl_body(x, FINCTL_KEYS("ha", "ha-priority"));
	struct buf path;
	int rc;

	if (pc && strcmp(pc, "pool") == 0)
		cJSON_AddNullToObject(b, "migration_postcopy");
	else if (pc)
		cJSON_AddBoolToObject(b, "migration_postcopy",
				      strcmp(pc, "yes") == 0);
	buf_init(&path, 4096);
	finctl_vm_path(x, NULL, &path);
	rc = finctl_show(x, "PATCH", buf_str(&path), b);
	buf_free(&path);
	return rc;
}

int finctl_vm_reboot(struct finctl_ctx *x)
{
	return finctl_task_start(x, "reboot", NULL);
}

/* --max-seconds and --postcopy override, for this migration, the
 * agent's time limit and the VM's (else its pool's) post-copy setting. */
int finctl_vm_migrate(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("max-seconds", "postcopy"));

	finctl_add_str(b, "target_host", finctl_opt(x, "to"));
	if (cJSON_GetArraySize(b) == 0) {
		cJSON_Delete(b);
		b = NULL;
	}
	return finctl_task_start(x, "migrate", b);
}

int finctl_task_show(struct finctl_ctx *x)
{
	if (finctl_opt(x, "wait"))
		return finctl_wait_task(x, x->a.pos[0]);
	return finctl_cmd_show(x);
}
