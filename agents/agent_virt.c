/*
 * agent_virt.c - the core of agent_virt (agent_virt.h): libvirt's event
 * loop, the connection, inventory and statistics, and the domain
 * operations. The storage pool and disks are in agent_virt_volume.c, live
 * migration in agent_virt_migrate.c; the three share agent_virt_priv.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "agents/agent_domxml.h"
#include "agents/agent_hvtype.h"
#include "agents/agent_seed.h"
#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* ---- the event loop -------------------------------------------------- */

static pthread_t ev_thread;
static atomic_bool ev_quit;
static bool ev_started;

/* libvirt prints every error to stderr by default; the agent reports
 * errors itself, with context, through err_set(). */
static void virt_silent(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* See agent_virt_priv.h. */
const char *agent_virt_msg(void)
{
	static __thread char msg[1024];
	const char *m = virGetLastErrorMessage();

	str_copy(msg, sizeof(msg), m ? m : "unknown libvirt error");
	return msg;
}

static void *ev_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&ev_quit)) {
		if (virEventRunDefaultImpl() < 0) {
			log_warn("libvirt event loop: %s", agent_virt_msg());
			usleep(100000);
		}
	}
	return NULL;
}

int agent_virt_event_loop_start(void)
{
	if (ev_started)
		return 0;
	virSetErrorFunc(NULL, virt_silent);
	if (virInitialize() < 0)
		return err_set("cannot initialise libvirt: %s", agent_virt_msg());
	if (virEventRegisterDefaultImpl() < 0)
		return err_set("cannot set up the libvirt event loop: %s",
			       agent_virt_msg());
	atomic_store(&ev_quit, false);
	if (pthread_create(&ev_thread, NULL, ev_main, NULL) != 0)
		return err_set("cannot start the libvirt event thread");
	ev_started = true;
	return 0;
}

static void ev_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

void agent_virt_event_loop_stop(void)
{
	if (!ev_started)
		return;
	atomic_store(&ev_quit, true);
	/* A due timer makes virEventRunDefaultImpl() return. Without one
	 * the thread may sleep in poll() for ever: leave it, do not join. */
	if (virEventAddTimeout(0, ev_wake, NULL, NULL) < 0) {
		log_warn("libvirt event loop not stopped: %s", agent_virt_msg());
		virResetLastError();
		pthread_detach(ev_thread);
	} else {
		pthread_join(ev_thread, NULL);
	}
	ev_started = false;
}

/* ---- connection ------------------------------------------------------ */

struct agent_virt *agent_virt_new(const char *uri, const char *storage_dir,
				  const char *image_dir)
{
	struct agent_virt *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		err_set("out of memory");
		return NULL;
	}
	v->uri = strdup(uri);
	v->storage_dir = strdup(storage_dir);
	v->image_dir = strdup(image_dir);
	v->event_id = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->conn_lock, NULL);
	if (!v->uri || !v->storage_dir || !v->image_dir) {
		agent_virt_free(v);
		err_set("out of memory");
		return NULL;
	}
	return v;
}

void agent_virt_free(struct agent_virt *v)
{
	if (v == NULL)
		return;
	agent_virt_disconnect(v);
	free(v->uri);
	free(v->storage_dir);
	free(v->image_dir);
	free(v->samples);
	free(v->pool_name);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->conn_lock);
	free(v);
}

void agent_virt_set_event_cb(struct agent_virt *v, agent_virt_event_fn fn,
			     void *opaque)
{
	v->event_fn = fn;
	v->event_opaque = opaque;
}

const char *agent_virt_type(const struct agent_virt *v)
{
	return v->virt_type;
}

const char *agent_virt_type_reason(const struct agent_virt *v)
{
	return v->virt_type_reason;
}

int agent_virt_set_virt_type(struct agent_virt *v, const char *setting)
{
	if (agent_hvtype_setting_check(setting) < 0)
		return -1;
	str_copy(v->virt_setting, sizeof(v->virt_setting), setting);
	return 0;
}

/* Decide the domain type of guests (agent_hvtype.h) for this
 * connection; logged when it changes, with why. */
