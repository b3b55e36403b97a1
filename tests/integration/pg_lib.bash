# Shared helpers: a private PostgreSQL server for one test (sourced).
#
# pg_start makes a cluster in a new temporary directory with Debian's
# initdb and pg_ctl (FINCLOUD_PG_BIN, default /usr/lib/postgresql/15/bin),
# owned by and run as an unprivileged user (nobody, when the test runs as
# root), listening on a Unix socket in that directory only (no TCP).
# It sets PG_DIR, PG_PID and PG_URL (the controller's `database`). The
# server runs without fsync: the tests check behaviour, not durability
# across power cuts. pg_stop stops it by PID and removes the directory;
# the caller's EXIT trap calls it, so it runs on failure too.
# PG_SYNC=commit: each commit still reaches the kernel before the answer
# (synchronous_commit on), so that a server killed as in a crash loses
# nothing it acknowledged; PG_SYNC=fsync: fully durable (fsync on too),
# as a production server runs (scripts/bench-pg.sh).
pg_bin=${FINCLOUD_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR= PG_PID= PG_URL=

# as_pg CMD...: run CMD as the server's user
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

pg_start() {
	[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] ||
		{ echo "SKIP: PostgreSQL server missing ($pg_bin; scripts/deps.sh)"; exit 77; }
	command -v psql >/dev/null || { echo "SKIP: psql is missing (scripts/deps.sh)"; exit 77; }
	PG_DIR=$(mktemp -d /tmp/fctest-pg.XXXXXX) || return 1
	[ "$(id -u)" = 0 ] && chown nobody "$PG_DIR"
	if ! as_pg "$pg_bin/initdb" -D "$PG_DIR/data" -U fincloud --auth=trust \
		--locale=C -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		echo "# initdb failed:"; sed 's/^/# /' "$PG_DIR/initdb.log" | tail -20
		return 1
	fi
	pg_ctl start || return 1
	PG_URL="postgresql:///postgres?host=$PG_DIR&user=fincloud"
}

# pg_ctl start|restart: pg_ctl on the test's cluster (a restart is a fast
# shutdown: the sessions are cut; PG_STOP_MODE=immediate: the server
# quits at once, as in a crash, and recovers from its WAL); sets PG_PID
pg_ctl() {
	if ! as_pg "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 -m "${PG_STOP_MODE:-fast}" \
		-o "-k $PG_DIR -c listen_addresses='' $(pg_sync_opts) -c max_connections=${PG_MAX_CONN:-60}" \
		"$1" >/dev/null; then
		echo "# PostgreSQL did not $1:"; sed 's/^/# /' "$PG_DIR/server.log" | tail -20
		return 1
	fi
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
}
# the server's durability settings for PG_SYNC (see above)
pg_sync_opts() {
	case ${PG_SYNC:-} in
	fsync) echo "-c fsync=on -c synchronous_commit=on -c full_page_writes=on" ;;
	commit) echo "-c fsync=off -c synchronous_commit=on -c full_page_writes=off" ;;
	*) echo "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" ;;
	esac
}

# pg_stop: fast shutdown (SIGINT) of the server this test started, SIGKILL
# after 20 s, then its directory removed
pg_stop() {
	local i
	if [ -n "$PG_PID" ]; then
		kill -INT "$PG_PID" 2>/dev/null
		for i in $(seq 1 200); do
			kill -0 "$PG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$PG_PID" 2>/dev/null
		PG_PID=
	fi
	[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	PG_DIR=
}

# pg_sql SQL: run SQL, print the rows unaligned ('|' between columns)
pg_sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U fincloud -d postgres -c "$1"
}
