/* GET /metrics: the Prometheus text of the controller's state (counts
 * by state, HA, orphans, utilisation), its requests by route (counts,
 * latency, statements, lock time), the leader's passes, the agents'
 * heartbeats by pass (steady.h) and failed authentications. */

#include "common/buf.h"
#include "common/util.h"
#include "controller/api.h"
#include "controller/eta.h"
#include "controller/ha.h"
#include "controller/jobs.h"
#include "controller/report.h"
#include "controller/store.h"

const double ctrl_lat_bounds[CTRL_LAT_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05,   0.1,   0.25,   0.5,   1,    5,
};

/* One gauge line per row of sql (a state and a count). */
static int metrics_counts(struct store *st, struct buf *b, const char *sql,
			  const char *metric)
{
	struct db_stmt *s = store_stmt(st, sql);
	int rc = DB_ERROR;

	while (s && (rc = db_step(s)) == DB_ROW)
		buf_printf(b, "%s{state=\"%s\"} %" PRId64 "\n", metric,
			   store_col_text(s, 0),
			   (int64_t)db_col_int64(s, 1));
	if (s && rc != DB_DONE)
		store_err(st, metric);
	return rc == DB_DONE ? 0 : -1;
}

/* What /metrics reads from the store; the caller holds the lock. */
static int metrics_store(struct store *st, struct buf *b)
{
	int ret = -1;

	if (eta_metrics(st, b) < 0)
		goto out;
	buf_puts(b, "# HELP fincloud_hosts Hosts by state.\n"
		    "# TYPE fincloud_hosts gauge\n");
	if (metrics_counts(st, b,
			   "SELECT s.st, (SELECT count(*) FROM hosts h WHERE "
			   "(s.st = 'maintenance' AND h.maintenance != 0 AND "
			   "h.state = 'up') OR (s.st = 'up' AND h.state = 'up' AND "
			   "h.maintenance = 0)"
			   " OR (s.st = 'down' AND h.state = 'down')) FROM "
			   "(SELECT 'up' AS st UNION ALL SELECT 'down' UNION ALL "
			   "SELECT 'maintenance') s", "fincloud_hosts") < 0)
		goto out;
	buf_puts(b, "# HELP fincloud_vms VMs by state.\n"
		    "# TYPE fincloud_vms gauge\n");
	if (metrics_counts(st, b, "SELECT state, count(*) FROM vms GROUP BY "
				  "state ORDER BY state", "fincloud_vms") < 0)
		goto out;
	if (report_metrics(st, b) < 0)
		goto out;
	ret = ha_metrics(st, b);
out:
	return ret;
}

/* The columns of a route's statistics route_counter() prints. */
enum route_column {
	ROUTE_STATEMENTS,
	ROUTE_LOCKED_STATEMENTS,
	ROUTE_LOCK_SECONDS
};

/* The counter name (with its help text) of column col for each route
 * that ran a statement or held the lock (stats_lock held). */
static void route_counter(struct buf *b, const struct ctrl *ctrl,
			  const char *name, const char *help,
			  enum route_column col)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t r = 0; r < api_nroutes; r++) {
		const struct ctrl_route_stats *rs = &ctrl->stats[r];

		if (rs->db_statements == 0 && rs->lock_ns == 0)
			continue;
		if (col == ROUTE_LOCK_SECONDS)
			buf_printf(b, "%s{route=\"%s\"} %.6f\n", name,
				   api_routes[r].name,
				   (double)rs->lock_ns / 1e9);
		else
			buf_printf(b, "%s{route=\"%s\"} %" PRIu64 "\n", name,
				   api_routes[r].name,
				   col == ROUTE_STATEMENTS ? rs->db_statements
							   : rs->locked_statements);
	}
}