static void virt_type_decide(struct agent_virt *v)
{
	struct agent_hvtype_facts f;
	struct agent_hvtype_verdict hv;

	if (v->test_driver) {
		str_copy(hv.type, sizeof(hv.type), "test");
		str_copy(hv.reason, sizeof(hv.reason), "libvirt test driver");
	} else {
		agent_hvtype_facts("/", &f);
		/* the setting was checked when it was set */
		agent_hvtype_judge(&f, v->virt_setting[0] ? v->virt_setting
							  : "auto",
				   &hv);
	}
	if (strcmp(hv.type, v->virt_type) != 0 ||
	    strcmp(hv.reason, v->virt_type_reason) != 0)
		log_info("libvirt '%s': guests run as domain type '%s': %s",
			 v->uri, hv.type, hv.reason);
	str_copy(v->virt_type, sizeof(v->virt_type), hv.type);
	str_copy(v->virt_type_reason, sizeof(v->virt_type_reason), hv.reason);
}

static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
	struct agent_virt *v = opaque;

	(void)conn;
	(void)reason;
	atomic_store(&v->dead, true);
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct agent_virt *v = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN];
	const char *name, *reason = "unknown";
	int state;

	(void)conn;
	switch (event) {
	case VIR_DOMAIN_EVENT_UNDEFINED:
		state = AGENT_DOM_SHUTOFF;
		reason = "undefined";
		break;
	case VIR_DOMAIN_EVENT_STARTED:
		state = AGENT_DOM_RUNNING;
		reason = detail == VIR_DOMAIN_EVENT_STARTED_BOOTED ? "booted"
			 : detail == VIR_DOMAIN_EVENT_STARTED_MIGRATED
				 ? "migrated"
				 : "started";
		break;
	case VIR_DOMAIN_EVENT_SUSPENDED:
		state = AGENT_DOM_PAUSED;
		reason = "paused";
		break;
	case VIR_DOMAIN_EVENT_RESUMED:
		state = AGENT_DOM_RUNNING;
		reason = "resumed";
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		state = AGENT_DOM_SHUTOFF;
		switch (detail) {
		case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
			reason = "shutdown";
			break;
		case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
			reason = "destroyed";
			break;
		case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
			reason = "crashed";
			break;
		case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
			reason = "migrated";
			break;
		case VIR_DOMAIN_EVENT_STOPPED_SAVED:
			reason = "saved";
			break;
		case VIR_DOMAIN_EVENT_STOPPED_FAILED:
			reason = "failed";
			break;
		default:
			break;
		}
		break;
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		state = AGENT_DOM_PMSUSPENDED;
		reason = "paused";
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		state = AGENT_DOM_CRASHED;
		reason = "crashed";
		break;
	default:
		return 0; /* defined, guest shutting down: no state change */
	}
	if (v->event_fn == NULL || virDomainGetUUIDString(dom, uuid) < 0)
		return 0;
	name = virDomainGetName(dom);
	v->event_fn(v->event_opaque, uuid, name ? name : "", state, reason);
	return 0;
}

/* /etc/machine-id into buf, or "" when it is missing or malformed (32
 * hex digits): the machine's identity when libvirt has no host UUID
 * (the test driver). See docs/decisions.md. */
static void machine_id_file(char *buf, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	const char *id;

	buf[0] = '\0';
	if (file_read_all("/etc/machine-id", 128, &text, &len) < 0) {
		err_clear();
		return;
	}
	id = str_trim(text);
	if (strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
		str_copy(buf, size, id);
	free(text);
}

int agent_virt_connect(struct agent_virt *v)
{
	virConnectPtr conn;
	const char *type;
	char *caps;

	if (v->conn && !atomic_load(&v->dead))
		return 0;
	agent_virt_disconnect(v);
	atomic_store(&v->dead, false);
	conn = virConnectOpen(v->uri);
	if (conn == NULL)
		return err_set("libvirt: cannot connect to '%s': %s", v->uri,
			       agent_virt_msg());
	pthread_mutex_lock(&v->conn_lock);
	v->conn = conn;
	pthread_mutex_unlock(&v->conn_lock);
	type = virConnectGetType(v->conn);
	v->test_driver = type && strcasecmp(type, "TEST") == 0;
	virt_type_decide(v);
	/* Keepalive makes a dead libvirtd visible within ~20 s even when
	 * the agent is idle; local drivers (test) do not support it. */
	virConnectSetKeepAlive(v->conn, 5, 3);
	virResetLastError();
	virConnectRegisterCloseCallback(v->conn, close_cb, v, NULL);
	v->event_id = virConnectDomainEventRegisterAny(
		v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), v, NULL);
	if (v->event_id < 0)
		log_warn("libvirt '%s': no domain events (%s); state changes "
			 "are seen at the next pass",
			 v->uri, agent_virt_msg());
	v->cpu_model[0] = '\0';
	v->machine_id[0] = '\0';
	caps = virConnectGetCapabilities(v->conn);
	if (caps) {
		agent_xml_xpath_text(caps, "/capabilities/host/cpu/model",
				     v->cpu_model, sizeof(v->cpu_model));
		agent_xml_xpath_text(caps, "/capabilities/host/uuid",
				     v->machine_id, sizeof(v->machine_id));
		free(caps);
	}
	if (v->machine_id[0] == '\0')
		machine_id_file(v->machine_id, sizeof(v->machine_id));
	if (agent_virt_pool_ensure(v) < 0) {
		err_prefix("libvirt '%s'", v->uri);
		agent_virt_disconnect(v);
		return -1;
	}
	log_info("connected to libvirt '%s' (%s)", v->uri, v->virt_type);
	return 0;
}

