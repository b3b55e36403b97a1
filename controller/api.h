/*
 * api.h - request handling shared by the API modules (api_*.c).
 *
 * A handler gets a struct api_ctx with the matched route, the caller's
 * principal and the parsed body, runs with the controller lock held
 * (unless its route says ROUTE_UNLOCKED, see route.h), and
 * leaves its answer in status + resp (or an error via api_err()). The
 * dispatcher (api_handle) authenticates, checks the route's roles, writes
 * the audit entry of a mutating request and converts the answer to JSON.
 */
#ifndef FC_CTRL_API_H
#define FC_CTRL_API_H

#include <cjson/cJSON.h>

#include "common/fc.h"
#include "common/util.h"
#include "controller/auth.h"
#include "controller/ctrl.h"
#include "controller/peercert.h"
#include "controller/route.h"

#define API_ID_LEN 40

struct principal {
	enum auth_role role;
	char token_id[API_ID_LEN];
	char tenant[64]; /* tenant role: its tenant */
	char node[64];   /* agent role: its node */
};

/* Hands the socket of a connection switched by a 101 answer to its user
 * (console.h console_attach_client()): fd -1 when the switch did not
 * happen; peer_fd: with TLS, the connection's own TCP socket, to watch
 * for the peer's close only (fd is then a relay that does not pass the
 * close on), else -1; extra/n: bytes already read from it;
 * close_fn(handle) ends it, once. */
typedef void (*api_upgrade_close_fn)(void *handle);
typedef void (*api_upgrade_fn)(void *arg, int fd, int peer_fd,
			       const char *extra, size_t n, void *handle,
			       api_upgrade_close_fn close_fn);

/* Looks up a query parameter; NULL when absent. */
typedef const char *(*api_query_fn)(void *ud, const char *key);

struct api_ctx {
	struct ctrl *ctrl;
	const char *method;
	const char *path;
	const struct route_match *m;
	api_query_fn query;
	void *query_ud;
	const char *authorization; /* header value or NULL */
	const char *idempotency_key; /* Idempotency-Key header or NULL */
	const char *upgrade_header; /* Upgrade header or NULL */
	const char *if_none_match; /* If-None-Match header or NULL */
	uint32_t client_addr;      /* IPv4, host byte order; 0: unknown */
	const struct peercert *peer; /* the agent's certificate or NULL */
	const char *body;
	size_t body_len;
	cJSON *json;               /* the parsed body (NULL when empty) */
	/* a ROUTE_UPLOAD route's body, finished (image_upload_finish());
	 * the server's: it frees it after the answer */
	struct image_upload *upload;
	struct principal who;
	char request_id[33];

	/* the answer */
	int status;
	cJSON *resp;               /* JSON body, or */
	char *text;                /* a text body (metrics), malloc'd */
	size_t text_len;           /* its length when it may hold NUL; 0:
				      strlen() */
	const char *content_type;
	/* a file answer instead (has_file): file_size bytes of file_fd,
	 * which the server closes once sent; api_ctx_release() closes it
	 * when it was not sent */
	bool has_file;
	int file_fd;
	int64_t file_size;
	char location[256];
	int64_t retry_after_s;     /* a Retry-After header when > 0 */
	/* a file's validators (ui.h); "" / NULL: no such header */
	char etag[48];
	char last_modified[40];
	const char *cache_control;
	/* A 101 answer switches the connection to protocol upgrade_proto;
	 * the server then calls upgrade(upgrade_arg, ...) exactly once */
	api_upgrade_fn upgrade;
	void *upgrade_arg;
	const char *upgrade_proto;
	char audit_target[160];    /* what the audit entry names */
	bool tx_open;
	uint64_t sync_seq;         /* commit to make durable before answering */

	/* A long-poll (api_park()). The server sets wake (with wake_arg)
	 * when it can suspend the request; without it a long-poll answers
	 * at once. When api_handle() returns with parked set there is no
	 * answer yet: the server arms parked (ctrl_arm()) and, once woken,
	 * calls api_resume(). */
	ctrl_wake_fn wake;
	void *wake_arg;
	struct ctrl_waiter *parked;
	route_fn resume;           /* builds the answer, lock held */
	/* Set by a handler or a resume step (lock held): builds the
	 * answer once the lock is released, before the request finishes
	 * (the reader's reads, ctrl.h "The reader") */
	route_fn unlocked;
	char park_node[64];
	size_t route_index;        /* for the route's statistics */
	uint64_t t0_ns;
	/* statements run on the store while c held the controller lock
	 * (db_statements()), counted from stmt0, taken at each lock, and
	 * those its unlocked step ran on the reader */
	uint64_t stmt0, statements;
	/* of those, the ones run under the lock; and how long c held the
	 * lock (ns), from lock_t0, taken at each lock */
	uint64_t locked_statements, lock_ns, lock_t0;
};

