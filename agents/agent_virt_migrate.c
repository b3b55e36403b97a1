/*
 * agent_virt_migrate.c - live migration of a fincloud domain, the part of
 * agent_virt (agent_virt.h, agent_virt_priv.h) that the agent's task
 * threads call: peer to peer, persistent on the target, undefined here,
 * the local disk copied (only its top layer when it is backed by a base
 * image), auto-converge unless turned off. It blocks for the whole
 * migration; it takes no lock of its own (it works on its own reference
 * to the connection). Beside it a watcher thread follows the job: it
 * aborts the job at the time limit (virDomainAbortJob: the guest keeps
 * running here) and, when post-copy is allowed, switches to post-copy
 * once the first pre-copy pass is done, as `virsh migrate
 * --postcopy-after-precopy --timeout` does.
 */
#include <pthread.h>

#include <libvirt/virterror.h>
#include <libxml/uri.h>

#include "agents/agent_domxml.h"
#include "agents/agent_virt_priv.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* How often the watcher looks at the job. */
#define WATCH_PERIOD_NS (250 * 1000000ULL)

int agent_virt_migrate_plan(const struct agent_migrate_opts *o,
			    const char *target_uri, bool disk_backed,
			    bool disk_shared, struct agent_migrate_plan *p)
{
	xmlURIPtr u;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	p->flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER |
		   VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
	/* A local disk is copied, only its top layer when it is backed by a
	 * base image every node has; a shared (RBD) disk is not copied at
	 * all: the target opens the same image. */
	if (!disk_shared)
		p->flags |= disk_backed ? VIR_MIGRATE_NON_SHARED_INC
					: VIR_MIGRATE_NON_SHARED_DISK;
	if (o->auto_converge)
		p->flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (o->postcopy)
		p->flags |= VIR_MIGRATE_POSTCOPY;
	/* A target reached over qemu+tls gets the guest's memory and disk
	 * over TLS too (QEMU's migrate_tls_x509_cert_dir on both nodes):
	 * without a certificate of the CA the target cannot receive it. */
	if (strstr(target_uri, "+tls://"))
		p->flags |= VIR_MIGRATE_TLS;
	/* Migration data goes straight to the target's address, not to
	 * whatever its host name resolves to. */
	u = xmlParseURI(target_uri);
	if (u == NULL || u->scheme == NULL) {
		err_set("migration target '%s' is not a URI", target_uri);
		goto out;
	}
	/* An IPv6 address needs its brackets; libxml2 keeps them in
	 * server or not depending on its version. */
	if (u->server && u->server[0] &&
	    snprintf(p->data_uri, sizeof(p->data_uri),
		     strchr(u->server, ':') && u->server[0] != '['
			     ? "tcp://[%s]"
			     : "tcp://%s",
		     u->server) >= (int)sizeof(p->data_uri)) {
		err_set("migration target '%s': host name too long",
			target_uri);
		goto out;
	}
	ret = 0;
out:
	xmlFreeURI(u);
	return ret;
}

struct watch {
	virDomainPtr dom;       /* the watcher's own reference */
	const char *name;
	uint64_t deadline_ns;   /* time_mono_ns(); 0: no limit */
	bool postcopy;          /* switch after the first pass */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* signalled when done is set */
	bool done;              /* the migration call returned */
	bool aborted;           /* the watcher aborted the job */
	bool in_postcopy;       /* the watcher switched to post-copy */
};

/* The pre-copy pass the job is in (1 during the first), 0 when libvirt
 * does not say. */