bool agent_virt_alive(struct agent_virt *v)
{
	if (v->conn == NULL || atomic_load(&v->dead))
		return false;
	return virConnectIsAlive(v->conn) == 1;
}

void agent_virt_disconnect(struct agent_virt *v)
{
	virConnectPtr conn = v->conn;

	if (conn == NULL)
		return;
	pthread_mutex_lock(&v->conn_lock);
	v->conn = NULL;
	pthread_mutex_unlock(&v->conn_lock);
	if (v->event_id >= 0)
		virConnectDomainEventDeregisterAny(conn, v->event_id);
	v->event_id = -1;
	virConnectUnregisterCloseCallback(conn, close_cb);
	/* Another thread's reference (conn_ref()) keeps it usable until
	 * that thread closes it too. */
	virConnectClose(conn);
	virResetLastError();
}

static int need_conn(struct agent_virt *v)
{
	if (v->conn == NULL)
		return err_set("libvirt '%s' is not connected", v->uri);
	return 0;
}

/* A reference to the connection, for any thread; the caller releases it
 * with virConnectClose(). NULL with an error when not connected. */
static virConnectPtr conn_ref(struct agent_virt *v)
{
	virConnectPtr conn;

	pthread_mutex_lock(&v->conn_lock);
	conn = v->conn;
	if (conn && virConnectRef(conn) < 0)
		conn = NULL;
	pthread_mutex_unlock(&v->conn_lock);
	if (conn == NULL)
		err_set("libvirt '%s' is not connected", v->uri);
	return conn;
}

/* ---- inventory and statistics ---------------------------------------- */


