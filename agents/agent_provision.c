#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "agents/agent_client.h"
#include "agents/agent_image.h"
#include "agents/agent_provision.h"
#include "agents/agent_rbd.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* An image fetch handed to the fetch thread. */
struct fetch_job {
	char sha256[AGENT_SHA256_HEX + 1];
	int64_t size;
	enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED } state;
	struct stat st;               /* JOB_DONE: the file in place */
	char error[ERR_MSG_MAX];      /* JOB_FAILED */
};

struct agent_provision {
	const struct agent_config *cfg;
	bool no_controller;
	struct agent_image_cache cache;
	bool cache_ok;
	const char **in_use;          /* this pass's digests */
	size_t nin_use;
	agent_image_fetch_fn fetch;   /* how images are fetched, and ud */
	void *fetch_ud;
	void (*wake)(void *ctx);      /* a fetch ended */
	void *wake_ctx;
	atomic_bool quit;             /* the fetch thread ends its fetch */

	pthread_mutex_t lock;         /* all below */
	char cred[AGENT_CREDENTIAL_MAX];
	char (*prepared)[37];         /* incoming VMs ready */
	size_t nprepared;
	pthread_cond_t fetch_wake;    /* a job queued or ended, or quit */
	pthread_t fetcher;
	bool fetcher_started;
	struct fetch_job *jobs;       /* one per image, oldest first */
	size_t njobs;
};

static int fetch_from_controller(void *ud, const char *sha256,
				 agent_image_sink_fn sink, void *sink_ud);

struct agent_provision *agent_provision_new(const struct agent_config *cfg,
					    bool no_controller,
					    void (*wake)(void *ctx), void *ctx)
{
	struct agent_provision *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		err_set("out of memory");
		return NULL;
	}
	p->cfg = cfg;
	p->no_controller = no_controller;
	p->fetch = fetch_from_controller;
	p->fetch_ud = p;
	p->wake = wake;
	p->wake_ctx = ctx;
	atomic_init(&p->quit, false);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->fetch_wake, NULL);
	p->cache_ok = agent_image_cache_init(&p->cache, cfg->image_dir,
					     cfg->image_cache_max) == 0;
	if (!p->cache_ok)
		log_warn("%s: VMs from images cannot be created here",
			 err_msg());
	return p;
}

void agent_provision_free(struct agent_provision *p)
{
	if (p == NULL)
		return;
	/* a fetch in progress stops at its next piece (quit_sink()) */
	atomic_store(&p->quit, true);
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->fetch_wake);
	pthread_mutex_unlock(&p->lock);
	if (p->fetcher_started)
		pthread_join(p->fetcher, NULL);
	free(p->jobs);
	pthread_cond_destroy(&p->fetch_wake);
	agent_image_cache_fini(&p->cache);
	explicit_bzero(p->cred, sizeof(p->cred));
	free(p->in_use);
	free(p->prepared);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void agent_provision_set_credential(struct agent_provision *p,
				    const char *cred)
{
	pthread_mutex_lock(&p->lock);
	str_copy(p->cred, sizeof(p->cred), cred);
	pthread_mutex_unlock(&p->lock);
}

/* agent_image_fetch_fn: GET the image from the controller with the
 * node's credential, on a client of its own (one per thread), so it
 * speaks whatever the agent's client speaks (TLS). */
static int fetch_from_controller(void *ud, const char *sha256,
				 agent_image_sink_fn sink, void *sink_ud)
{
	struct agent_provision *p = ud;
	struct agent_client *c;
	char cred[AGENT_CREDENTIAL_MAX];
	int rc = -1;

	if (p->no_controller)
		return err_set("no controller to fetch it from "
			       "(--no-controller)");
	pthread_mutex_lock(&p->lock);
	str_copy(cred, sizeof(cred), p->cred);
	pthread_mutex_unlock(&p->lock);
	if (cred[0] == '\0')
		return err_set("not registered with the controller yet");
	c = agent_client_new(p->cfg->controller_url, p->cfg->node_name,
			     &p->cfg->tls);
	if (c && agent_client_set_credential(c, cred) == 0)
		rc = agent_client_image(c, sha256, sink, sink_ud);
	agent_client_free(c);
	explicit_bzero(cred, sizeof(cred));
	return rc;
}

