#include <pthread.h>

#include "agents/agent_client.h"
#include "agents/agent_image.h"
#include "agents/agent_provision.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

struct agent_provision {
	const struct agent_config *cfg;
	bool no_controller;
	struct agent_image_cache cache;
	bool cache_ok;
	const char **in_use;          /* this pass's digests */
	size_t nin_use;

	pthread_mutex_t lock;         /* the two below */
	char cred[AGENT_CREDENTIAL_MAX];
	char (*prepared)[37];         /* incoming VMs ready */
	size_t nprepared;
};

struct agent_provision *agent_provision_new(const struct agent_config *cfg,
					    bool no_controller)
{
	struct agent_provision *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		err_set("out of memory");
		return NULL;
	}
	p->cfg = cfg;
	p->no_controller = no_controller;
	pthread_mutex_init(&p->lock, NULL);
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
static int fetch(void *ud, const char *sha256, agent_image_sink_fn sink,
		 void *sink_ud)
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

int agent_provision_image(struct agent_provision *p,
			  const struct agent_vm_spec *s)
{
	if (s->image_sha256[0] == '\0')
		return 0;
	if (!p->cache_ok)
		return err_set("vm '%s': the image cache in '%s/sha256' is not "
			       "usable", s->name, p->cfg->image_dir);
	if (agent_image_ensure(&p->cache, s->image_sha256, s->image_size,
			       p->in_use, p->nin_use, fetch, p,
			       time_wall_ms()) < 0)
		return err_prefix("vm '%s'", s->name);
	return 0;
}

void agent_provision_incoming(struct agent_provision *p,
			      struct agent_virt *v,
			      const struct agent_vm_spec *incoming, size_t n,
			      const struct agent_domain *doms, size_t ndoms)
{
	char (*ready)[37] = calloc(n + 1, sizeof(*ready));
	size_t k = 0;

	for (size_t i = 0; ready && i < n; i++) {
		const struct agent_vm_spec *s = &incoming[i];

		if (dom_here(doms, ndoms, s->vm_id))
			continue; /* arrived (or arriving): nothing to make */
		if (agent_provision_image(p, s) < 0 ||
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

void agent_provision_pass_end(struct agent_provision *p, bool trim)
{
	if (trim && p->cache_ok &&
	    agent_image_trim(&p->cache, p->in_use, p->nin_use, 0) < 0)
		log_warn("image cache: %s", err_msg());
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