int agent_virt_inventory(struct agent_virt *v, struct agent_inventory *inv)
{
	virNodeInfo ni;
	unsigned long long freemem;
	unsigned long ver = 0;

	memset(inv, 0, sizeof(*inv));
	if (need_conn(v) < 0)
		return -1;
	if (virNodeGetInfo(v->conn, &ni) < 0)
		return err_set("libvirt '%s': cannot read node info: %s",
			       v->uri, agent_virt_msg());
	inv->vcpus = ni.cpus;
	inv->mem_mib = (int64_t)(ni.memory / 1024);
	freemem = virNodeGetFreeMemory(v->conn);
	if (freemem == 0) {
		virResetLastError();
		inv->mem_free_mib = inv->mem_mib;
	} else {
		inv->mem_free_mib = (int64_t)(freemem >> 20);
	}
	if (v->test_driver) {
		virStoragePoolPtr *pools = NULL;
		int n = virConnectListAllStoragePools(
			v->conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
		virStoragePoolInfo pi;

		for (int i = 0; i < n; i++) {
			if (i == 0 && virStoragePoolGetInfo(pools[i], &pi) == 0) {
				inv->disk_gib = (int64_t)(pi.capacity >> 30);
				inv->disk_free_gib =
					(int64_t)(pi.available >> 30);
			}
			virStoragePoolFree(pools[i]);
		}
		free(pools);
		virResetLastError();
	} else {
		struct statvfs sv;

		if (statvfs(v->storage_dir, &sv) == 0) {
			inv->disk_gib = (int64_t)(((uint64_t)sv.f_blocks *
						   sv.f_frsize) >> 30);
			inv->disk_free_gib = (int64_t)(((uint64_t)sv.f_bavail *
							sv.f_frsize) >> 30);
		}
	}
	str_copy(inv->cpu_model, sizeof(inv->cpu_model), v->cpu_model);
	str_copy(inv->virt_type, sizeof(inv->virt_type), v->virt_type);
	str_copy(inv->virt_type_reason, sizeof(inv->virt_type_reason),
		 v->virt_type_reason);
	str_copy(inv->machine_id, sizeof(inv->machine_id), v->machine_id);
	if (virConnectGetLibVersion(v->conn, &ver) == 0)
		snprintf(inv->libvirt_version, sizeof(inv->libvirt_version),
			 "%lu.%lu.%lu", ver / 1000000, (ver / 1000) % 1000,
			 ver % 1000);
	return 0;
}

/* The fincloud metadata of dom; false for a foreign domain. */
static bool domain_managed(virDomainPtr dom, char *tenant, size_t size)
{
	char id[64], group[NAME_MAX_LEN + 1];
	char *md = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
					AGENT_XMLNS, VIR_DOMAIN_AFFECT_CURRENT);
	bool ok;

	if (tenant)
		tenant[0] = '\0';
	if (md == NULL) {
		virResetLastError();
		return false;
	}
	ok = agent_domxml_parse_metadata(md, id, sizeof(id),
					 tenant ? tenant : group,
					 tenant ? size : sizeof(group), group,
					 sizeof(group)) == 0;
	free(md);
	return ok;
}

static void fill_domain(virDomainPtr dom, virTypedParameterPtr params,
			int nparams, struct agent_domain *d)
{
	virDomainInfo info;
	unsigned long long ull;

	memset(d, 0, sizeof(*d));
	virDomainGetUUIDString(dom, d->uuid);
	str_copy(d->name, sizeof(d->name), virDomainGetName(dom));
	d->managed = domain_managed(dom, d->tenant, sizeof(d->tenant));
	if (virDomainGetInfo(dom, &info) == 0) {
		d->state = info.state;
		d->vcpus = info.nrVirtCpu;
		d->mem_mib = (int64_t)(info.maxMem / 1024);
		d->balloon_mib = (int64_t)(info.memory / 1024);
		d->cpu_time_ns = info.cpuTime;
	} else {
		virResetLastError();
	}
	if (params == NULL)
		return;
	if (virTypedParamsGetULLong(params, nparams, "balloon.current", &ull) ==
	    1)
		d->balloon_mib = (int64_t)(ull / 1024);
	if (virTypedParamsGetULLong(params, nparams, "cpu.time", &ull) == 1)
		d->cpu_time_ns = ull;
	for (int i = 0; i < nparams; i++) {
		const char *f = params[i].field;
		size_t len = strlen(f);

		if (str_startswith(f, "block.") && len > 11 &&
		    strcmp(f + len - 11, ".allocation") == 0 &&
		    params[i].type == VIR_TYPED_PARAM_ULLONG)
			d->disk_alloc_bytes += params[i].value.ul;
	}
}

/* CPU % from the CPU time used since the previous list. */
static void cpu_percent(struct agent_virt *v, struct agent_domain *d,
			size_t n)
{
	struct agent_virt_cpu_sample *next = calloc(n ? n : 1, sizeof(*next));
	uint64_t now = time_mono_ns();

	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v->nsamples; j++) {
			struct agent_virt_cpu_sample *s = &v->samples[j];

			if (strcmp(s->uuid, d[i].uuid) != 0)
				continue;
			if (now > s->t_ns && d[i].cpu_time_ns >= s->cpu_ns)
				d[i].cpu_pct = 100.0 *
					       (double)(d[i].cpu_time_ns -
							s->cpu_ns) /
					       (double)(now - s->t_ns);
			break;
		}
		if (next) {
			memcpy(next[i].uuid, d[i].uuid, sizeof(next[i].uuid));
			next[i].cpu_ns = d[i].cpu_time_ns;
			next[i].t_ns = now;
		}
	}
	if (next) {
		free(v->samples);
		v->samples = next;
		v->nsamples = n;
	}
	pthread_mutex_unlock(&v->lock);
}

