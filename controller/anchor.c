#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "controller/anchor.h"
#include "controller/store.h"

struct anchor {
	struct store *st;
	char path[4096];
	pthread_mutex_t mu;
	struct audit_head committed; /* newest head committed (under mu) */
	struct audit_head written;   /* the head in the file (under mu) */
};

int anchor_read(const char *path, struct audit_head *out)
{
	char *text = NULL;
	int ret = file_read_all(path, 512, &text, NULL);

	if (ret == 0 && (ret = audit_head_parse(text, out)) < 0)
		err_prefix("'%s'", path);
	free(text);
	return ret;
}

static bool head_equal(const struct audit_head *a, const struct audit_head *b)
{
	return a->seq == b->seq && strcmp(a->hash, b->hash) == 0;
}

int anchor_write(struct anchor *a, const struct audit_head *h)
{
	char line[AUDIT_HEAD_TEXT + 1];
	bool newer;

	pthread_mutex_lock(&a->mu);
	newer = h->seq >= a->written.seq && !head_equal(h, &a->written);
	pthread_mutex_unlock(&a->mu);
	if (!newer)
		return 0;
	snprintf(line, sizeof(line), "%" PRId64 ":%s\n", h->seq, h->hash);
	/* 0640: the head proves nothing secret; the operator's shipping
	 * job may run as the group */
	if (file_write_atomic(a->path, line, strlen(line), 0640) < 0)
		return err_prefix("audit anchor");
	pthread_mutex_lock(&a->mu);
	if (h->seq >= a->written.seq)
		a->written = *h;
	pthread_mutex_unlock(&a->mu);
	return 0;
}

void anchor_committed(void *arg)
{
	struct anchor *a = arg;
	struct audit_head h;

	if (audit_head_get(a->st, &h) != 1) {
		log_error("audit anchor: cannot read the audit head: %s",
			  err_msg());
		return;
	}
	pthread_mutex_lock(&a->mu);
	if (!head_equal(&h, &a->committed)) {
		a->committed = h;
		log_info("audit head %" PRId64 ":%s", h.seq, h.hash);
	}
	pthread_mutex_unlock(&a->mu);
}

bool anchor_behind(struct anchor *a)
{
	bool r;

	pthread_mutex_lock(&a->mu);
	r = !head_equal(&a->committed, &a->written);
	pthread_mutex_unlock(&a->mu);
	return r;
}

bool anchor_snapshot(struct anchor *a, struct audit_head *out)
{
	bool r;

	pthread_mutex_lock(&a->mu);
	*out = a->committed;
	r = !head_equal(&a->committed, &a->written);
	pthread_mutex_unlock(&a->mu);
	return r;
}

/* The chain against the file left by the last run, when there is one. */
static int anchor_check_old(struct anchor *a)
{
	struct audit_report r;
	struct audit_head old;
	char kept[4096 + 16];

	if (access(a->path, F_OK) != 0)
		return 0;
	if (anchor_read(a->path, &old) < 0) {
		log_error("%s", err_msg());
		r.ok = false;
		str_copy(r.reason, sizeof(r.reason), "unreadable");
	} else if (audit_verify(a->st, &old, &r) < 0) {
		return -1;
	}
	if (r.ok)
		return 0;
	snprintf(kept, sizeof(kept), "%s.mismatch", a->path);
	log_error("audit log does not hold the anchor in '%s': %s; the file "
		  "is kept as '%s': check the log against the anchors you "
		  "shipped with 'finctl audit verify --anchor'", a->path,
		  r.reason, kept);
	if (rename(a->path, kept) < 0)
		return err_set_errno(errno, "cannot rename '%s'", a->path);
	return 0;
}

int anchor_open(struct store *st, const char *dir, struct anchor **out)
{
	struct anchor *a = calloc(1, sizeof(*a));
	struct audit_head h;
	int r, ret = -1;

	if (a == NULL)
		return err_set("out of memory");
	a->st = st;
	pthread_mutex_init(&a->mu, NULL);
	if (snprintf(a->path, sizeof(a->path), "%s/%s", dir, ANCHOR_FILE) >=
	    (int)sizeof(a->path)) {
		err_set("state_dir '%s' is too long", dir);
		goto out;
	}
	if (anchor_check_old(a) < 0)
		goto out;
	r = audit_head_get(st, &h);
	if (r < 0)
		goto out;
	if (r == 0) {
		/* the next entry records a head again; until then there is
		 * nothing to anchor */
		log_error("audit log has no recorded head (meta 'audit_head'): "
			  "entries may have been removed from its end: check "
			  "it with 'finctl audit verify --anchor'");
	} else {
		a->committed = h;
		/* what the head names is on disk before the file names it */
		if (store_sync_wal(st) < 0 || anchor_write(a, &h) < 0)
			goto out;
		log_info("audit head %" PRId64 ":%s (anchored in '%s')", h.seq,
			 h.hash, a->path);
	}
	store_on_commit(st, anchor_committed, a);
	ret = 0;
out:
	if (ret == 0)
		*out = a;
	else
		anchor_free(a);
	return ret;
}

void anchor_free(struct anchor *a)
{
	if (a != NULL) {
		pthread_mutex_destroy(&a->mu);
		free(a);
	}
}
