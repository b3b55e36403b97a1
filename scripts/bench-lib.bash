# Shared set-up of scripts/bench-*.sh (sourced, not run, with the
# benchmark's name): $work, a temporary directory removed on exit; $pids,
# the processes the benchmark starts, stopped by PID on exit; free_port;
# ctl_start to run a controller.
work=$(mktemp -d "/tmp/fcbench-${1:?usage: . bench-lib.bash NAME}.XXXXXX")
pids=()
bench_cleanup() {
	[ ${#pids[@]} -eq 0 ] || { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }
	rm -rf "$work"
}
trap bench_cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ctl_start BINARY DIR [FLAGS...]: run the controller BINARY on a free
# loopback port with its state in DIR/state and its log in
# DIR/controller.log, and wait until it answers; sets port, ctl_pid, URL,
# TOKEN (the admin token) and AUTH (its header).
ctl_start() {
	local bin=$1 d=$2
	shift 2
	mkdir -p "$d"
	# BENCH_PORT: the port again (a controller restarted under its clients)
	port=${BENCH_PORT:-$(free_port)}
	"$bin" --config /dev/null --state-dir "$d/state" --listen-port "$port" "$@" \
		>>"$d/controller.log" 2>&1 &
	ctl_pid=$!
	pids+=("$ctl_pid")
	URL=http://127.0.0.1:$port
	for _ in $(seq 100); do curl -sf "$URL/healthz" -o /dev/null && break; sleep 0.1; done
	TOKEN=$(cat "$d/state/admin.token")
	AUTH="Authorization: Bearer $TOKEN"
}