/* The route table and its size. */
extern const struct route api_routes[];
extern const size_t api_nroutes;

/* Handle one request: ctx is filled in by the server (method, path, query,
 * authorization, body); on return status and resp/text hold the answer.
 * Takes and releases ctrl->lock itself. */
void api_handle(struct api_ctx *c);

/* Finish a request api_handle() left parked, once its wake came: take
 * the lock, run its resume step, release the lock, run the unlocked step
 * it set, if any; on return status and resp hold the answer. */
void api_resume(struct api_ctx *c);

/* From a handler (lock held, no transaction open): park the request until
 * node's desired state changes or wait_s seconds pass; resume then builds
 * the answer. 0 when parked (the handler returns without an answer), -1
 * when it cannot wait (no wake set, wait_s <= 0, stopping): answer now. */
int api_park(struct api_ctx *c, const char *node, int64_t wait_s,
	     route_fn resume);

/* Failed authentications per client address (authlimit.h), for every
 * credential a request carries, bearer token or join token in a body:
 * api_auth_limited() is 0 when c's address may try, or -1 with a 429
 * (Retry-After set) when it failed too often; api_auth_failed() counts
 * one failure of c's address. Under ctrl->lock. */
int api_auth_limited(struct api_ctx *c);
void api_auth_failed(struct api_ctx *c);

/* Whether method + path is a ROUTE_UPLOAD route. */
bool api_upload_route(const char *method, const char *path);

/* Before an upload's body is read (c filled in as for api_handle(),
 * without a body): the caller's token and role for its route. true when
 * it may go on; false with the error answer (401, 403, 429) in c,
 * audited as api_handle() audits a refused mutating request. Takes and
 * releases ctrl->lock itself. */
bool api_upload_allowed(struct api_ctx *c);

/* Release what api_handle left in c. */
void api_ctx_release(struct api_ctx *c);

/* Set an error answer: {"error": {"code", "message", "field"}}. field may
 * be NULL. Any earlier answer is dropped. */
void api_err(struct api_ctx *c, int status, const char *code,
	     const char *field, const char *fmt, ...) FC_PRINTF(5, 6);
/* 500 "internal" with err_msg() (logged); 503 "unavailable" when the
 * database server cannot be reached (db_unreachable(): PostgreSQL
 * stopped, restarting or failing over), saying to retry. what names the
 * step that failed; a what starting "committing" is a commit, whose
 * outcome is unknown when the connection broke under it (the answer says
 * so, and how to find out). */
void api_err_internal(struct api_ctx *c, const char *what);
/* 400 "invalid_field" from err_msg(), naming field. */
void api_err_field(struct api_ctx *c, const char *field);

/* Answer helpers: take ownership of body. */
void api_ok(struct api_ctx *c, int status, cJSON *body);

/* Body helpers: 0 or -1 (answer already set). */
int api_body_object(struct api_ctx *c, const char *const *allowed);
int api_get_str(struct api_ctx *c, const char *key, bool required,
		const char *def, const char **out);
int api_get_name(struct api_ctx *c, const char *key, const char *what,
		 bool required, const char **out);
int api_get_int(struct api_ctx *c, const char *key, bool required,
		int64_t min, int64_t max, int64_t def, int64_t *out);
int api_get_double(struct api_ctx *c, const char *key, bool required,
		   double min, double max, double def, double *out);
int api_get_bool(struct api_ctx *c, const char *key, bool required, bool def,
		 bool *out);

/* Query helpers. */
const char *api_query(struct api_ctx *c, const char *key);
/* {"items": items, "next": next or null}. Takes items. */
void api_list(struct api_ctx *c, cJSON *items, const char *next);

struct db_stmt;

/* One page of a list (every GET of a collection pages the same way):
 * ?limit= (1..1000, default 100) and ?after=, the key of the last item of
 * the page before (its 'next'). The query orders its rows by that key,
 * selects only keys after it and has LIMIT limit + 1: the extra row says
 * that another page follows. */
