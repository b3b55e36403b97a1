#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agents/agent_netlink.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"

#define OUT_MAX (8 << 20)

void agent_netlink_bridge_name(int64_t vni, char out[AGENT_NETLINK_IFNAME])
{
	snprintf(out, AGENT_NETLINK_IFNAME, "fcbr%" PRId64, vni);
}

void agent_netlink_vxlan_name(int64_t vni, char out[AGENT_NETLINK_IFNAME])
{
	snprintf(out, AGENT_NETLINK_IFNAME, "fcvx%" PRId64, vni);
}

static const struct agent_netlink_obs *find(const struct agent_netlink_obs *obs,
					    size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(obs[i].name, name) == 0)
			return &obs[i];
	return NULL;
}

static bool has_addr(const uint32_t *a, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == x)
			return true;
	return false;
}

/* The lines that set up (or fix) network nw. */
static void plan_network(struct buf *b, const struct agent_net_network *nw,
			 uint32_t local, const struct agent_netlink_obs *br,
			 const struct agent_netlink_obs *vx)
{
	char brn[AGENT_NETLINK_IFNAME], vxn[AGENT_NETLINK_IFNAME], a[16];
	const struct agent_net_peer *p;

	agent_netlink_bridge_name(nw->vni, brn);
	agent_netlink_vxlan_name(nw->vni, vxn);
	if (br == NULL)
		buf_printf(b, "ip link add %s type bridge\n"
			   "ip link set dev %s alias " AGENT_NETLINK_ALIAS
			   "%" PRId64 "\n", brn, brn, nw->vni);
	if (vx == NULL) {
		agent_net_addr_format(local, a);
		buf_printf(b, "ip link add %s type vxlan id %" PRId64 " local "
			   "%s dstport %d nolearning\n"
			   "ip link set dev %s alias " AGENT_NETLINK_ALIAS
			   "%" PRId64 "\n", vxn, nw->vni, a,
			   AGENT_NETLINK_PORT, vxn, nw->vni);
	}
	if (vx == NULL || vx->mtu != nw->mtu)
		buf_printf(b, "ip link set dev %s mtu %d\n", vxn, nw->mtu);
	if (br == NULL || br->mtu != nw->mtu)
		buf_printf(b, "ip link set dev %s mtu %d\n", brn, nw->mtu);
	if (vx == NULL || strcmp(vx->master, brn) != 0)
		buf_printf(b, "ip link set dev %s master %s\n", vxn, brn);
	if (br == NULL)
		buf_printf(b, "ip link set dev %s up\n", brn);
	if (vx == NULL)
		buf_printf(b, "ip link set dev %s up\n", vxn);
	for (size_t i = 0; i < nw->npeers; i++) {
		p = &nw->peers[i];
		if (p->addr == local ||
		    (vx && has_addr(vx->fdb, vx->nfdb, p->addr)))
			continue;
		agent_net_addr_format(p->addr, a);
		buf_printf(b, "bridge fdb append 00:00:00:00:00:00 dev %s dst "
			   "%s\n", vxn, a);
	}
	for (size_t i = 0; vx && i < vx->nfdb; i++) {
		bool wanted = false;

		for (size_t j = 0; j < nw->npeers; j++)
			if (nw->peers[j].addr == vx->fdb[i])
				wanted = true;
		if (wanted)
			continue;
		agent_net_addr_format(vx->fdb[i], a);
		buf_printf(b, "bridge fdb del 00:00:00:00:00:00 dev %s dst %s\n",
			   vxn, a);
	}
}

/* Why provider network nw cannot be set up with the observed links (its
 * bridge brn), into r; false when it can. */