static unsigned long long job_iteration(virDomainPtr dom)
{
	virTypedParameterPtr params = NULL;
	unsigned long long it = 0;
	int nparams = 0, type;

	if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) == 0) {
		if (virTypedParamsGetULLong(params, nparams,
					    VIR_DOMAIN_JOB_MEMORY_ITERATION,
					    &it) != 1)
			it = 0;
		virTypedParamsFree(params, nparams);
	}
	virResetLastError();
	return it;
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	bool switched = false;

	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		cond_wait_mono(&w->cond, &w->lock,
			       time_mono_ns() + WATCH_PERIOD_NS);
		if (w->done)
			break;
		pthread_mutex_unlock(&w->lock);
		/* libvirt is called without the lock: the migration call
		 * must be able to return and set done meanwhile. */
		if (w->postcopy && !switched && job_iteration(w->dom) >= 2) {
			if (virDomainMigrateStartPostCopy(w->dom, 0) == 0) {
				switched = true;
				log_info("vm '%s': first pre-copy pass done, "
					 "switched to post-copy",
					 w->name);
			} else {
				log_warn("vm '%s': cannot switch to "
					 "post-copy: %s",
					 w->name, agent_virt_msg());
			}
		}
		if (!switched && w->deadline_ns &&
		    time_mono_ns() >= w->deadline_ns) {
			/* A job past its limit is aborted: the guest keeps
			 * running here. Not once in post-copy, where the
			 * target already runs the guest. */
			if (virDomainAbortJob(w->dom) < 0)
				log_warn("vm '%s': cannot abort the "
					 "migration: %s",
					 w->name, agent_virt_msg());
			pthread_mutex_lock(&w->lock);
			w->aborted = true;
			break;
		}
		pthread_mutex_lock(&w->lock);
		w->in_postcopy = switched;
	}
	w->in_postcopy = switched;
	pthread_mutex_unlock(&w->lock);
	virResetLastError();
	return NULL;
}

/* Replace every occurrence of from by to in *xml (reallocated). 0, or
 * -1 with err_set() when out of memory. */
static int xml_replace(char **xml, const char *from, const char *to)
{
	struct buf b;
	const char *p = *xml, *hit;
	size_t fl = strlen(from);

	buf_init(&b, 16 << 20);
	while ((hit = strstr(p, from)) != NULL) {
		if (buf_append(&b, p, (size_t)(hit - p)) < 0 ||
		    buf_puts(&b, to) < 0)
			goto oom;
		p = hit + fl;
	}
	if (buf_puts(&b, p) < 0)
		goto oom;
	free(*xml);
	*xml = buf_detach(&b);
	return *xml ? 0 : err_set("out of memory");
oom:
	buf_free(&b);
	return err_set("out of memory");
}

/* The domain's RBD disk, if any: whether it has one (*shared), and when
 * the target opens it as another cephx user (o->rbd_user), the domain
 * definition for the target with that user and its secret into *dest
 * (NULL when the target takes the domain as it is). 0, or -1 with
 * err_set(). */
static int rbd_dest_xml(virDomainPtr dom, const struct agent_migrate_opts *o,
			bool *shared, char **dest)
{
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_MIGRATABLE);
	char user[128], from[256], to[256], fu[160], tu[160];
	int ret = -1;

	*shared = false;
	*dest = NULL;
	if (xml == NULL)
		return err_set("cannot read the domain: %s", agent_virt_msg());
	/* libvirt keeps <auth> where it was given, in <disk> or in its
	 * <source> */
	if (agent_xml_xpath_text(xml, "/domain/devices/disk[@type='network']"
				 "[source/@protocol='rbd']//auth/@username",
				 user, sizeof(user)) < 0)
		goto out;
	*shared = user[0] != '\0';
	if (!*shared || o->rbd_user == NULL || o->rbd_user[0] == '\0' ||
	    strcmp(o->rbd_user, user) == 0) {
		ret = 0;
		goto out;
	}
	/* libvirt writes attributes in single quotes; the names are cephx
	 * names (agent_spec.c, agent_report.c): nothing to escape */
	snprintf(from, sizeof(from), "username='%s'", user);
	snprintf(to, sizeof(to), "username='%s'", o->rbd_user);
	agent_domxml_rbd_usage(user, fu, sizeof(fu));
	agent_domxml_rbd_usage(o->rbd_user, tu, sizeof(tu));
	if (xml_replace(&xml, from, to) < 0)
		goto out;
	snprintf(from, sizeof(from), "usage='%s'", fu);
	snprintf(to, sizeof(to), "usage='%s'", tu);
	if (xml_replace(&xml, from, to) < 0)
		goto out;
	*dest = xml;
	xml = NULL;
	ret = 0;
out:
	free(xml);
	return ret;
}

