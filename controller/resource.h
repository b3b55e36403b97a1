/*
 * resource.h - the operators' resources (pools, hosts, tenants, groups,
 * flavors, tokens), each described once by a struct res_kind, and the
 * list, get and delete handlers they share.
 *
 * A kind is one table keyed by one text column (a name, or a token's id;
 * the audit log, only listed, by its entry number).
 * Its descriptor holds the statements the generic handlers run, the
 * row's JSON, who may see a row (a tenant principal sees only its own
 * tenant's rows of a scoped kind; the others look absent, 404), and what
 * keeps a row from being deleted (409 in_use). What is particular to a
 * kind (create and patch validation, quotas, a tenant's pools, token
 * secrets) stays in its handler in api_res.c, which uses res_answer() and
 * res_exists() for the shared part.
 *
 * Every function here runs inside a request (api.h): the lock is held, a
 * database error is answered 500 and never taken for an absent row.
 */
#ifndef FC_CTRL_RESOURCE_H
#define FC_CTRL_RESOURCE_H

#include "controller/api.h"

struct store;

/* The statements of a kind, built at compile time from its table, key
 * column and columns (the store caches statements by their address, so
 * they are literals). The table's alias is always r. ?1 is the key (or
 * the list's cursor), ?2 a list's limit + 1, ?3 a scoped list's tenant
 * (NULL: all), ?4 and on the list's filters; where adds to the list's
 * WHERE clause. owner is the column of the owning tenant ("NULL" for a
 * kind that is not scoped). */
#define RES_SQL(table, key, cols, owner, where)                             \
	.list_sql = "SELECT " cols " FROM " table " r WHERE r." key " > ?1"  \
		    where " ORDER BY r." key " LIMIT ?2",                    \
	.get_sql = "SELECT " cols " FROM " table " r WHERE r." key " = ?1",  \
	.find_sql = "SELECT " owner " FROM " table " r WHERE r." key " = ?1", \
	.delete_sql = "DELETE FROM " table " WHERE " key " = ?1"

struct res_kind {
	const char *noun;       /* "pool": messages, audit target "pool:KEY" */
	const char *path;       /* "/v1/pools": a created row's Location is
				 * PATH/KEY (NULL: no GET of one row) */
	const char *list_sql;   /* rows after ?1 ordered by the key (column 0) */
	bool seq_key;           /* the key is an integer (the list's only) */
	const char *get_sql;    /* the row keyed ?1, the columns to_json reads */
	const char *find_sql;   /* one row when ?1 exists: its owner */
	const char *delete_sql; /* the row keyed ?1 */
	/* The JSON of get_sql's / list_sql's current row; NULL with err_set()
	 * when it needs the store and that fails. */
	cJSON *(*to_json)(struct store *st, struct db_stmt *s);
	bool scoped;            /* a tenant principal sees only its tenant's */
	int owner_col;          /* scoped: the owner's column in get_sql */
	const char *tenant_query; /* scoped: the list's ?tenant= (or NULL) */
	/* scoped, optional: whether a tenant principal that does not own
	 * the row on get_sql's s may see it all the same (a provider network
	 * shared with its tenant); list_sql must select the same rows */
	bool (*shared)(const struct api_ctx *c, struct db_stmt *s);
	/* optional: remove from a row's JSON what a tenant principal must
	 * not see (a provider network's interface, VLAN, pool, tenants) */
	void (*redact)(cJSON *o);
	const char *filters[2]; /* more list query parameters: ?4, ?5 */
	const char *hint;       /* ends a 404: how to find an existing one */
	/* delete: while in_use_sql (?1 the key) yields a row, 409 with
	 * "NOUN 'KEY' " in_use_msg */
	const char *in_use_sql;
	const char *in_use_msg;
};

extern const struct res_kind res_pools, res_hosts, res_tenants, res_groups,
	res_flavors, res_tokens, res_audit, res_storage;

/* GET of a collection: one page (api_page_open()) of the rows k's caller
 * may see, filtered by k's query parameters. */
void res_list(struct api_ctx *c, const struct res_kind *k);

/* Answer the row of k keyed key with status (200 for a GET, 201 after a
 * create), or 404 naming it when it does not exist or is hidden from the
 * caller. */
void res_answer(struct api_ctx *c, const struct res_kind *k, const char *key,
		int status);

/* A create's answer once its rows are written: res_answer() with 201,
 * and the new row's Location. */
void res_created(struct api_ctx *c, const struct res_kind *k,
		 const char *key);

/* Name the request's audit target "NOUN:KEY". */
void res_target(struct api_ctx *c, const struct res_kind *k, const char *key);

/* GET of one row: res_answer() of the route's first parameter. */
void res_get(struct api_ctx *c, const struct res_kind *k);

/* DELETE of the route's first parameter in the request's transaction:
 * 404 when absent or hidden, 409 in_use while something refers to it,
 * else 204. Names the audit target. */
void res_delete(struct api_ctx *c, const struct res_kind *k);

/* Whether k has a row keyed key, whoever may see it: 1 or 0, or -1 with
 * a 500 answer. */
int res_exists(struct api_ctx *c, const struct res_kind *k, const char *key);

/* 0 when k has a row keyed key (whoever may see it), or -1 with the
 * answer set: 404 not_found naming the body field field ("$.FIELD: pool
 * 'P' does not exist" and k's hint; field NULL: the path's object), or
 * 500 when it cannot be read. */
int res_must_exist(struct api_ctx *c, const struct res_kind *k,
		   const char *key, const char *field);

#endif
