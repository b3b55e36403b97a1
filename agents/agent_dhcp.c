#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agents/agent_dhcp.h"
#include "agents/agent_netlink.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

/* Room for the hosts of one network (a line is at most 35 bytes). */
#define HOSTS_MAX (1 << 20)
#define PATH_LEN 96

int agent_dhcp_hosts(const struct agent_net_network *nw,
		     const struct agent_vm_spec *specs, size_t n,
		     struct buf *out)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (specs[i].want == AGENT_WANT_DELETED)
			continue;
		for (size_t j = 0; rc == 0 && j < specs[i].nports; j++) {
			const struct agent_net_port *p = &specs[i].ports[j];
			char a[16];

			if (strcmp(p->network, nw->name) != 0)
				continue;
			agent_net_addr_format(p->ip, a);
			rc = buf_printf(out, "%s,%s\n", p->mac, a);
		}
	}
	return rc < 0 ? err_set("network '%s': too many ports for its DHCP "
				"server's hosts", nw->name) : 0;
}

static void file_path(int64_t key, const char *ext, char out[PATH_LEN])
{
	snprintf(out, PATH_LEN, AGENT_DHCP_DIR "/%" PRId64 ".%s", key, ext);
}

/* The names of key's namespace, bridge-side and namespace-side links. */
static void names(int64_t key, char ns[24], char host[16], char inner[16])
{
	snprintf(ns, 24, AGENT_DHCP_NETNS "%" PRId64, key);
	snprintf(host, 16, "fcdh%" PRId64, key);
	snprintf(inner, 16, "fcdn%" PRId64, key);
}

/* Whether the file at path holds exactly text (len bytes). */
static bool same_file(const char *path, const char *text, size_t len)
{
	char buf[4096];
	size_t off = 0;
	ssize_t r;
	bool same = true;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (same && (r = read(fd, buf, sizeof(buf))) > 0) {
		same = off + (size_t)r <= len &&
		       memcmp(buf, text + off, (size_t)r) == 0;
		off += (size_t)r;
	}
	close(fd);
	return same && off == len;
}

/* text (len bytes) into path through path.tmp, mode 0644: dnsmasq reads
 * it as user nobody. 0, or -1 with err_set(). */
static int write_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_LEN + 8];
	int fd, ret = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set_errno(errno, "cannot write '%s'", tmp);
	if (write(fd, text, len) == (ssize_t)len && fchmod(fd, 0644) == 0 &&
	    close(fd) == 0) {
		fd = -1;
		if (rename(tmp, path) == 0)
			ret = 0;
	}
	if (ret < 0)
		err_set_errno(errno, "cannot write '%s'", path);
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* The pid of key's dnsmasq when it runs: the one of KEY.pid, if that
 * process is a dnsmasq started with that pid file (not another process
 * that took the number since). 0 when none. */
static pid_t server_pid(int64_t key)
{
	char path[PATH_LEN], proc[48], cmd[4096], want[PATH_LEN + 16];
	long pid = 0;
	ssize_t n;
	FILE *f;
	int fd;

	file_path(key, "pid", path);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 1 || pid > INT32_MAX)
		pid = 0;
	fclose(f);
	if (pid == 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/%ld/cmdline", pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	cmd[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	snprintf(want, sizeof(want), "--pid-file=%s", path);
	return strstr(cmd, want) ? (pid_t)pid : 0;
}

/* Run a command made of words; the first that fails ends it. */
static int ip(const char *const *words)
{
	return agent_netlink_run((char *const *)words, NULL);
}

/* key's namespace and veth pair, the bridge side in the bridge. */
static int server_links(const struct agent_net_network *nw)
{
	char ns[24], host[16], inner[16], br[16], path[64], mtu[8], addr[24];
	char a[16], alias[40];
	struct stat st;

	names(nw->vni, ns, host, inner);
	agent_netlink_bridge_name(nw->vni, br);
	snprintf(mtu, sizeof(mtu), "%d", nw->mtu);
	agent_net_addr_format(nw->dhcp_ip, a);
	snprintf(addr, sizeof(addr), "%s/%d", a, nw->dhcp_prefix);
	snprintf(alias, sizeof(alias), AGENT_DHCP_ALIAS "%" PRId64, nw->vni);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if (stat(path, &st) < 0 &&
	    ip((const char *[]){"ip", "netns", "add", ns, NULL}) < 0)
		return -1;
	if (ip((const char *[]){"ip", "link", "show", "dev", host, NULL}) < 0) {
		err_clear();
		if (ip((const char *[]){"ip", "link", "add", host, "mtu", mtu,
					"type", "veth", "peer", "name", inner,
					"mtu", mtu, "netns", ns, NULL}) < 0 ||
		    ip((const char *[]){"ip", "link", "set", "dev", host,
					"alias", alias, NULL}) < 0 ||
		    ip((const char *[]){"ip", "-n", ns, "addr", "add", addr,
					"dev", inner, NULL}) < 0 ||
		    ip((const char *[]){"ip", "-n", ns, "link", "set", "dev",
					inner, "up", NULL}) < 0 ||
		    ip((const char *[]){"ip", "-n", ns, "link", "set", "dev",
					"lo", "up", NULL}) < 0)
			return -1;
	}
	/* again every pass: the bridge may have been made anew */
	return ip((const char *[]){"ip", "link", "set", "dev", host, "master",
				   br, "up", NULL});
}

