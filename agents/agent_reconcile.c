#include "agents/agent_reconcile.h"
#include "common/err.h"

const char *agent_dom_state_name(int state)
{
	static const char *const names[] = {
		"nostate", "running", "blocked",     "paused",
		"shutdown", "shutoff", "crashed", "pmsuspended",
	};

	if (state < 0 || state >= (int)FC_ARRAY_LEN(names))
		return "nostate";
	return names[state];
}

const char *agent_action_name(enum agent_action_type t)
{
	static const char *const names[] = {
		"create", "define",  "start",  "resume",
		"shutdown", "destroy", "delete", "error",
	};

	if ((int)t < 0 || (size_t)t >= FC_ARRAY_LEN(names))
		return "?";
	return names[t];
}

/* The domain in obs whose name is key (exactly) when by_name, else whose
 * UUID is key (in any case); NULL when none. */
static const struct agent_observed *find_dom(const struct agent_observed *obs,
					     size_t nobs, const char *key,
					     bool by_name)
{
	for (size_t i = 0; i < nobs; i++)
		if (by_name ? strcmp(obs[i].name, key) == 0
			    : strcasecmp(obs[i].uuid, key) == 0)
			return &obs[i];
	return NULL;
}

static bool is_active(int state)
{
	return state == AGENT_DOM_RUNNING || state == AGENT_DOM_BLOCKED ||
	       state == AGENT_DOM_PAUSED || state == AGENT_DOM_SHUTDOWN ||
	       state == AGENT_DOM_PMSUSPENDED;
}

/* The step for one spec; false when none is needed. */
static bool decide(const struct agent_vm_spec *specs, size_t i,
		   const struct agent_observed *obs, size_t nobs,
		   uint64_t now_ns, uint64_t stop_timeout_ns,
		   struct agent_action *a)
{
	const struct agent_vm_spec *s = &specs[i];
	const struct agent_observed *o, *byname;

	memset(a, 0, sizeof(*a));
	a->spec = i;
	for (size_t j = 0; j < i; j++) {
		if (strcasecmp(specs[j].vm_id, s->vm_id) == 0) {
			a->type = AGENT_ACT_ERROR;
			snprintf(a->error, sizeof(a->error),
				 "vm '%s': vm_id %s is given twice: the first "
				 "spec wins",
				 s->name, s->vm_id);
			return true;
		}
		if (strcmp(specs[j].name, s->name) == 0 &&
		    s->want != AGENT_WANT_DELETED &&
		    specs[j].want != AGENT_WANT_DELETED) {
			a->type = AGENT_ACT_ERROR;
			snprintf(a->error, sizeof(a->error),
				 "vm '%s': name is also used by vm %s: names "
				 "must be unique on a node",
				 s->name, specs[j].vm_id);
			return true;
		}
	}

	o = find_dom(obs, nobs, s->vm_id, false);
	if (o == NULL) {
		if (s->want == AGENT_WANT_DELETED)
			return false;
		byname = find_dom(obs, nobs, s->name, true);
		if (byname) {
			a->type = AGENT_ACT_ERROR;
			snprintf(a->error, sizeof(a->error),
				 "vm '%s': the name is taken by %s domain %s: "
				 "rename one of them",
				 s->name,
				 byname->managed ? "fincloud" : "foreign",
				 byname->uuid);
			return true;
		}
		a->type = s->want == AGENT_WANT_RUNNING ? AGENT_ACT_CREATE
							: AGENT_ACT_DEFINE;
		return true;
	}
	if (!o->managed) {
		a->type = AGENT_ACT_ERROR;
		snprintf(a->error, sizeof(a->error),
			 "vm '%s': uuid %s belongs to foreign domain '%.128s' "
			 "(no fincloud metadata): it is left alone",
			 s->name, s->vm_id, o->name);
		return true;
	}

	switch (s->want) {
	case AGENT_WANT_RUNNING:
		switch (o->state) {
		case AGENT_DOM_PAUSED:
			a->type = AGENT_ACT_RESUME;
			return true;
		case AGENT_DOM_SHUTOFF:
		case AGENT_DOM_CRASHED:
		case AGENT_DOM_NOSTATE:
			a->type = AGENT_ACT_START;
			return true;
		default:
			return false;
		}
	case AGENT_WANT_STOPPED:
		if (!is_active(o->state))
			return false;
		if (o->shutdown_sent_ns == 0) {
			a->type = AGENT_ACT_SHUTDOWN;
			return true;
		}
		if (now_ns - o->shutdown_sent_ns >= stop_timeout_ns) {
			a->type = AGENT_ACT_DESTROY;
			return true;
		}
		return false;
	case AGENT_WANT_DELETED:
		a->type = AGENT_ACT_DELETE;
		return true;
	}
	return false;
}

int agent_reconcile_plan(const struct agent_vm_spec *specs, size_t nspecs,
			 const struct agent_observed *obs, size_t nobs,
			 uint64_t now_ns, uint64_t stop_timeout_ns,
			 struct agent_action **out, size_t *nout)
{
	struct agent_action *acts = NULL;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (nspecs == 0)
		return 0;
	acts = calloc(nspecs, sizeof(*acts));
	if (acts == NULL)
		return err_set("out of memory");
	for (size_t i = 0; i < nspecs; i++)
		if (decide(specs, i, obs, nobs, now_ns, stop_timeout_ns,
			   &acts[n]))
			n++;
	*out = acts;
	*nout = n;
	return 0;
}

ssize_t agent_reconcile_unlisted(const struct agent_observed *obs, size_t nobs,
				 const char *const *known, size_t nknown,
				 bool returning, size_t **out)
{
	size_t n = 0;

	*out = calloc(nobs + 1, sizeof(**out));
	if (*out == NULL)
		return err_set("out of memory");
	for (size_t i = 0; i < nobs; i++) {
		bool listed = false, inactive;

		if (!obs[i].managed)
			continue;
		for (size_t k = 0; !listed && k < nknown; k++)
			listed = known[k] && strcasecmp(known[k], obs[i].uuid) == 0;
		inactive = obs[i].state == AGENT_DOM_SHUTOFF ||
			   obs[i].state == AGENT_DOM_CRASHED;
		if (!listed && (inactive || returning))
			(*out)[n++] = i;
	}
	return (ssize_t)n;
}