static bool dom_here(const struct agent_domain *doms, size_t n,
		     const char *vm_id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(doms[i].uuid, vm_id) == 0)
			return true;
	return false;
}

int agent_provision_pass_begin(struct agent_provision *p,
			       const struct agent_vm_spec *specs, size_t nspecs,
			       const struct agent_vm_spec *incoming,
			       size_t nincoming,
			       const struct agent_domain *doms, size_t ndoms)
{
	const char **v = calloc(nspecs + nincoming + 1, sizeof(*v));
	size_t k = 0;

	if (v == NULL)
		return err_set("out of memory");
	for (size_t i = 0; i < nspecs; i++)
		if (specs[i].image_sha256[0] &&
		    (specs[i].want != AGENT_WANT_DELETED ||
		     dom_here(doms, ndoms, specs[i].vm_id)))
			v[k++] = specs[i].image_sha256;
	for (size_t i = 0; i < nincoming; i++)
		if (incoming[i].image_sha256[0])
			v[k++] = incoming[i].image_sha256;
	free(p->in_use);
	p->in_use = v;
	p->nin_use = k;
	return 0;
}

void agent_provision_set_fetch(struct agent_provision *p,
			       agent_image_fetch_fn fetch, void *ud)
{
	p->fetch = fetch;
	p->fetch_ud = ud;
}

/* Under lock: the job of sha256, or NULL. */
static struct fetch_job *job_find(struct agent_provision *p,
				  const char *sha256)
{
	for (size_t i = 0; i < p->njobs; i++)
		if (strcmp(p->jobs[i].sha256, sha256) == 0)
			return &p->jobs[i];
	return NULL;
}

/* A sink that refuses once the agent stops, so that free() need not wait
 * for the end of a large fetch. */
struct quit_sink {
	struct agent_provision *p;
	agent_image_sink_fn sink;
	void *ud;
};

static int quit_sink(void *ud, const void *data, size_t len)
{
	struct quit_sink *q = ud;

	if (atomic_load(&q->p->quit))
		return err_set("the agent is stopping");
	return q->sink(q->ud, data, len);
}

static int fetch_unless_quit(void *ud, const char *sha256,
			     agent_image_sink_fn sink, void *sink_ud)
{
	struct agent_provision *p = ud;
	struct quit_sink q = {p, sink, sink_ud};

	return p->fetch(p->fetch_ud, sha256, quit_sink, &q);
}

/* The fetch thread: the queued jobs one at a time, oldest first; the
 * main loop is woken when each ends. */
static void *fetcher(void *arg)
{
	struct agent_provision *p = arg;
	char sha256[AGENT_SHA256_HEX + 1];
	struct fetch_job *job;
	struct stat st;
	int64_t size;
	int rc;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		job = NULL;
		for (size_t i = 0; !job && i < p->njobs; i++)
			if (p->jobs[i].state == JOB_QUEUED)
				job = &p->jobs[i];
		if (atomic_load(&p->quit))
			break;
		if (job == NULL) {
			pthread_cond_wait(&p->fetch_wake, &p->lock);
			continue;
		}
		job->state = JOB_RUNNING;
		str_copy(sha256, sizeof(sha256), job->sha256);
		size = job->size;
		pthread_mutex_unlock(&p->lock);
		rc = agent_image_fetch(&p->cache, sha256, size,
				       fetch_unless_quit, p, &st);
		pthread_mutex_lock(&p->lock);
		job = job_find(p, sha256); /* jobs may have moved */
		if (job && rc == 0) {
			job->state = JOB_DONE;
			job->st = st;
		} else if (job) {
			job->state = JOB_FAILED;
			str_copy(job->error, sizeof(job->error), err_msg());
		}
		pthread_cond_broadcast(&p->fetch_wake);
		pthread_mutex_unlock(&p->lock);
		if (p->wake)
			p->wake(p->wake_ctx);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Queue the fetch of s's image (the thread started when it is not
 * yet). -1 with err_set(). */