struct api_page {
	int64_t limit;
	const char *after;      /* text key cursor; "" on the first page */
	int64_t after_seq;      /* integer key cursor (seq); 0 on the first */
	cJSON *items;           /* from the first step to api_page_close() */
	int key_col;            /* the key's column in the query */
	int64_t n;              /* rows handed out so far */
	bool more;
	bool failed;            /* an error was answered: no list */
	char next[64];          /* a name, an id or a seq */
};
/* Read ?limit= and ?after= into pg (with seq, after must be an integer).
 * 0, or -1 with a 400 answer (and pg->failed set). Until the first step
 * pg holds nothing: a handler may return without api_page_close(). */
int api_page_open(struct api_ctx *c, struct api_page *pg, int key_col,
		  bool seq);
/* Step s: 1 when its row belongs to the page (add its item to pg->items),
 * 0 when the page is complete, -1 when the database fails (500 answered,
 * pg->failed set). A handler that answers an error of its own while
 * filling the page sets pg->failed too. */
int api_page_step(struct api_ctx *c, struct api_page *pg, struct db_stmt *s);
/* Answer the page as {"items", "next"} unless it failed; frees what pg
 * still holds. */
void api_page_close(struct api_ctx *c, struct api_page *pg);

/* Open the request's write transaction (durable). -1 with a 500 answer. */
int api_begin(struct api_ctx *c);

/* A prepared, cached statement for sql (see store_stmt()); NULL with a 500
 * answer when it cannot be prepared. */
struct db_stmt *api_stmt(struct api_ctx *c, const char *sql);
/* Step the bound statement s once (see store_row()): 1 with s on its
 * first row (read it, then reset s), 0 when there is none, -1 with a 500
 * answer naming what. A failing read is never "absent". */
int api_row(struct api_ctx *c, struct db_stmt *s, const char *what);
/* store_find() of sql with key as ?1, with a 500 answer on -1: 1 with *s
 * on its row (read it, then reset *s), 0 (no row), -1. */
int api_find(struct api_ctx *c, const char *sql, const char *key,
	     struct db_stmt **s, const char *what);
/* api_find() of sql with the host's name as ?1: 0 with *s on its row
 * (read it, then reset *s), or -1 with the answer set (404 naming the
 * host and 'finctl host list', or 500). */
int api_find_host(struct api_ctx *c, const char *sql, const char *host,
		  struct db_stmt **s);
/* Step s, which must finish (DB_DONE): 0, or -1 with a 500 answer
 * naming what. */
int api_step_done(struct api_ctx *c, struct db_stmt *s, const char *what);
/* The same for a write whose constraint failure is the client's doing
 * (a duplicate, a reference still in use): that answers 409. */
int api_step_write(struct api_ctx *c, struct db_stmt *s, const char *what);
/* 0 when VMs may leave host by live migration (place_leave_check());
 * else -1 with the answer set: 409 host_degraded "cannot WHAT: ..."
 * naming the host, its agent's reason and the fix, or 500. what is the
 * refused action ("migrate VM 'ID'", "drain host 'NAME'"). */
int api_may_leave(struct api_ctx *c, const char *host, const char *what);

/* Roles. */
bool api_is_tenant(const struct api_ctx *c);
/* For a tenant principal: true when name is not its tenant (the object
 * must then look absent). */
bool api_hidden_tenant(const struct api_ctx *c, const char *tenant);

