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

/* Room for the hosts of one network (a line is at most 34 bytes, and
 * AGENT_NET_MAX_HOSTS of them with this node's own ports). */
#define HOSTS_MAX (4 << 20)
#define PATH_LEN AGENT_DHCP_PATH_LEN
/* A server's log beyond this is emptied by the next pass. */
#define LOG_MAX (256 * 1024)
#define CMD_LEN AGENT_DHCP_CMD_LEN

/* Whether mac is one of nw's hosts. */
static bool listed(const struct agent_net_network *nw, const char *mac)
{
	for (size_t i = 0; i < nw->nhosts; i++)
		if (strcmp(nw->hosts[i].mac, mac) == 0)
			return true;
	return false;
}

int agent_dhcp_hosts(const struct agent_net_network *nw,
		     const struct agent_vm_spec *specs, size_t n,
		     struct buf *out)
{
	bool here = false;
	int rc = 0;
	char a[16];

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (specs[i].want == AGENT_WANT_DELETED)
			continue;
		for (size_t j = 0; rc == 0 && j < specs[i].nports; j++) {
			const struct agent_net_port *p = &specs[i].ports[j];

			if (strcmp(p->network, nw->name) != 0)
				continue;
			here = true;
			if (listed(nw, p->mac))
				continue;
			agent_net_addr_format(p->ip, a);
			rc = buf_printf(out, "%s,%s\n", p->mac, a);
		}
	}
	for (size_t i = 0; here && rc == 0 && i < nw->nhosts; i++) {
		agent_net_addr_format(nw->hosts[i].ip, a);
		rc = buf_printf(out, "%s,%s\n", nw->hosts[i].mac, a);
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
 * that took the number since), its command line (words joined by
 * spaces) into cmd. 0 when none. */
static pid_t server_pid(int64_t key, char cmd[CMD_LEN])
{
	char path[PATH_LEN], proc[48], want[PATH_LEN + 16];
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
	n = read(fd, cmd, CMD_LEN - 1);
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

/* Whether the namespace side of key's pair (inner in ns) has exactly
 * the address addr ("A.B.C.D/P"): 1, 0 when not (none, or another one
 * from a network that had the key before), -1 with err_set(). */
static int inner_addr_ok(const char *ns, const char *inner, const char *addr)
{
	struct buf out;
	char want[40];
	int ret = -1;

	buf_init(&out, 1 << 16);
	snprintf(want, sizeof(want), " inet %s ", addr);
	if (agent_netlink_run((char *const *)(const char *[]){"ip", "-n", ns,
			      "-o", "-4", "addr", "show", "dev", inner, NULL},
			      &out) < 0)
		goto out;
	/* one line per address: only addr, and only once */
	ret = strstr(buf_str(&out), want) != NULL &&
	      strchr(buf_str(&out), '\n') == buf_str(&out) + out.len - 1;
out:
	buf_free(&out);
	return ret;
}

/* key's namespace and veth pair, the bridge side in the bridge. Every
 * step is checked or done again each pass, so that a pair a failed pass
 * left half made (or one with the address of a network that had the
 * key before) is mended. */
static int server_links(const struct agent_net_network *nw)
{
	char ns[24], host[16], inner[16], br[16], path[64], mtu[8], addr[24];
	char a[16], alias[40];
	struct stat st;
	int ok;

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
	if (ip((const char *[]){"ip", "link", "show", "dev", host, NULL}) == 0 &&
	    ip((const char *[]){"ip", "-n", ns, "link", "show", "dev", inner,
				NULL}) < 0) {
		/* a bridge side without its peer in the namespace */
		if (ip((const char *[]){"ip", "link", "del", "dev", host,
					NULL}) < 0)
			return -1;
	}
	err_clear();
	if (ip((const char *[]){"ip", "link", "show", "dev", host, NULL}) < 0) {
		err_clear();
		if (ip((const char *[]){"ip", "link", "add", host, "mtu", mtu,
					"type", "veth", "peer", "name", inner,
					"mtu", mtu, "netns", ns, NULL}) < 0)
			return -1;
	}
	ok = inner_addr_ok(ns, inner, addr);
	if (ok < 0 ||
	    (ok == 0 &&
	     (ip((const char *[]){"ip", "-n", ns, "addr", "flush", "dev",
				  inner, NULL}) < 0 ||
	      ip((const char *[]){"ip", "-n", ns, "addr", "add", addr, "dev",
				  inner, NULL}) < 0)))
		return -1;
	/* again every pass: the bridge may have been made anew, the key
	 * taken by a network of another MTU */
	return ip((const char *[]){"ip", "-n", ns, "link", "set", "dev", inner,
				   "mtu", mtu, "up", NULL}) < 0 ||
	       ip((const char *[]){"ip", "-n", ns, "link", "set", "dev", "lo",
				   "up", NULL}) < 0 ||
	       ip((const char *[]){"ip", "link", "set", "dev", host, "mtu", mtu,
				   "alias", alias, "master", br, "up",
				   NULL}) < 0 ? -1 : 0;
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

void agent_dhcp_cmd(const struct agent_net_network *nw,
		    struct agent_dhcp_cmd *c)
{
	char path[PATH_LEN], net[16], mask[16], gw[16];
	uint32_t m = nw->dhcp_prefix ? ~0u << (32 - nw->dhcp_prefix) : 0;
	size_t n = 0;

	names(nw->vni, c->ns, c->host, c->inner);
	agent_net_addr_format(nw->dhcp_ip & m, net);
	agent_net_addr_format(m, mask);
	snprintf(c->range, sizeof(c->range), "--dhcp-range=%s,static,%s,1h",
		 net, mask);
	agent_net_addr_format(nw->dhcp_gateway, gw);
	snprintf(c->router, sizeof(c->router),
		 "--dhcp-option=option:router%s%s",
		 nw->dhcp_gateway ? "," : "", nw->dhcp_gateway ? gw : "");
	snprintf(c->mtu, sizeof(c->mtu), "--dhcp-option=option:mtu,%d",
		 nw->mtu);
	snprintf(c->iface, sizeof(c->iface), "--interface=%s", c->inner);
	file_path(nw->vni, "hosts", path);
	snprintf(c->hosts, sizeof(c->hosts), "--dhcp-hostsfile=%s", path);
	file_path(nw->vni, "pid", path);
	snprintf(c->pidf, sizeof(c->pidf), "--pid-file=%s", path);
	file_path(nw->vni, "log", path);
	snprintf(c->logf, sizeof(c->logf), "--log-facility=%s", path);
	/* no DNS (port 0, no DNS server option), no lease file: its
	 * leases are fixed; user nobody once its files are open. Each
	 * exchange is logged (DISCOVER, OFFER, REQUEST, ACK; not the
	 * options of --log-dhcp) */
	const char *words[] = {"ip", "netns", "exec", c->ns, "dnsmasq",
			       "--conf-file=/dev/null", "--port=0",
			       "--no-resolv", "--no-hosts", "--bind-interfaces",
			       c->iface, "--except-interface=lo", c->range,
			       c->hosts, c->router,
			       "--dhcp-option=option:dns-server", c->mtu,
			       "--leasefile-ro", c->logf, c->pidf,
			       "--user=nobody", NULL};
	for (size_t i = 0; words[i]; i++)
		c->argv[n++] = (char *)words[i];
	/* the only servers of an overlay, which know its every port: a
	 * guest asking for an address it does not have is told at once.
	 * Never on a provider segment, which other machines share. */
	if (nw->type == AGENT_NET_OVERLAY)
		c->argv[n++] = "--dhcp-authoritative";
	c->argv[n] = NULL;
}

bool agent_dhcp_cmd_same(const struct agent_dhcp_cmd *c, const char *cmd)
{
	char want[CMD_LEN];
	size_t off = 0;

	for (size_t i = 4; c->argv[i] && off < sizeof(want); i++)
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s ",
					c->argv[i]);
	return off < sizeof(want) && strcmp(cmd, want) == 0;
}

/* Start key's dnsmasq in its namespace. It forks into the background
 * once its sockets, pid file and log are open; what it says before that
 * goes to KEY.err. */
static int server_start(const struct agent_net_network *nw)
{
	struct agent_dhcp_cmd c;
	char errf[PATH_LEN];
	int status = 0, fd;
	pid_t pid;

	agent_dhcp_cmd(nw, &c);
	file_path(nw->vni, "err", errf);
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
		execvp(c.argv[0], c.argv);
		_exit(127);
	}
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return start_failed(nw, errf);
}