static bool provider_refused(struct buf *r, const struct agent_net_network *nw,
			     const char *brn, const struct agent_netlink_obs *obs,
			     size_t nobs, const struct agent_netlink_obs **up)
{
	const struct agent_netlink_obs *parent = find(obs, nobs, nw->iface);
	char vname[AGENT_NETLINK_IFNAME];

	*up = parent;
	if (parent == NULL || !parent->other) {
		buf_printf(r, "network '%s': interface '%s' does not exist on "
			   "this node (its VMs are not placed here)\n",
			   nw->name, nw->iface);
		return true;
	}
	if (nw->type == AGENT_NET_VLAN) {
		snprintf(vname, sizeof(vname), "%s.%d", nw->iface, nw->vlan_id);
		*up = find(obs, nobs, vname);
		if (*up && !((*up)->vlan && (*up)->ours && (*up)->vni == nw->vni)) {
			buf_printf(r, "network '%s': %s exists and is not "
				   "fincloud's: rename or remove it\n",
				   nw->name, vname);
			return true;
		}
	}
	if (nw->type == AGENT_NET_FLAT && parent->addressed) {
		buf_printf(r, "network '%s': interface '%s' holds IP "
			   "addresses (the node's own traffic may use it): "
			   "a flat network needs an interface without "
			   "addresses, or make it a VLAN network\n",
			   nw->name, nw->iface);
		return true;
	}
	if (*up && (*up)->master[0] && strcmp((*up)->master, brn) != 0) {
		buf_printf(r, "network '%s': interface '%s' is in master '%s': "
			   "take it out of it, or use another interface\n",
			   nw->name, (*up)->name, (*up)->master);
		return true;
	}
	return false;
}

/* The lines that set up (or fix) provider network nw; up is its uplink
 * as observed (NULL: a VLAN link to create). */
static void plan_provider(struct buf *b, const struct agent_net_network *nw,
			  const struct agent_netlink_obs *br,
			  const struct agent_netlink_obs *up)
{
	char brn[AGENT_NETLINK_IFNAME], vname[AGENT_NETLINK_IFNAME];
	const char *upn = up ? up->name : vname;

	agent_netlink_bridge_name(nw->vni, brn);
	snprintf(vname, sizeof(vname), "%s.%d", nw->iface, nw->vlan_id);
	if (br == NULL)
		buf_printf(b, "ip link add %s type bridge\n"
			   "ip link set dev %s alias " AGENT_NETLINK_ALIAS
			   "%" PRId64 "\n", brn, brn, nw->vni);
	if (up == NULL)
		buf_printf(b, "ip link add link %s name %s type vlan id %d\n"
			   "ip link set dev %s alias " AGENT_NETLINK_VLAN_ALIAS
			   "%" PRId64 "\n", nw->iface, vname, nw->vlan_id,
			   vname, nw->vni);
	if (up == NULL || strcmp(up->master, brn) != 0)
		buf_printf(b, "ip link set dev %s master %s\n", upn, brn);
	if (br == NULL)
		buf_printf(b, "ip link set dev %s up\n", brn);
	if (up == NULL)
		buf_printf(b, "ip link set dev %s up\n", vname);
}

int agent_netlink_plan(const struct agent_net_network *nets, size_t nnets,
		       uint32_t local, const struct agent_netlink_obs *obs,
		       size_t nobs, char **out, char **refused)
{
	struct buf b, r;
	int ret = -1;

	buf_init(&b, OUT_MAX);
	buf_init(&r, OUT_MAX);
	*out = *refused = NULL;
	for (size_t i = 0; i < nnets; i++) {
		char brn[AGENT_NETLINK_IFNAME], vxn[AGENT_NETLINK_IFNAME];
		const struct agent_netlink_obs *br, *vx;

		agent_netlink_bridge_name(nets[i].vni, brn);
		agent_netlink_vxlan_name(nets[i].vni, vxn);
		br = find(obs, nobs, brn);
		vx = find(obs, nobs, vxn);
		if ((br && (!br->ours || br->vxlan || br->vlan)) ||
		    (vx && (!vx->ours || !vx->vxlan))) {
			buf_printf(&r, "network '%s' (VNI %" PRId64 "): %s "
				   "exists and is not fincloud's: rename or "
				   "remove it\n", nets[i].name, nets[i].vni,
				   br && (!br->ours || br->vxlan) ? brn : vxn);
			continue;
		}
		if (nets[i].type == AGENT_NET_OVERLAY) {
			plan_network(&b, &nets[i], local, br, vx);
		} else {
			const struct agent_netlink_obs *up;

			if (!provider_refused(&r, &nets[i], brn, obs, nobs, &up))
				plan_provider(&b, &nets[i], br, up);
		}
	}
	/* the agent's links of networks no longer wanted: the VXLAN device
	 * or VLAN link first, so that no frame leaves by it while the bridge
	 * goes (deleting the bridge releases a flat network's interface) */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nobs; i++) {
			bool wanted = false;

			if (!obs[i].ours ||
			    (obs[i].vxlan || obs[i].vlan) != (pass == 0))
				continue;
			for (size_t j = 0; j < nnets; j++)
				if (nets[j].vni == obs[i].vni)
					wanted = true;
			if (!wanted)
				buf_printf(&b, "ip link del dev %s\n",
					   obs[i].name);
		}
	}
	if (buf_puts(&b, "") < 0 || buf_puts(&r, "") < 0) {
		err_set("out of memory planning the networks");
		goto out;
	}
	*out = strdup(buf_str(&b));
	*refused = strdup(buf_str(&r));
	if (*out == NULL || *refused == NULL) {
		free(*out);
		free(*refused);
		*out = *refused = NULL;
		err_set("out of memory planning the networks");
		goto out;
	}
	ret = 0;