int agent_virt_list(struct agent_virt *v, struct agent_domain **out,
		    size_t *nout)
{
	virDomainStatsRecordPtr *recs = NULL;
	virDomainPtr *doms = NULL;
	struct agent_domain *d = NULL;
	int n;

	*out = NULL;
	*nout = 0;
	if (need_conn(v) < 0)
		return -1;
	n = virConnectGetAllDomainStats(v->conn,
					VIR_DOMAIN_STATS_STATE |
						VIR_DOMAIN_STATS_CPU_TOTAL |
						VIR_DOMAIN_STATS_BALLOON |
						VIR_DOMAIN_STATS_BLOCK,
					&recs,
					/* never wait for a domain that is
					 * busy (migrating, starting): its
					 * figures come at the next pass */
					VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
	if (n >= 0) {
		d = calloc(n ? (size_t)n : 1, sizeof(*d));
		for (int i = 0; d && i < n; i++)
			fill_domain(recs[i]->dom, recs[i]->params,
				    recs[i]->nparams, &d[i]);
		virDomainStatsRecordListFree(recs);
	} else {
		/* Drivers without bulk stats (older test drivers). */
		virResetLastError();
		n = virConnectListAllDomains(v->conn, &doms, 0);
		if (n < 0)
			return err_set("libvirt '%s': cannot list domains: %s",
				       v->uri, agent_virt_msg());
		d = calloc(n ? (size_t)n : 1, sizeof(*d));
		for (int i = 0; i < n; i++) {
			if (d)
				fill_domain(doms[i], NULL, 0, &d[i]);
			virDomainFree(doms[i]);
		}
		free(doms);
	}
	if (d == NULL)
		return err_set("out of memory");
	cpu_percent(v, d, (size_t)n);
	*out = d;
	*nout = (size_t)n;
	return 0;
}

/* ---- operations ------------------------------------------------------ */

/* See agent_virt_priv.h. */
virDomainPtr agent_virt_lookup_managed(struct agent_virt *v, const char *uuid,
				       bool *missing)
{
	virConnectPtr conn = conn_ref(v);
	virDomainPtr dom;

	*missing = false;
	if (conn == NULL)
		return NULL;
	dom = virDomainLookupByUUIDString(conn, uuid);
	if (dom == NULL) {
		virErrorPtr e = virGetLastError();

		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			*missing = true;
			err_set("vm %s: no such domain on this node", uuid);
		} else {
			err_set("vm %s: libvirt lookup failed: %s", uuid,
				agent_virt_msg());
		}
		/* Only now: virConnectClose() resets the error too. */
		virConnectClose(conn);
		virResetLastError();
		return NULL;
	}
	/* The domain holds its own reference to the connection. */
	virConnectClose(conn);
	if (!domain_managed(dom, NULL, 0)) {
		const char *name = virDomainGetName(dom);

		err_set("domain '%s' (%s) has no fincloud metadata: the agent "
			"does not touch foreign domains",
			name ? name : "?", uuid);
		virDomainFree(dom);
		return NULL;
	}
	return dom;
}

int agent_virt_managed(struct agent_virt *v, const char *uuid)
{
	virConnectPtr conn = conn_ref(v);
	virDomainPtr dom;
	bool managed;

	if (conn == NULL)
		return -1;
	dom = virDomainLookupByUUIDString(conn, uuid);
	if (dom == NULL) {
		virErrorPtr e = virGetLastError();
		int ret = e && e->code == VIR_ERR_NO_DOMAIN ? 0 : -1;

		if (ret < 0)
			err_set("vm %s: libvirt lookup failed: %s", uuid,
				agent_virt_msg());
		virConnectClose(conn); /* resets the error: only now */
		virResetLastError();
		return ret;
	}
	virConnectClose(conn);
	managed = domain_managed(dom, NULL, 0);
	virDomainFree(dom);
	return managed ? 1 : 0;
}