/* Stop dnsmasq pid, key's server (SIGTERM, then SIGKILL after 2 s). */
static void server_kill(int64_t key, pid_t pid)
{
	char ns[24], host[16], inner[16];

	names(key, ns, host, inner);
	kill(pid, SIGTERM);
	for (int i = 0; i < 40 && kill(pid, 0) == 0; i++)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	log_info("networks: DHCP server %s (pid %ld) stopped", ns, (long)pid);
}

/* Stop key's server and remove its namespace, links and files. */
static void server_stop(int64_t key)
{
	char ns[24], host[16], inner[16], path[PATH_LEN], cmd[CMD_LEN];
	static const char *const exts[] = {"pid", "hosts", "err", "log"};
	pid_t pid = server_pid(key, cmd);

	names(key, ns, host, inner);
	if (pid > 0)
		server_kill(key, pid);
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

/* Empty key's log when it grew beyond LOG_MAX (dnsmasq appends to it:
 * it writes on from its start), so that a guest asking again and again
 * cannot fill /run. */
static void log_cap(const struct agent_net_network *nw)
{
	char path[PATH_LEN];
	struct stat st;

	file_path(nw->vni, "log", path);
	if (stat(path, &st) < 0 || st.st_size <= LOG_MAX)
		return;
	if (truncate(path, 0) < 0)
		log_warn("networks: cannot empty the DHCP log '%s' of '%s': %s",
			 path, nw->name, strerror(errno));
	else
		log_info("networks: DHCP log '%s' of '%s' reached %lld KiB: "
			 "emptied", path, nw->name,
			 (long long)st.st_size / 1024);
}

/* Bring network nw's server to hosts (text, len bytes, not 0): its
 * links, its hosts file, and a dnsmasq started with nw's command line
 * (one started for a network that had the key before, with another
 * range, is started again). */
static int server_reconcile(const struct agent_net_network *nw,
			    const char *hosts, size_t len)
{
	char path[PATH_LEN], ns[24], host[16], inner[16], cmd[CMD_LEN];
	struct agent_dhcp_cmd c;
	bool changed;
	pid_t pid;

	log_cap(nw);
	file_path(nw->vni, "hosts", path);
	changed = !same_file(path, hosts, len);
	if ((changed && write_file(path, hosts, len) < 0) ||
	    server_links(nw) < 0)
		return err_prefix("network '%s' DHCP", nw->name);
	pid = server_pid(nw->vni, cmd);
	agent_dhcp_cmd(nw, &c);
	if (pid > 0 && !agent_dhcp_cmd_same(&c, cmd)) {
		log_info("networks: DHCP server of '%s' (pid %ld) runs with "
			 "another range or mode: starting it again", nw->name,
			 (long)pid);
		server_kill(nw->vni, pid);
		file_path(nw->vni, "pid", path);
		unlink(path);
		pid = 0;
	}
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
		 nw->name, (long)server_pid(nw->vni, cmd));
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
