/*
 * config.h - the "key = value" configuration files of fincloud daemons.
 *
 * Syntax, one setting per line:
 *
 *   # a comment line
 *   listen_port = 8740          # a trailing comment after white space
 *   database    = "/var/lib/fincloud/state.db"
 *
 * Keys are [a-z0-9_.-]; a value may be wrapped in double quotes (to keep a
 * leading/trailing space or a " #"). A key may appear once. Every error
 * names the file and line: "/etc/fincloud/agent.conf:7: ...".
 *
 * Command-line flags override the file through config_set(); such values
 * are reported as coming from "command line".
 */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include "common/fc.h"

struct config_entry {
	char *key;
	char *value;
	int line; /* 0: set from the command line */
};

struct config {
	char *path; /* as given to config_load(), for messages */
	struct config_entry *entries;
	size_t n;
	size_t alloc;
};

/* Load and parse path. On success *out is a config the caller frees with
 * config_free(). A missing file is an error unless missing_ok, in which
 * case *out is an empty config. */
int config_load(const char *path, bool missing_ok, struct config **out);

/* Parse text as if it were the file `name` (tests, stdin). */
int config_parse(const char *name, const char *text, struct config **out);

/* An empty config named `name`. NULL when out of memory. */
struct config *config_new(const char *name);

void config_free(struct config *cfg);

/* Set or replace key (a command-line override). */
int config_set(struct config *cfg, const char *key, const char *value);

/* The raw value, or NULL when the key is not set. */
const char *config_get(const struct config *cfg, const char *key);

/* "file:line" (or "command line") for key, for callers' own messages. */
const char *config_where(const struct config *cfg, const char *key,
			 char *buf, size_t size);

/* -1 with err_set("WHERE: key 'KEY': MESSAGE"), WHERE as config_where()
 * says: the one shape of every message about one key's value. */
int config_err(const struct config *cfg, const char *key, const char *fmt,
	       ...) FC_PRINTF(3, 4);

/* Typed getters: use def when the key is absent; on a bad value return -1
 * with "file:line: key 'k': expected ..., got 'v'". */
int config_get_str(const struct config *cfg, const char *key,
		   const char *def, const char **out);
int config_get_int(const struct config *cfg, const char *key, int64_t min,
		   int64_t max, int64_t def, int64_t *out);
int config_get_double(const struct config *cfg, const char *key, double min,
		      double max, double def, double *out);
int config_get_bool(const struct config *cfg, const char *key, bool def,
		    bool *out);

/* Refuse a key that is not in the NULL-terminated list `known`:
 * "file:line: unknown key 'k' (did you mean 'kk'?)". */
int config_check_keys(const struct config *cfg, const char *const *known);

#endif