/* Handlers, by module. */
void h_healthz(struct api_ctx *c);
void h_metrics(struct api_ctx *c);
void h_pool_list(struct api_ctx *c);
void h_pool_create(struct api_ctx *c);
void h_pool_get(struct api_ctx *c);
void h_pool_patch(struct api_ctx *c);
void h_pool_delete(struct api_ctx *c);
void h_pool_util(struct api_ctx *c);
void h_host_list(struct api_ctx *c);
void h_host_get(struct api_ctx *c);
void h_host_util(struct api_ctx *c);
void h_host_patch(struct api_ctx *c);
void h_tenant_list(struct api_ctx *c);
void h_tenant_create(struct api_ctx *c);
void h_tenant_get(struct api_ctx *c);
void h_tenant_patch(struct api_ctx *c);
void h_tenant_delete(struct api_ctx *c);
void h_group_list(struct api_ctx *c);
void h_group_create(struct api_ctx *c);
void h_group_get(struct api_ctx *c);
void h_group_delete(struct api_ctx *c);
void h_flavor_list(struct api_ctx *c);
void h_flavor_create(struct api_ctx *c);
void h_flavor_get(struct api_ctx *c);
void h_flavor_delete(struct api_ctx *c);
void h_storage_list(struct api_ctx *c);
void h_storage_create(struct api_ctx *c);
void h_storage_get(struct api_ctx *c);
void h_storage_delete(struct api_ctx *c);
void h_vm_list(struct api_ctx *c);
void h_vm_create(struct api_ctx *c);
void h_vm_get(struct api_ctx *c);
void h_vm_delete(struct api_ctx *c);
void h_vm_start(struct api_ctx *c);
void h_vm_stop(struct api_ctx *c);
void h_vm_reboot(struct api_ctx *c);
/* PATCH /v1/vms/{id}: the VM's own settings ({"migration_postcopy":
 * true|false|null}); 200 with the VM. */
void h_vm_patch(struct api_ctx *c);
void h_vm_migrate(struct api_ctx *c);
/* api_ha.c (ha.h). POST /v1/hosts/{name}/evacuate: a host known dead is
 * failed now (fenced, then its HA VMs restarted, by the fence pass); 202
 * with the host; 409 host_alive when it still heartbeats. */
void h_host_evacuate(struct api_ctx *c);
/* POST /v1/hosts/{name}/unfence: a fenced host's blocklist entries are
 * removed by the next fence pass; 202 with the host; 409 not_fenced, or
 * evictions_pending while it may hold a VM restarted elsewhere. */
void h_host_unfence(struct api_ctx *c);
/* The PATCH fields of a host's fencing (storage_address,
 * fence_command, fence_address; null or "" clears) of host, inside the
 * request's transaction: 0, or -1 with the answer set (400). */
int api_ha_host_patch(struct api_ctx *c, const char *host);
/* A pool's ha_reserve ('none', 'n+1'; null: none) from a PATCH body:
 * 0, or -1 with the answer set. */
int api_ha_pool_patch(struct api_ctx *c, const char *pool);
/* Add {"ha_reserve": {"policy", "holds", "why"}} of pool to o: 0, or -1
 * with the answer set. */
int api_ha_reserve_json(struct api_ctx *c, const char *pool, cJSON *o);
/* The "ha" ('restart', 'none'; null: none) and "ha_priority" (-1000 ..
 * 1000) fields of a VM create or PATCH body, written to VM vm (already
 * in the store, in pool pool); a VM that becomes HA must leave its
 * pool's N+1 reserve holding (409 ha_reserve). 0, or -1 with the answer
 * set. */
int api_ha_vm_fields(struct api_ctx *c, const char *vm, const char *pool);
void h_network_list(struct api_ctx *c);
void h_network_create(struct api_ctx *c);
void h_network_get(struct api_ctx *c);
void h_network_delete(struct api_ctx *c);
/* PATCH of a provider network's shared_with (operators). */
void h_network_patch(struct api_ctx *c);
void h_port_list(struct api_ctx *c);
void h_secgroup_list(struct api_ctx *c);
void h_secgroup_create(struct api_ctx *c);
void h_secgroup_get(struct api_ctx *c);
void h_secgroup_delete(struct api_ctx *c);
void h_secgroup_rule_add(struct api_ctx *c);
void h_secgroup_rule_delete(struct api_ctx *c);
void h_task_list(struct api_ctx *c);
void h_task_get(struct api_ctx *c);
void h_audit_list(struct api_ctx *c);
void h_audit_verify(struct api_ctx *c);
void h_token_list(struct api_ctx *c);
void h_token_create(struct api_ctx *c);
void h_token_delete(struct api_ctx *c);
void h_token_rotate(struct api_ctx *c);
void h_token_get(struct api_ctx *c);
void h_agent_register(struct api_ctx *c);
void h_host_approve(struct api_ctx *c);
void h_host_reject(struct api_ctx *c);
void h_agent_heartbeat(struct api_ctx *c);
void h_agent_events(struct api_ctx *c);
void h_agent_console(struct api_ctx *c);
void h_vm_console(struct api_ctx *c);
void h_vm_console_log(struct api_ctx *c);
void h_pool_rebalance(struct api_ctx *c);
void h_host_drain(struct api_ctx *c);
void h_host_resume(struct api_ctx *c);
void h_image_list(struct api_ctx *c);
void h_image_create(struct api_ctx *c);
void h_image_get(struct api_ctx *c);
void h_image_delete(struct api_ctx *c);
void h_agent_image(struct api_ctx *c);