/* Why nw's dnsmasq did not start: the first line it wrote to errf. */
static int start_failed(const struct agent_net_network *nw, const char *errf)
{
	char msg[512] = "";
	FILE *f = fopen(errf, "re");

	if (f) {
		size_t n = fread(msg, 1, sizeof(msg) - 1, f);

		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		fclose(f);
	}
	return err_set("dnsmasq of network '%s' did not start: %s", nw->name,
		       msg[0] ? msg : "(no message)");
}

/* Start key's dnsmasq in its namespace. It forks into the background
 * once its sockets, pid file and log are open; what it says before that
 * goes to KEY.err. */
static int server_start(const struct agent_net_network *nw)
{
	char ns[24], host[16], inner[16], range[64], router[48], mtu[40];
	char hosts[PATH_LEN + 24], pidf[PATH_LEN + 16], logf[PATH_LEN + 16];
	char errf[PATH_LEN], iface[32], net[16], mask[16], gw[16];
	uint32_t m = nw->dhcp_prefix ? ~0u << (32 - nw->dhcp_prefix) : 0;
	int status = 0, fd;
	pid_t pid;

	names(nw->vni, ns, host, inner);
	agent_net_addr_format(nw->dhcp_ip & m, net);
	agent_net_addr_format(m, mask);
	snprintf(range, sizeof(range), "--dhcp-range=%s,static,%s,1h", net,
		 mask);
	agent_net_addr_format(nw->dhcp_gateway, gw);
	snprintf(router, sizeof(router), "--dhcp-option=option:router%s%s",
		 nw->dhcp_gateway ? "," : "", nw->dhcp_gateway ? gw : "");
	snprintf(mtu, sizeof(mtu), "--dhcp-option=option:mtu,%d", nw->mtu);
	snprintf(iface, sizeof(iface), "--interface=%s", inner);
	file_path(nw->vni, "hosts", errf);
	snprintf(hosts, sizeof(hosts), "--dhcp-hostsfile=%s", errf);
	file_path(nw->vni, "pid", errf);
	snprintf(pidf, sizeof(pidf), "--pid-file=%s", errf);
	file_path(nw->vni, "log", errf);
	snprintf(logf, sizeof(logf), "--log-facility=%s", errf);
	file_path(nw->vni, "err", errf);
	/* no DNS (port 0, no DNS server option), no lease file: its
	 * leases are fixed; user nobody once its files are open */
	char *argv[] = {"ip", "netns", "exec", ns, "dnsmasq",
			"--conf-file=/dev/null", "--port=0", "--no-resolv",
			"--no-hosts", "--bind-interfaces", iface,
			"--except-interface=lo", range, hosts, router,
			"--dhcp-option=option:dns-server", mtu,
			"--dhcp-authoritative", "--leasefile-ro", "--log-dhcp",
			logf, pidf, "--user=nobody", NULL};

	fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set_errno(errno, "cannot write '%s'", errf);
	pid = fork();
	if (pid < 0) {
		close(fd);
		return err_set_errno(errno, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		/* a daemon keeps nothing of the agent's open (a lock the
		 * agent's parent held, say) */
		close_range(3, ~0U, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return start_failed(nw, errf);
}

/* Stop key's server (SIGTERM, then SIGKILL after 2 s) and remove its
 * namespace, links and files (its log stays). */
static void server_stop(int64_t key)
{
	char ns[24], host[16], inner[16], path[PATH_LEN];
	static const char *const exts[] = {"pid", "hosts", "err"};
	pid_t pid = server_pid(key);

	names(key, ns, host, inner);
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 40 && kill(pid, 0) == 0; i++)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
		if (kill(pid, 0) == 0)
			kill(pid, SIGKILL);
		log_info("networks: DHCP server %s (pid %ld) stopped", ns,
			 (long)pid);
	}
	for (size_t i = 0; i < FC_ARRAY_LEN(exts); i++) {
		file_path(key, exts[i], path);
		unlink(path);
	}
	/* the namespace's end goes with its pair */
	if (ip((const char *[]){"ip", "link", "del", "dev", host, NULL}) < 0)
		err_clear();
	if (ip((const char *[]){"ip", "netns", "del", ns, NULL}) < 0)
		err_clear();
}

/* Bring network nw's server to hosts (text, len bytes; len 0: the
 * network has no port here and wants no server). */
static int server_reconcile(const struct agent_net_network *nw,
			    const char *hosts, size_t len)
{
	char path[PATH_LEN], ns[24], host[16], inner[16];
	bool changed;
	pid_t pid;

	file_path(nw->vni, "hosts", path);
	changed = !same_file(path, hosts, len);
	if ((changed && write_file(path, hosts, len) < 0) ||
	    server_links(nw) < 0)
		return err_prefix("network '%s' DHCP", nw->name);
	pid = server_pid(nw->vni);
	if (pid > 0) {
		if (changed && kill(pid, SIGHUP) < 0)
			return err_set_errno(errno, "network '%s' DHCP: "
					     "SIGHUP to dnsmasq %ld", nw->name,
					     (long)pid);
		return 0;
	}
	names(nw->vni, ns, host, inner);
	/* a pid file without its process: the server died */
	file_path(nw->vni, "pid", path);
	if (access(path, F_OK) == 0)
		log_warn("networks: DHCP server %s of '%s' is gone: starting "
			 "it again", ns, nw->name);
	if (server_start(nw) < 0)
		return -1;
	log_info("networks: DHCP server %s of '%s' started (pid %ld)", ns,
		 nw->name, (long)server_pid(nw->vni));
	return 0;
}

/* Whether key is in keys[0..n). */
static bool has_key(const int64_t *keys, size_t n, int64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i] == key)
			return true;
	return false;
}