int agent_virt_migrate(struct agent_virt *v, const char *uuid,
		       const char *target_uri,
		       const struct agent_migrate_opts *o)
{
	virTypedParameterPtr params = NULL;
	int nparams = 0, maxparams = 0, rc;
	struct agent_migrate_plan plan;
	struct watch w;
	pthread_t th;
	bool watching = false, missing, shared;
	char *dest_xml = NULL;
	char disk[PATH_MAX], name[256];
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	uint64_t t0 = time_mono_ns();
	int ret = -1;

	memset(&w, 0, sizeof(w));
	if (dom == NULL)
		return -1;
	str_copy(name, sizeof(name), virDomainGetName(dom));
	if (virDomainIsActive(dom) != 1) {
		err_set("vm '%s' (%s): not running here, nothing to migrate "
			"live",
			name, uuid);
		goto out;
	}
	if (rbd_dest_xml(dom, o, &shared, &dest_xml) < 0) {
		err_prefix("vm '%s' (%s)", name, uuid);
		goto out;
	}
	if (agent_virt_disk_path(v, uuid, disk, sizeof(disk)) < 0 ||
	    agent_virt_migrate_plan(o, target_uri,
				    !shared && agent_virt_disk_backed(disk),
				    shared, &plan) < 0)
		goto out;
	if ((plan.data_uri[0] &&
	     virTypedParamsAddString(&params, &nparams, &maxparams,
				     VIR_MIGRATE_PARAM_URI,
				     plan.data_uri) < 0) ||
	    (dest_xml &&
	     virTypedParamsAddString(&params, &nparams, &maxparams,
				     VIR_MIGRATE_PARAM_DEST_XML,
				     dest_xml) < 0)) {
		err_set("out of memory");
		goto out;
	}
	w.dom = dom;
	w.name = name;
	w.postcopy = o->postcopy;
	w.deadline_ns = o->max_seconds > 0
				? t0 + (uint64_t)o->max_seconds * 1000000000ULL
				: 0;
	pthread_mutex_init(&w.lock, NULL);
	cond_init_mono(&w.cond);
	if (w.postcopy || w.deadline_ns) {
		if (pthread_create(&th, NULL, watch_main, &w) != 0) {
			err_set("vm '%s' (%s): cannot start the migration's "
				"watcher thread",
				name, uuid);
			goto out;
		}
		watching = true;
	}
	log_info("vm '%s' (%s): migrating live to '%s' (%s%s%s%s, time "
		 "limit %s%d s)",
		 name, uuid, target_uri,
		 shared ? "shared RBD disk, not copied, " : "",
		 plan.flags & VIR_MIGRATE_TLS ? "over TLS, " : "",
		 o->auto_converge ? "auto-converge" : "plain pre-copy",
		 o->postcopy ? ", post-copy after the first pass" : "",
		 o->max_seconds ? "" : "none: ", o->max_seconds);
	rc = virDomainMigrateToURI3(dom, target_uri, params, (unsigned)nparams,
				    plan.flags);
	if (rc < 0)
		err_set("%s", agent_virt_msg());
	if (watching) {
		pthread_mutex_lock(&w.lock);
		w.done = true;
		pthread_cond_broadcast(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(th, NULL);
	}
	if (rc < 0) {
		if (w.aborted)
			err_set("vm '%s' (%s): migration to '%s' aborted at its "
				"time limit of %d s; the guest keeps running "
				"here (raise migration_max_seconds, or allow "
				"post-copy for a guest that rewrites its memory "
				"faster than the link carries it)",
				name, uuid, target_uri, o->max_seconds);
		else if (w.in_postcopy)
			err_prefix("vm '%s' (%s): migration to '%s' failed in "
				   "post-copy, the guest is lost on both nodes",
				   name, uuid, target_uri);
		else
			err_prefix("vm '%s' (%s): migration to '%s' failed",
				   name, uuid, target_uri);
		goto out;
	}
	log_info("vm %s: migrated to '%s' in %.1f s%s", uuid, target_uri,
		 (double)(time_mono_ns() - t0) / 1e9,
		 w.in_postcopy ? " (post-copy)" : "");
	ret = 0;
out:
	if (w.dom) {
		pthread_mutex_destroy(&w.lock);
		pthread_cond_destroy(&w.cond);
	}
	virResetLastError();
	virTypedParamsFree(params, nparams);
	free(dest_xml);
	if (dom)
		virDomainFree(dom);
	return ret;
}