out:
	buf_free(&b);
	buf_free(&r);
	return ret;
}

int agent_netlink_run(char *const argv[], struct buf *out)
{
	int po[2], pe[2], status = 0, ret = -1;
	struct buf eb;
	char chunk[4096];
	pid_t pid;
	ssize_t r;

	buf_init(&eb, 4096);
	if (pipe(po) < 0)
		return err_set("pipe: %s", strerror(errno));
	if (pipe(pe) < 0) {
		close(po[0]);
		close(po[1]);
		return err_set("pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		err_set("fork: %s", strerror(errno));
		goto close_all;
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* ip and bridge write little: stdout first, then the few bytes of
	 * stderr the pipe holds */
	while ((r = read(po[0], chunk, sizeof(chunk))) > 0)
		if (out)
			buf_append(out, chunk, (size_t)r);
	while ((r = read(pe[0], chunk, sizeof(chunk))) > 0)
		buf_append(&eb, chunk, (size_t)r);
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ret = 0;
	} else {
		buf_puts(&eb, "");
		err_set("'%s %s %s ...' failed: %s", argv[0], argv[1],
			argv[2] ? argv[2] : "", buf_str(&eb));
	}
	buf_free(&eb);
	return ret;
close_all:
	close(po[0]);
	close(po[1]);
	close(pe[0]);
	close(pe[1]);
	return -1;
}

/* Run argv and parse its stdout as JSON into *root (the caller frees
 * it). 0, or -1 with err_set(). */
static int run_json(char *const argv[], const char *what, cJSON **root)
{
	struct buf b;
	int ret = -1;

	*root = NULL;
	buf_init(&b, OUT_MAX);
	if (agent_netlink_run(argv, &b) == 0 && buf_puts(&b, "") == 0 &&
	    json_parse(buf_str(&b), b.len, what, root) == 0)
		ret = 0;
	buf_free(&b);
	return ret;
}

static void obs_free(struct agent_netlink_obs *obs, size_t n)
{
	for (size_t i = 0; obs && i < n; i++)
		free(obs[i].fdb);
	free(obs);
}

/* The all-zero FDB destinations of VXLAN device o. */
static int observe_fdb(struct agent_netlink_obs *o)
{
	char *argv[] = {"bridge", "-j", "fdb", "show", "dev", o->name, NULL};
	cJSON *root = NULL, *it;
	int ret = -1;

	if (run_json(argv, "bridge fdb show", &root) < 0)
		goto out;
	o->fdb = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*o->fdb));
	if (o->fdb == NULL) {
		err_set("out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const char *mac = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "mac"));
		const char *dst = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "dst"));
		struct in_addr in;

		if (mac && dst && strcmp(mac, "00:00:00:00:00:00") == 0 &&
		    inet_pton(AF_INET, dst, &in) == 1)
			o->fdb[o->nfdb++] = ntohl(in.s_addr);
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

/* Whether an "addr_info" array of "ip -j addr show" holds an IPv4
 * address or an IPv6 one of global scope. */
static bool addressed(const cJSON *info)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, info) {
		const char *fam = cJSON_GetStringValue(
			cJSON_GetObjectItem(a, "family"));
		const char *scope = cJSON_GetStringValue(
			cJSON_GetObjectItem(a, "scope"));

		if (fam && (strcmp(fam, "inet") == 0 ||
			    (strcmp(fam, "inet6") == 0 && scope &&
			     strcmp(scope, "global") == 0)))
			return true;
	}
	return false;
}