/* An image of the catalogue, as api_image_find() reads it. */
struct api_image {
	char id[37];
	char name[NAME_MAX_LEN + 1];
	char tenant[NAME_MAX_LEN + 1]; /* "" for a public image */
	char format[8];
	char sha256[65];
	int64_t min_mem_mib;
	int64_t size_bytes;
	int64_t virtual_size_bytes;
};

/* The image ref names (its id, or its name) as scope sees it (a tenant:
 * the public images and its own, its own first; NULL: every image, a
 * name used by several tenants is then ambiguous, 409) into *out. 0, or
 * -1 with the answer (404, 409, 500) naming the body's field ("image";
 * NULL for the path). Lock held. */
int api_image_find(struct api_ctx *c, const char *ref, const char *scope,
		   const char *field, struct api_image *out);

/* At start (before the server): remove unfinished uploads and stored
 * image files no catalogue row names (image_store_sweep()). 0, or -1
 * with err_set(). */
int api_image_sweep(struct ctrl *ctrl);

/* First start: create the admin token file (state_dir/admin.token, mode
 * 0600) when no admin token exists. 0, or -1 with err_set(). */
int api_bootstrap_admin(struct ctrl *ctrl);

/* Helpers shared between modules. */
/* An agent's reported inventory ($.inventory of a registration or a
 * heartbeat): the integer fields in the order of enum enrol_inv
 * (controller/enrol.h), the strings pointing into c->json. */
struct api_inventory {
	int64_t n[5];
	const char *cpu_model, *virt_type, *libvirt_version;
	const char *virt_type_reason; /* "" from an agent that says none */
};
/* Read and bound $.inventory into inv: 0, or -1 with a 400 naming the
 * field ("inventory.vcpus") and its limit (enrol_inv_max). */
int api_inventory_read(struct api_ctx *c, struct api_inventory *inv);
/* A node's identity is its client certificate: whether this request's
 * certificate (c->peer, read on the agents' port) may act for node under
 * require_client_cert (peercert_check()). true, or false with a 403
 * naming why (no certificate, another CA's, expired, another node's). */
bool api_cert_acts_for(struct api_ctx *c, const char *node);
/* Whether this agent request may act for node (the path's): its bearer
 * credential is node's and, under require_client_cert, so is its client
 * certificate (api_cert_acts_for()). true, or false with a 403. Every
 * route under /v1/agents/{node}/ calls it first. */
bool api_agent_owns(struct api_ctx *c, const char *node);
/* Record inv as what node (an existing host) reports, in the request's
 * transaction. Its vCPUs and memory are trusted (the columns the
 * scheduler reads) unless they jump against the host's registered
 * figures (enrol_jump()): then the host is flagged (inventory_flag, a
 * log line and the audit event host.inventory.jump) and keeps those
 * figures until an operator approves. reset: inv becomes the registered
 * figures (a first or approved registration). 0, or -1 with a 500. */
int api_inventory_apply(struct api_ctx *c, const char *node,
			const struct api_inventory *inv, bool reset);

/* The columns api_vm_json() reads, in order. */
#define API_VM_COLS                                                        \
	"id, name, tenant, grp, flavor, pool, host, vcpus, mem_mib, "      \
	"disk_gib, desired, state, error, created_ms, updated_ms, seq, "   \
	"cpu_pct, balloon_mib, disk_alloc_bytes, image_id, image_sha256, " \
	"(SELECT i.name FROM images i WHERE i.id = vms.image_id), "        \
	"migration_postcopy, storage, ha, ha_priority"
/* The API's JSON object of the VM row s is on (API_VM_COLS); the caller
 * frees it with cJSON_Delete(). */
cJSON *api_vm_json(struct db_stmt *s);
/* The row (API_VM_COLS) of the VM path parameter 0 names (an id, a
 * unique id prefix or a name, of ?tenant= when given: vmref.h), stepped
 * to it (reset it after reading), with the audit target set to it; NULL
 * with the answer set: 404 (also for another tenant's VM), 409 ambiguous
 * or 500. */
struct db_stmt *api_vm_load(struct api_ctx *c);

#endif
