/*
 * cmd_vm.c - finctl vm create|start|stop|reboot|delete|migrate and task
 * show: the VM lifecycle and the tasks it runs as, each with --wait.
 */
#include "finctl/finctl.h"

#include "common/buf.h"

int finctl_vm_create(struct finctl_ctx *x)
{
	cJSON *b = finctl_body(x, FINCTL_KEYS("tenant", "flavor", "group",
					      "name", "pool"));
	cJSON *out;
	const cJSON *id, *h;
	int rc = finctl_call(x, "POST", "/v1/vms", b, &out);

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

/* POST /v1/vms/ID/action (DELETE /v1/vms/ID when action is NULL); with
 * --wait, wait until the VM is in state want (NULL: gone). */
static int vm_action(struct finctl_ctx *x, const char *action,
		     const char *want)
{
	struct buf b;
	cJSON *out;
	int rc;

	buf_init(&b, 4096);
	buf_puts(&b, "/v1/vms/");
	finctl_url_escape(&b, x->a.pos[0]);
	if (action)
		buf_printf(&b, "/%s", action);
	rc = finctl_call(x, action ? "POST" : "DELETE", buf_str(&b), NULL, &out);
	buf_free(&b);
	if (rc == FINCTL_OK && finctl_opt(x, "wait"))
		rc = finctl_wait_vm(x, x->a.pos[0], want);
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

int finctl_vm_reboot(struct finctl_ctx *x)
{
	return finctl_task_start(x, "reboot", NULL);
}

int finctl_vm_migrate(struct finctl_ctx *x)
{
	cJSON *b = NULL;

	if (finctl_opt(x, "to")) {
		b = cJSON_CreateObject();
		finctl_add_str(b, "target_host", finctl_opt(x, "to"));
	}
	return finctl_task_start(x, "migrate", b);
}

int finctl_task_show(struct finctl_ctx *x)
{
	if (finctl_opt(x, "wait"))
		return finctl_wait_task(x, x->a.pos[0]);
	return finctl_cmd_show(x);
}