/* The links with the agent's names into *obs. */
static int observe(struct agent_netlink_obs **obs, size_t *n)
{
	char *argv[] = {"ip", "-j", "-d", "addr", "show", NULL};
	cJSON *root = NULL, *it;
	int ret = -1;

	*obs = NULL;
	*n = 0;
	if (run_json(argv, "ip link show", &root) < 0)
		goto out;
	*obs = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(**obs));
	if (*obs == NULL) {
		err_set("out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "ifname"));
		const char *alias = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "ifalias"));
		const char *master = cJSON_GetStringValue(
			cJSON_GetObjectItem(it, "master"));
		struct agent_netlink_obs *o = &(*obs)[*n];
		char mine[64], *end = NULL;
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(
			cJSON_GetObjectItem(it, "linkinfo"), "info_kind"));

		if (name == NULL || strlen(name) >= AGENT_NETLINK_IFNAME)
			continue;
		memset(o, 0, sizeof(*o));
		str_copy(o->name, sizeof(o->name), name);
		str_copy(o->kind, sizeof(o->kind), kind ? kind : "");
		if (strncmp(name, "fcbr", 4) == 0 ||
		    strncmp(name, "fcvx", 4) == 0)
			o->vni = strtoll(name + 4, &end, 10);
		if (end == NULL || *end != '\0' || o->vni < 1) {
			/* another link: a VLAN link of the agent's is known by
			 * its alias */
			o->other = true;
			o->vni = 0;
			if (alias && strncmp(alias, AGENT_NETLINK_VLAN_ALIAS,
					     strlen(AGENT_NETLINK_VLAN_ALIAS)) ==
					     0) {
				o->vni = strtoll(alias +
						 strlen(AGENT_NETLINK_VLAN_ALIAS),
						 &end, 10);
				o->vlan = o->ours = *end == '\0' && o->vni > 0 &&
						    strcmp(o->kind, "vlan") == 0;
				o->other = !o->vlan;
			}
		} else {
			o->vxlan = name[2] == 'v';
			snprintf(mine, sizeof(mine), AGENT_NETLINK_ALIAS
				 "%" PRId64, o->vni);
			o->ours = alias && strcmp(alias, mine) == 0;
		}
		o->addressed = addressed(cJSON_GetObjectItem(it, "addr_info"));
		o->mtu = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "mtu"));
		str_copy(o->master, sizeof(o->master), master ? master : "");
		(*n)++;
		if (o->vxlan && o->ours && observe_fdb(o) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		obs_free(*obs, *n);
		*obs = NULL;
		*n = 0;
	}
	cJSON_Delete(root);
	return ret;
}

/* Run each line of plan, split at spaces (every word is a name, a number
 * or an address the agent made). */
static int run_plan(char *plan)
{
	char *line = plan, *next;
	int ret = 0;

	for (; line && *line; line = next) {
		char *argv[16], *p = line;
		int argc = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (p && *p && argc < 15) {
			argv[argc++] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		argv[argc] = NULL;
		if (agent_netlink_run(argv, NULL) < 0) {
			log_warn("networks: %s", err_msg());
			ret = -1;
		}
	}
	return ret;
}

cJSON *agent_netlink_free_ifaces(const struct agent_netlink_obs *obs,
				 size_t nobs)
{
	static const char *const skip[] = {"bridge", "vxlan", "tun", "tap",
					   "macvtap", "openvswitch"};
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < nobs; i++) {
		const struct agent_netlink_obs *o = &obs[i];

		if (!o->other || strcmp(o->name, "lo") == 0 ||
		    !agent_net_ifname_ok(o->name, 0) ||
		    str_index(skip, FC_ARRAY_LEN(skip), o->kind) >= 0 ||
		    strncmp(o->name, "vnet", 4) == 0 ||
		    (o->master[0] && strncmp(o->master, "fcbr", 4) != 0))
			continue;
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(o->name))) {
			cJSON_Delete(arr);
			arr = NULL;
		}
	}
	return arr;
}