void h_metrics(struct api_ctx *c)
{
	struct ctrl *ctrl = c->ctrl;
	struct buf b;
	uint64_t fails, limited, hb_steady, hb_full;
	int rc;

	buf_init(&b, 8 << 20);
	pthread_mutex_lock(&ctrl->lock);
	rc = metrics_store(ctrl->st, &b);
	store_reset_all(ctrl->st);
	fails = ctrl->authlimit.failures_total;
	limited = ctrl->authlimit.limited_total;
	hb_steady = ctrl->hb_steady_total;
	hb_full = ctrl->hb_full_total;
	pthread_mutex_unlock(&ctrl->lock);
	if (rc < 0) {
		api_err_internal(c, "reading the metrics");
		goto out;
	}
	buf_printf(&b, "# HELP fincloud_auth_failures_total Requests refused "
		   "with 401 (no, unknown, revoked or expired token).\n"
		   "# TYPE fincloud_auth_failures_total counter\n"
		   "fincloud_auth_failures_total %" PRIu64 "\n"
		   "# HELP fincloud_auth_rate_limited_total Requests refused "
		   "with 429: too many failed authentications from their "
		   "address.\n"
		   "# TYPE fincloud_auth_rate_limited_total counter\n"
		   "fincloud_auth_rate_limited_total %" PRIu64 "\n",
		   fails, limited);
	buf_printf(&b, "# HELP fincloud_heartbeats_total Agents' heartbeats "
		   "recorded by this controller, by pass: full (worked "
		   "through) or steady (the host's last word again: its "
		   "row, inventory and usage written, docs/controller.md "
		   "\"Steady hosts\").\n"
		   "# TYPE fincloud_heartbeats_total counter\n"
		   "fincloud_heartbeats_total{pass=\"full\"} %" PRIu64 "\n"
		   "fincloud_heartbeats_total{pass=\"steady\"} %" PRIu64 "\n",
		   hb_full, hb_steady);
	buf_puts(&b, "# HELP fincloud_http_requests_total Requests by route "
		     "and status class.\n"
		     "# TYPE fincloud_http_requests_total counter\n");
	pthread_mutex_lock(&ctrl->stats_lock);
	for (size_t r = 0; r < api_nroutes; r++)
		for (int k = 1; k < 6; k++)
			if (ctrl->stats[r].by_class[k])
				buf_printf(&b, "fincloud_http_requests_total{"
					       "route=\"%s\",code=\"%dxx\"} %"
					       PRIu64 "\n",
					   api_routes[r].name, k,
					   ctrl->stats[r].by_class[k]);
	route_counter(&b, ctrl, "fincloud_db_statements_total", "Statements "
		      "the requests of a route ran on the database (round "
		      "trips on PostgreSQL).", ROUTE_STATEMENTS);
	route_counter(&b, ctrl, "fincloud_db_statements_locked_total", "Of "
		      "fincloud_db_statements_total, those run holding the "
		      "controller lock (the rest: on the reader, ctrl.h).",
		      ROUTE_LOCKED_STATEMENTS);
	route_counter(&b, ctrl, "fincloud_lock_held_seconds_total", "Time the "
		      "requests of a route held the controller lock.",
		      ROUTE_LOCK_SECONDS);
	jobs_metrics(&ctrl->passes, &b);
	buf_puts(&b, "# HELP fincloud_http_request_duration_seconds Time to "
		     "answer a request, by route.\n"
		     "# TYPE fincloud_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r < api_nroutes; r++) {
		uint64_t cum = 0;
		struct ctrl_route_stats *rs = &ctrl->stats[r];

		for (int k = 0; k <= CTRL_LAT_BUCKETS; k++)
			cum += rs->lat[k];
		if (cum == 0)
			continue;
		cum = 0;
		for (int k = 0; k < CTRL_LAT_BUCKETS; k++) {
			cum += rs->lat[k];
			buf_printf(&b, "fincloud_http_request_duration_seconds_"
				       "bucket{route=\"%s\",le=\"%g\"} %" PRIu64
				       "\n",
				   api_routes[r].name, ctrl_lat_bounds[k], cum);
		}
		cum += rs->lat[CTRL_LAT_BUCKETS];
		buf_printf(&b, "fincloud_http_request_duration_seconds_bucket{"
			       "route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
			       "fincloud_http_request_duration_seconds_sum{"
			       "route=\"%s\"} %.6f\n"
			       "fincloud_http_request_duration_seconds_count{"
			       "route=\"%s\"} %" PRIu64 "\n",
			   api_routes[r].name, cum, api_routes[r].name,
			   rs->lat_sum, api_routes[r].name, cum);
	}
	pthread_mutex_unlock(&ctrl->stats_lock);
	c->text = buf_detach(&b);
	c->content_type = "text/plain; version=0.0.4";
	c->status = 200;
out:
	buf_free(&b);
}