int agent_virt_prepare(struct agent_virt *v, const struct agent_vm_spec *spec)
{
	char disk[PATH_MAX], seed[PATH_MAX];

	if (v->test_driver)
		return 0; /* it makes no disks */
	/* an RBD disk (agent_rbd.h) is shared: nothing to make for it */
	if (agent_virt_disk_path(v, spec->vm_id, disk, sizeof(disk)) < 0 ||
	    agent_virt_seed_path(v, spec->vm_id, seed, sizeof(seed)) < 0 ||
	    (!spec->rbd_pool[0] && agent_virt_disk_create(v, spec, disk) < 0))
		return -1;
	if (spec->seed && access(seed, F_OK) != 0 &&
	    agent_seed_write(spec->seed, seed) < 0)
		return -1;
	return 0;
}

int agent_virt_create(struct agent_virt *v, const struct agent_vm_spec *spec,
		      bool start)
{
	struct agent_domxml_params p = {0};
	char disk[PATH_MAX], console[PATH_MAX], seed[PATH_MAX];
	virDomainPtr dom;
	char *xml = NULL;
	bool missing;
	int ret = -1;

	dom = agent_virt_lookup_managed(v, spec->vm_id, &missing);
	if (dom == NULL && !missing)
		return err_prefix("vm '%s'", spec->name);
	if (dom == NULL) {
		if (agent_virt_disk_path(v, spec->vm_id, disk, sizeof(disk)) <
			    0 ||
		    agent_virt_console_path(v, spec->vm_id, console, sizeof(console)) < 0)
			return -1;
		p.virt_type = v->virt_type;
		p.disk_path = disk;
		p.console_log = console;
		if (spec->seed &&
		    agent_virt_seed_path(v, spec->vm_id, seed, sizeof(seed)) < 0)
			return -1;
		p.seed_iso = spec->seed ? seed : NULL;
		if (agent_domxml_build(spec, &p, &xml) < 0)
			return -1;
		/* Never hand libvirt a definition that fails its schema. */
		if (agent_domxml_validate(xml) < 0) {
			err_prefix("vm '%s'", spec->name);
			goto out;
		}
		if (!v->test_driver && !spec->rbd_pool[0] &&
		    agent_virt_disk_create(v, spec, disk) < 0)
			goto out;
		if (!v->test_driver && spec->seed &&
		    agent_seed_write(spec->seed, seed) < 0)
			goto out;
		/* No VIR_DOMAIN_DEFINE_VALIDATE: the XML passed the same
		 * domain.rng above, and libvirtd would parse that schema
		 * again for every define. */
		dom = virDomainDefineXML(v->conn, xml);
		if (dom == NULL) {
			err_set("vm '%s': libvirt refused the definition: %s",
				spec->name, agent_virt_msg());
			goto out;
		}
		log_info("vm '%s' (%s): defined", spec->name, spec->vm_id);
	}
	if (start && virDomainIsActive(dom) != 1) {
		if (virDomainCreate(dom) < 0) {
			err_set("vm '%s': cannot start: %s", spec->name,
				agent_virt_msg());
			goto out;
		}
		log_info("vm '%s' (%s): started", spec->name, spec->vm_id);
	}
	ret = 0;
out:
	virResetLastError();
	if (dom)
		virDomainFree(dom);
	free(xml);
	return ret;
}

/* Run op on the managed domain uuid; what names it in messages. */
static int domain_op(struct agent_virt *v, const char *uuid, const char *what,
		     int (*op)(virDomainPtr dom))
{
	bool missing;
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	char name[256];
	int ret = 0;

	if (dom == NULL)
		return -1;
	str_copy(name, sizeof(name), virDomainGetName(dom));
	if (op(dom) < 0) {
		const char *why = agent_virt_msg();

		err_set("vm '%s' (%s): cannot %s: %s", name, uuid, what, why);
		ret = -1;
	} else {
		log_info("vm '%s' (%s): %s", name, uuid, what);
	}
	virResetLastError();
	virDomainFree(dom);
	return ret;
}

static int op_start(virDomainPtr dom)
{
	return virDomainIsActive(dom) == 1 ? 0 : virDomainCreate(dom);
}

static int op_resume(virDomainPtr dom)
{
	virDomainInfo info;

	if (virDomainGetInfo(dom, &info) == 0 &&
	    info.state != VIR_DOMAIN_PAUSED)
		return 0;
	return virDomainResume(dom);
}

static int op_shutdown(virDomainPtr dom)
{
	if (virDomainIsActive(dom) != 1)
		return 0;
	if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) ==
	    0)
		return 0;
	/* Drivers without a choice of method (test) take the default. */
	if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG &&
	    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
		return -1;
	return virDomainShutdown(dom);
}