bool agent_netlink_vlan_capable(void)
{
	static int capable = -1;
	char *add[] = {"ip", "link", "add", "fcvlprobe", "type", "veth", "peer",
		       "name", "fcvlprobe0", NULL};
	char *vlan[] = {"ip", "link", "add", "link", "fcvlprobe", "name",
			"fcvlprobe.1", "type", "vlan", "id", "1", NULL};
	char *del[] = {"ip", "link", "del", "dev", "fcvlprobe", NULL};

	if (capable >= 0)
		return capable;
	/* a probe pair an agent killed mid-probe left behind */
	agent_netlink_run(del, NULL);
	if (agent_netlink_run(add, NULL) < 0) {
		/* no answer (the probe pair could not be made): asked again
		 * next time, not cached */
		log_warn("networks: cannot probe 802.1Q support: %s", err_msg());
		err_clear();
		return false;
	}
	capable = agent_netlink_run(vlan, NULL) == 0;
	agent_netlink_run(del, NULL);
	err_clear();
	log_info("networks: 802.1Q VLAN links %s on this node", capable
		 ? "work" : "are not supported by the kernel (8021q): VLAN "
		 "provider networks cannot be set up here");
	return capable;
}

int agent_netlink_reconcile(const struct agent_net_network *nets,
			    size_t nnets, uint32_t local, cJSON **ifaces)
{
	struct agent_netlink_obs *obs = NULL;
	struct agent_net_network *can = NULL;
	char *plan = NULL, *refused = NULL;
	size_t nobs = 0, ncan = 0;
	struct buf why;
	int ret = -1;

	*ifaces = NULL;
	buf_init(&why, OUT_MAX);
	if (observe(&obs, &nobs) < 0)
		goto out;
	*ifaces = agent_netlink_free_ifaces(obs, nobs);
	/* without 802.1Q in the kernel, VLAN networks are refused */
	can = calloc(nnets + 1, sizeof(*can));
	if (can == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < nnets; i++) {
		if (nets[i].type == AGENT_NET_VLAN &&
		    !agent_netlink_vlan_capable())
			buf_printf(&why, "network '%s': this node's kernel has "
				   "no 802.1Q VLAN support (8021q)\n",
				   nets[i].name);
		else
			can[ncan++] = nets[i];
	}
	if (agent_netlink_plan(can, ncan, local, obs, nobs, &plan,
			       &refused) < 0)
		goto out;
	if (buf_puts(&why, refused) == 0) {
		free(refused);
		refused = strdup(buf_str(&why));
		if (refused == NULL) {
			err_set("out of memory");
			goto out;
		}
	}
	if (plan[0])
		log_info("networks: %zu wanted, applying:\n%s", nnets, plan);
	ret = run_plan(plan);
	if (ret < 0)
		err_set("networks: a command failed (see the log)");
	if (refused[0]) {
		log_error("networks: %s", refused);
		err_set("networks: %s", refused);
		ret = -1;
	}
out:
	obs_free(obs, nobs);
	free(can);
	free(plan);
	free(refused);
	buf_free(&why);
	return ret;
}

int agent_netlink_bridge_ready(int64_t vni)
{
	struct agent_netlink_obs *obs = NULL;
	const struct agent_netlink_obs *br;
	char name[AGENT_NETLINK_IFNAME];
	size_t nobs = 0;
	int ret = -1;

	agent_netlink_bridge_name(vni, name);
	if (observe(&obs, &nobs) < 0)
		goto out;
	br = find(obs, nobs, name);
	if (br && br->ours && !br->vxlan)
		ret = 0;
	else
		err_set("bridge %s (VNI %" PRId64 ") %s: its network is not "
			"set up on this node (the node reports why)", name,
			vni, br == NULL ? "is missing"
					: "exists and is not fincloud's");
out:
	obs_free(obs, nobs);
	return ret;
}

int agent_netlink_uri_addr(const char *uri, uint32_t *addr)
{
	const char *p = strstr(uri, "://");
	char host[16];
	struct in_addr in;
	size_t len;

	if (p == NULL)
		return err_set("migration URI '%.64s' names no host", uri);
	p += 3;
	len = strcspn(p, ":/");
	if (len == 0 || len >= sizeof(host))
		return err_set("migration URI '%.64s': its host is not an IPv4 "
			       "address", uri);
	memcpy(host, p, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &in) != 1)
		return err_set("migration URI '%.64s': its host is not an IPv4 "
			       "address (the VXLAN underlay needs one)", uri);
	*addr = ntohl(in.s_addr);
	return 0;
}