static int job_queue(struct agent_provision *p, const struct agent_vm_spec *s)
{
	struct fetch_job *grown;
	int ret = -1, rc;

	pthread_mutex_lock(&p->lock);
	if (!p->fetcher_started) {
		rc = pthread_create(&p->fetcher, NULL, fetcher, p);
		if (rc != 0) {
			err_set_errno(rc, "cannot start the image fetch thread");
			goto out;
		}
		p->fetcher_started = true;
	}
	grown = realloc(p->jobs, (p->njobs + 1) * sizeof(*grown));
	if (grown == NULL) {
		err_set("out of memory");
		goto out;
	}
	p->jobs = grown;
	memset(&p->jobs[p->njobs], 0, sizeof(p->jobs[0]));
	str_copy(p->jobs[p->njobs].sha256, sizeof(p->jobs[0].sha256),
		 s->image_sha256);
	p->jobs[p->njobs].size = s->image_size;
	p->jobs[p->njobs].state = JOB_QUEUED;
	p->njobs++;
	pthread_cond_broadcast(&p->fetch_wake);
	ret = 0;
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* The job of sha256: 1 while queued or running; 2 when it ended (moved
 * out of the list into *out); 0 when there is none. */
static int job_take(struct agent_provision *p, const char *sha256,
		    struct fetch_job *out)
{
	struct fetch_job *job;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	job = job_find(p, sha256);
	if (job && (job->state == JOB_QUEUED || job->state == JOB_RUNNING)) {
		rc = 1;
	} else if (job) {
		*out = *job;
		*job = p->jobs[--p->njobs];
		rc = 2;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Under lock: a job queued or running. */
static bool jobs_open(const struct agent_provision *p)
{
	for (size_t i = 0; i < p->njobs; i++)
		if (p->jobs[i].state == JOB_QUEUED ||
		    p->jobs[i].state == JOB_RUNNING)
			return true;
	return false;
}

bool agent_provision_wait(struct agent_provision *p)
{
	bool waited = false;

	pthread_mutex_lock(&p->lock);
	while (jobs_open(p) && !atomic_load(&p->quit)) {
		waited = true;
		pthread_cond_wait(&p->fetch_wake, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return waited;
}

bool agent_provision_busy(struct agent_provision *p)
{
	bool busy;

	pthread_mutex_lock(&p->lock);
	busy = jobs_open(p);
	pthread_mutex_unlock(&p->lock);
	return busy;
}

int agent_provision_image(struct agent_provision *p,
			  const struct agent_vm_spec *s)
{
	struct fetch_job done;
	int64_t now = time_wall_ms();
	int rc;

	if (s->image_sha256[0] == '\0')
		return 0;
	if (!p->cache_ok)
		return err_set("vm '%s': the image cache in '%s/sha256' is not "
			       "usable", s->name, p->cfg->image_dir);
	rc = job_take(p, s->image_sha256, &done);
	if (rc == 1)
		return 1;
	if (rc == 2 && done.state == JOB_FAILED)
		return err_set("vm '%s': %s", s->name, done.error);
	if (rc == 2 && agent_image_adopt(&p->cache, done.sha256, &done.st,
					 now) < 0)
		return err_prefix("vm '%s'", s->name);
	rc = agent_image_lookup(&p->cache, s->image_sha256, now);
	if (rc != 0)
		return rc < 0 ? err_prefix("vm '%s'", s->name) : 0;
	/* room for it now; a fetch still running for another image is
	 * not counted yet (the pass's end trims again) */
	if (agent_image_trim(&p->cache, p->in_use, p->nin_use,
			     s->image_size) < 0 ||
	    job_queue(p, s) < 0)
		return err_prefix("vm '%s': image %s", s->name,
				  s->image_sha256);
	log_info("vm '%s': waits for image %s, fetched in the background",
		 s->name, s->image_sha256);
	return 1;
}

/* The node's key of s's cephx user in the libvirt secret QEMU reads. */
static int rbd_secret(struct agent_provision *p, struct agent_virt *v,
		      const struct agent_vm_spec *s)
{
	char key[256];
	int rc;

	if (agent_rbd_key(p->cfg->ceph_dir, s, key, sizeof(key)) < 0)
		return -1;
	rc = agent_virt_rbd_secret(v, s->rbd_user, key);
	OPENSSL_cleanse(key, sizeof(key));
	return rc < 0 ? err_prefix("vm '%s'", s->name) : 0;
}

int agent_provision_create(struct agent_provision *p, struct agent_virt *v,
			   const struct agent_vm_spec *s, bool start)
{
	/* an RBD disk is looked for first (a VM not defined here yet; a
	 * defined one has its clone): one that exists (a VM restarted
	 * here by HA) needs no copy of its image on this node */
	bool rbd = s->rbd_pool[0] && agent_virt_managed(v, s->vm_id) != 1;
	int rc = rbd ? agent_rbd_clone_exists(p->cfg->ceph_dir, s) : 1;
	char cached[PATH_MAX];

	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* its image imported into the pool once, from the image
		 * cache, then the VM's clone of it */
		rc = agent_provision_image(p, s);
		if (rc != 0) /* 1: a later pass, woken when the fetch ends */
			return rc < 0 ? -1 : 0;
		if (snprintf(cached, sizeof(cached), "%s/sha256/%s",
			     p->cfg->image_dir, s->image_sha256) >=
		    (int)sizeof(cached))
			return err_set("image_dir '%s' is too long",
				       p->cfg->image_dir);
		if (agent_rbd_disk_make(p->cfg->ceph_dir, s, cached,
					p->cfg->image_dir,
					p->cfg->node_name) < 0)
			return -1;
	} else if (!rbd) {
		rc = agent_provision_image(p, s);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if (rbd && rbd_secret(p, v, s) < 0)
		return -1;
	return agent_virt_create(v, s, start);
}

void agent_provision_incoming(struct agent_provision *p,
			      struct agent_virt *v,
			      const struct agent_vm_spec *incoming, size_t n,
			      const struct agent_domain *doms, size_t ndoms)
{
	char (*ready)[37] = calloc(n + 1, sizeof(*ready));
	size_t k = 0;
	int rc;

	for (size_t i = 0; ready && i < n; i++) {
		const struct agent_vm_spec *s = &incoming[i];

		if (dom_here(doms, ndoms, s->vm_id))
			continue; /* arrived (or arriving): nothing to make */
		/* an RBD disk is shared: its image need not be here */
		rc = s->rbd_pool[0] ? 0 : agent_provision_image(p, s);
		if (rc > 0)
			continue; /* its image is on its way */
		/* an RBD disk is there already: the node needs its key */
		if (rc < 0 || (s->rbd_pool[0] && rbd_secret(p, v, s) < 0) ||
		    agent_virt_prepare(v, s) < 0) {
			log_warn("migration of vm '%s' to this node: %s",
				 s->name, err_msg());
			continue;
		}
		str_copy(ready[k++], 37, s->vm_id);
	}
	pthread_mutex_lock(&p->lock);
	free(p->prepared);
	p->prepared = ready;
	p->nprepared = ready ? k : 0;
	pthread_mutex_unlock(&p->lock);
}

/* Under lock: forget the ended fetches no VM of this pass wants (their
 * images stay cached, hashed again at their first use). Only once the
 * pass knew every VM (trim). */
static void jobs_prune(struct agent_provision *p)
{
	for (size_t i = 0; i < p->njobs;) {
		bool wanted = false;

		for (size_t j = 0; !wanted && j < p->nin_use; j++)
			wanted = strcmp(p->in_use[j], p->jobs[i].sha256) == 0;
		if (!wanted && (p->jobs[i].state == JOB_DONE ||
				p->jobs[i].state == JOB_FAILED))
			p->jobs[i] = p->jobs[--p->njobs];
		else
			i++;
	}
}

void agent_provision_pass_end(struct agent_provision *p, bool trim)
{
	if (trim && p->cache_ok &&
	    agent_image_trim(&p->cache, p->in_use, p->nin_use, 0) < 0)
		log_warn("image cache: %s", err_msg());
	if (trim) {
		pthread_mutex_lock(&p->lock);
		jobs_prune(p);
		pthread_mutex_unlock(&p->lock);
	}
	free(p->in_use);
	p->in_use = NULL;
	p->nin_use = 0;
}

cJSON *agent_provision_prepared(struct agent_provision *p)
{
	cJSON *a = cJSON_CreateArray();

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; a && i < p->nprepared; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(p->prepared[i]));
	pthread_mutex_unlock(&p->lock);
	return a;
}