static int op_destroy(virDomainPtr dom)
{
	return virDomainIsActive(dom) == 1 ? virDomainDestroy(dom) : 0;
}

static int op_reboot(virDomainPtr dom)
{
	/* libvirt itself refuses a domain that is not running. */
	if (virDomainReboot(dom, VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) == 0)
		return 0;
	if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG &&
	    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
		return -1;
	return virDomainReboot(dom, 0);
}

int agent_virt_start(struct agent_virt *v, const char *uuid)
{
	return domain_op(v, uuid, "start", op_start);
}

int agent_virt_resume(struct agent_virt *v, const char *uuid)
{
	return domain_op(v, uuid, "resume", op_resume);
}

int agent_virt_shutdown(struct agent_virt *v, const char *uuid)
{
	return domain_op(v, uuid, "shut down (ACPI)", op_shutdown);
}

int agent_virt_destroy(struct agent_virt *v, const char *uuid)
{
	return domain_op(v, uuid, "destroy", op_destroy);
}

int agent_virt_reboot(struct agent_virt *v, const char *uuid)
{
	return domain_op(v, uuid, "reboot", op_reboot);
}

int agent_virt_fence_destroy(struct agent_virt *v, const char (*uuids)[37],
			     size_t n, size_t *failed)
{
	virConnectPtr conn;

	*failed = 0;
	if (v->test_driver) {
		/* one in-memory host per connection: only the shared one
		 * sees the agent's domains */
		for (size_t i = 0; i < n; i++)
			if (agent_virt_destroy(v, uuids[i]) < 0 &&
			    !strstr(err_msg(), "no such domain"))
				(*failed)++;
		return 0;
	}
	conn = virConnectOpen(v->uri);
	if (conn == NULL) {
		*failed = n;
		return err_set("libvirt '%s': cannot connect: %s", v->uri,
			       agent_virt_msg());
	}
	for (size_t i = 0; i < n; i++) {
		virDomainPtr dom = virDomainLookupByUUIDString(conn, uuids[i]);
		const char *name;

		if (dom == NULL) {
			if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
				log_warn("vm %s: libvirt lookup failed: %s",
					 uuids[i], agent_virt_msg());
				(*failed)++;
			}
			virResetLastError();
			continue;
		}
		name = virDomainGetName(dom);
		if (domain_managed(dom, NULL, 0) && virDomainIsActive(dom) == 1) {
			if (virDomainDestroy(dom) < 0) {
				log_warn("vm '%s' (%s): cannot destroy: %s", name,
					 uuids[i], agent_virt_msg());
				(*failed)++;
			} else {
				log_info("vm '%s' (%s): destroy", name, uuids[i]);
			}
		}
		virResetLastError();
		virDomainFree(dom);
	}
	virConnectClose(conn);
	return 0;
}

int agent_virt_undefine(struct agent_virt *v, const char *uuid)
{
	bool missing;
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	const char *name;
	int ret = -1;

	if (dom == NULL)
		return missing ? 0 : -1;
	name = virDomainGetName(dom);
	if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
		err_set("vm '%s' (%s): cannot destroy: %s", name, uuid,
			agent_virt_msg());
		goto out;
	}
	if (virDomainUndefineFlags(
		    dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
				 VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
				 VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
				 VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
	    ((virGetLastErrorCode() != VIR_ERR_INVALID_ARG &&
	      virGetLastErrorCode() != VIR_ERR_NO_SUPPORT) ||
	     virDomainUndefine(dom) < 0)) {
		err_set("vm '%s' (%s): cannot undefine: %s", name, uuid,
			agent_virt_msg());
		goto out;
	}
	log_info("vm '%s' (%s): undefined", name, uuid);
	ret = 0;
out:
	virResetLastError();
	virDomainFree(dom);
	return ret;
}

int agent_virt_delete(struct agent_virt *v, const char *uuid, bool wipe)
{
	if (agent_virt_undefine(v, uuid) < 0)
		return -1;
	/* Disks go even when the domain is already gone: an earlier pass
	 * may have stopped between undefine and removal. */
	if (!v->test_driver && agent_virt_files_remove(v, uuid, wipe) < 0)
		return -1;
	return 0;
}