/* Stop the servers of dir's entries (named PREFIX + KEY + SUFFIX) whose
 * key is not in keep[0..n). */
static void sweep(const char *dir, const char *prefix, const char *suffix,
		  const int64_t *keep, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		size_t pl = strlen(prefix);
		char *end;
		int64_t key;

		if (strncmp(e->d_name, prefix, pl) != 0)
			continue;
		key = strtoll(e->d_name + pl, &end, 10);
		if (key < 1 || strcmp(end, suffix) != 0 || has_key(keep, n, key))
			continue;
		server_stop(key);
	}
	if (d)
		closedir(d);
}

int agent_dhcp_reconcile(const struct agent_net_network *nets, size_t nnets,
			 const struct agent_vm_spec *specs, size_t nspecs)
{
	int64_t *keep = calloc(nnets + 1, sizeof(*keep));
	size_t nkeep = 0;
	struct buf hosts;
	int ret = 0;

	if (keep == NULL)
		return err_set("out of memory");
	if ((mkdir("/run/fincloud", 0755) < 0 && errno != EEXIST) ||
	    (mkdir(AGENT_DHCP_DIR, 0755) < 0 && errno != EEXIST)) {
		free(keep);
		return err_set_errno(errno, "cannot make " AGENT_DHCP_DIR);
	}
	buf_init(&hosts, HOSTS_MAX);
	for (size_t i = 0; i < nnets; i++) {
		if (nets[i].dhcp_ip == 0)
			continue;
		buf_reset(&hosts);
		if (agent_dhcp_hosts(&nets[i], specs, nspecs, &hosts) < 0) {
			ret = -1;
			continue;
		}
		if (hosts.len == 0)
			continue;
		keep[nkeep++] = nets[i].vni;
		if (server_reconcile(&nets[i], hosts.data, hosts.len) < 0) {
			log_warn("networks: %s", err_msg());
			ret = -1;
		}
	}
	buf_free(&hosts);
	/* the networks that left: their pid files, and namespaces left
	 * without one */
	sweep(AGENT_DHCP_DIR, "", ".pid", keep, nkeep);
	sweep("/run/netns", AGENT_DHCP_NETNS, "", keep, nkeep);
	free(keep);
	return ret < 0 ? err_set("networks: a DHCP server failed (see the "
				 "log)") : 0;
}

void agent_dhcp_stop_all(void)
{
	sweep(AGENT_DHCP_DIR, "", ".pid", NULL, 0);
	sweep("/run/netns", AGENT_DHCP_NETNS, "", NULL, 0);
}
