/*
 * schema.h - the controller's schema as versioned migrations, run by
 * store_open() (store.h) on SQLite and PostgreSQL alike.
 */
#ifndef FC_CTRL_SCHEMA_H
#define FC_CTRL_SCHEMA_H

#include <stddef.h>

/*
 * A schema migration: sql runs on both engines (the PostgreSQL engine
 * rewrites the spellings in db_pg.c's table), then the part for the
 * engine at hand, when the two cannot share one text (triggers, SQLite's
 * date functions).
 */
struct store_migration {
	const char *sql;
	const char *sqlite;
	const char *pg;
};

/* Entry i brings the schema from version i to i + 1; store_nmigrations
 * entries, so the newest schema version is store_nmigrations. Static
 * data: nothing to free. */
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

#endif
