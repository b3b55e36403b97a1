/* RBD disks with Ceph's rbd tool and qemu-img (see agent_rbd.h). */
#include <stdarg.h>
#include <unistd.h>

#include "agents/agent_rbd.h"
#include "common/err.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"

/* How long one rbd call may take: an import gets long, the rest short. */
#define RBD_TIMEOUT_MS (120 * 1000)
#define RBD_IMPORT_TIMEOUT_MS (60 * 60 * 1000)

void agent_rbd_image_name(const char *sha256, char out[AGENT_RBD_NAME_LEN])
{
	snprintf(out, AGENT_RBD_NAME_LEN, "fincloud-img-%s", sha256);
}

void agent_rbd_vm_name(const char *vm_id, char out[AGENT_RBD_NAME_LEN])
{
	snprintf(out, AGENT_RBD_NAME_LEN, "fincloud-vm-%s", vm_id);
}

int agent_rbd_keyring_key(const char *text, const char *user, char *out,
			  size_t size)
{
	char section[128];
	const char *p = text;
	bool in = false;

	snprintf(section, sizeof(section), "[client.%s]", user);
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[512];
		char *l = line, *e;

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p = end ? end + 1 : NULL;
		while (*l == ' ' || *l == '\t')
			l++;
		e = l + strlen(l);
		while (e > l && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (*l == '[') {
			in = strcmp(l, section) == 0;
			continue;
		}
		if (!in || strncmp(l, "key", 3) != 0)
			continue;
		l += 3;
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l != '=')
			continue;
		l++;
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '\0' || strlen(l) >= size)
			break;
		str_copy(out, size, l);
		return 0;
	}
	return err_set("no key of 'client.%s' in the keyring", user);
}

/* ceph_dir/ceph.client.USER.keyring into path. */
static int keyring_path(const char *ceph_dir, const char *user, char *path,
			size_t size)
{
	if (snprintf(path, size, "%s/ceph.client.%s.keyring", ceph_dir,
		     user) >= (int)size)
		return err_set("ceph_dir '%s' is too long", ceph_dir);
	return 0;
}

int agent_rbd_key(const char *ceph_dir, const struct agent_vm_spec *s,
		  char *out, size_t size)
{
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	int ret = -1;

	if (keyring_path(ceph_dir, s->rbd_user, path, sizeof(path)) < 0)
		return -1;
	if (file_read_all(path, 64 * 1024, &text, &len) < 0) {
		err_prefix("vm '%s': the key of cephx user '%s' (put the "
			   "keyring 'ceph auth get client.%s' prints there)",
			   s->name, s->rbd_user, s->rbd_user);
		goto out;
	}
	if (agent_rbd_keyring_key(text, s->rbd_user, out, size) < 0) {
		err_prefix("vm '%s': '%s'", s->name, path);
		goto out;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

/* The arguments every rbd call starts with: who this node is and where
 * the cluster is, ceph.conf when the node has one. */
struct rbd_args {
	char conf[PATH_MAX];
	char keyring[PATH_MAX];
	const char *argv[32];
	int n;
};

static int rbd_args_init(struct rbd_args *a, const char *ceph_dir,
			 const struct agent_vm_spec *s)
{
	memset(a, 0, sizeof(*a));
	if (keyring_path(ceph_dir, s->rbd_user, a->keyring,
			 sizeof(a->keyring)) < 0)
		return -1;
	if (snprintf(a->conf, sizeof(a->conf), "%s/ceph.conf", ceph_dir) >=
	    (int)sizeof(a->conf))
		return err_set("ceph_dir '%s' is too long", ceph_dir);
	if (access(a->conf, R_OK) != 0)
		str_copy(a->conf, sizeof(a->conf), "/dev/null");
	a->argv[a->n++] = "rbd";
	a->argv[a->n++] = "--conf";
	a->argv[a->n++] = a->conf;
	a->argv[a->n++] = "--id";
	a->argv[a->n++] = s->rbd_user;
	a->argv[a->n++] = "--keyring";
	a->argv[a->n++] = a->keyring;
	a->argv[a->n++] = "-m";
	a->argv[a->n++] = s->rbd_monitors;
	return 0;
}

/* "POOL/NAME[@SNAP]": every image rbd is given is named with its pool
 * (a clone's target would otherwise land in the default pool "rbd"). */
static void image_spec(char *out, size_t size, const char *pool,
		       const char *name, const char *snap)
{
	snprintf(out, size, "%s/%s%s%s", pool, name, snap ? "@" : "",
		 snap ? snap : "");
}

/* Run rbd with a's common arguments and then the NULL-terminated rest.
 * 0 when it succeeded; else err_set() with rbd's message and 1 when it
 * said "No such file or directory" (what it works on does not exist),
 * 2 "File exists", -1 anything else. */
static int rbd_run(struct rbd_args *a, int64_t timeout_ms, ...)
{
	struct proc_result r = {0};
	va_list ap;
	const char *arg;
	int n = a->n, ret;

	va_start(ap, timeout_ms);
	while ((arg = va_arg(ap, const char *)) != NULL &&
	       n < (int)FC_ARRAY_LEN(a->argv) - 1)
		a->argv[n++] = arg;
	va_end(ap);
	a->argv[n] = NULL;
	if (proc_run((char *const *)a->argv, 64 * 1024, timeout_ms, &r) < 0)
		return err_prefix("rbd %s", a->argv[a->n]);
	if (r.status == 0) {
		ret = 0;
	} else {
		err_set("rbd %s failed (exit %d): %s", a->argv[a->n], r.status,
			r.err && r.err[0] ? r.err : "no message");
		if (r.err && strstr(r.err, "(2) No such file or directory"))
			ret = 1;
		else if (r.err && strstr(r.err, "(17) File exists"))
			ret = 2;
		else
			ret = -1;
	}
	proc_result_free(&r);
	return ret;
}

/* Remove the image name with its base snapshot (unprotected first):
 * the loser's copy of a concurrent import, or what a failed one left.
 * Failures are logged; the error message set before is kept. */
static void image_discard(struct rbd_args *a, const char *pool,
			  const char *image)
{
	char snap[256], name[256], saved[1024];

	str_copy(saved, sizeof(saved), err_msg());
	image_spec(name, sizeof(name), pool, image, NULL);
	image_spec(snap, sizeof(snap), pool, image, "base");
	/* each step may find nothing to do (1): only a real failure counts */
	if (rbd_run(a, RBD_TIMEOUT_MS, "snap", "unprotect", snap, NULL) < 0 ||
	    rbd_run(a, RBD_TIMEOUT_MS, "snap", "purge", name, NULL) < 0 ||
	    rbd_run(a, RBD_TIMEOUT_MS, "rm", "--no-progress", name, NULL) < 0)
		log_warn("rbd image '%s' stays: %s", name, err_msg());
	err_set("%s", saved);
}

/* Convert the cached qcow2 image to raw at path (sparse). */
static int to_raw(const char *cached, const char *path)
{
	char *const argv[] = {"qemu-img", "convert", "-f", "qcow2", "-O",
			      "raw", (char *)cached, (char *)path, NULL};
	struct proc_result r = {0};
	int ret = 0;

	if (proc_run(argv, 64 * 1024, RBD_IMPORT_TIMEOUT_MS, &r) < 0)
		return err_prefix("qemu-img convert");
	if (r.status != 0)
		ret = err_set("qemu-img convert of '%s' failed: %s", cached,
			      r.err ? r.err : "no message");
	proc_result_free(&r);
	return ret;
}

int agent_rbd_image_ensure(const char *ceph_dir, const struct agent_vm_spec *s,
			   const char *cached, const char *tmp_dir,
			   const char *node)
{
	struct rbd_args a;
	char name[AGENT_RBD_NAME_LEN], part[AGENT_RBD_NAME_LEN + 80];
	char snap[256], spec_part[256], spec_name[256], raw[PATH_MAX];
	const char *src = cached;
	uint64_t t0 = time_mono_ns();
	int rc, ret = -1;

	raw[0] = '\0';
	if (rbd_args_init(&a, ceph_dir, s) < 0)
		return err_prefix("vm '%s'", s->name);
	agent_rbd_image_name(s->image_sha256, name);
	image_spec(snap, sizeof(snap), s->rbd_pool, name, "base");
	rc = rbd_run(&a, RBD_TIMEOUT_MS, "info", snap, NULL);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return err_prefix("vm '%s': pool '%s'", s->name, s->rbd_pool);
	snprintf(part, sizeof(part), "%s.part-%s", name, node);
	image_spec(spec_part, sizeof(spec_part), s->rbd_pool, part, NULL);
	image_spec(spec_name, sizeof(spec_name), s->rbd_pool, name, NULL);
	/* a copy an earlier attempt of this node left */
	image_discard(&a, s->rbd_pool, part);
	if (strcmp(s->image_format, "qcow2") == 0) {
		if (snprintf(raw, sizeof(raw), "%s/rbd-%s.raw", tmp_dir,
			     s->image_sha256) >= (int)sizeof(raw)) {
			err_set("image_dir '%s' is too long", tmp_dir);
			goto out;
		}
		if (to_raw(cached, raw) < 0)
			goto out;
		src = raw;
	}
	image_spec(snap, sizeof(snap), s->rbd_pool, part, "base");
	if (rbd_run(&a, RBD_IMPORT_TIMEOUT_MS, "import", "--no-progress",
		    src, spec_part, NULL) != 0 ||
	    rbd_run(&a, RBD_TIMEOUT_MS, "snap", "create", snap, NULL) != 0 ||
	    rbd_run(&a, RBD_TIMEOUT_MS, "snap", "protect", snap, NULL) != 0) {
		image_discard(&a, s->rbd_pool, part);
		goto out;
	}
	rc = rbd_run(&a, RBD_TIMEOUT_MS, "rename", spec_part, spec_name,
		     NULL);
	if (rc == 2) {
		/* another node imported it meanwhile: theirs stays */
		image_discard(&a, s->rbd_pool, part);
	} else if (rc != 0) {
		image_discard(&a, s->rbd_pool, part);
		goto out;
	} else {
		log_info("image %s imported into rbd pool '%s' as '%s' in "
			 "%.1f s",
			 s->image_sha256, s->rbd_pool, name,
			 (double)(time_mono_ns() - t0) / 1e9);
	}
	ret = 0;
out:
	if (raw[0])
		unlink(raw);
	if (ret < 0)
		err_prefix("vm '%s': importing image %s into rbd pool '%s'",
			   s->name, s->image_sha256, s->rbd_pool);
	return ret;
}

/* Whether s's clone exists (`rbd info`): 1, 0, or -1 with err_set();
 * its spec into vm (256 bytes). */
static int clone_exists(struct rbd_args *a, const struct agent_vm_spec *s,
			char *vm)
{
	char name[AGENT_RBD_NAME_LEN];
	int rc;

	agent_rbd_vm_name(s->vm_id, name);
	image_spec(vm, 256, s->rbd_pool, name, NULL);
	rc = rbd_run(a, RBD_TIMEOUT_MS, "info", vm, NULL);
	if (rc < 0)
		return err_prefix("vm '%s': pool '%s'", s->name, s->rbd_pool);
	return rc == 0;
}

/* s's clone (spec vm), known absent, cloned and grown. */
static int clone_create(struct rbd_args *a, const struct agent_vm_spec *s,
			const char *vm)
{
	char name[AGENT_RBD_NAME_LEN], snap[256], size[32];
	int rc;

	agent_rbd_image_name(s->image_sha256, name);
	image_spec(snap, sizeof(snap), s->rbd_pool, name, "base");
	snprintf(size, sizeof(size), "%" PRId64 "G", s->disk_gib);
	rc = rbd_run(a, RBD_TIMEOUT_MS, "clone", snap, vm, NULL);
	if (rc != 0 && rc != 2)
		return err_prefix("vm '%s': cloning '%s'", s->name, snap);
	/* the image is no larger than the flavor's disk (the controller
	 * checked): this grows it, never shrinks it. A clone that could not
	 * be grown goes again (the next pass clones and grows it anew:
	 * one found by "info" is taken as it is) */
	if (rbd_run(a, RBD_TIMEOUT_MS, "resize", "--no-progress", "--size",
		    size, vm, NULL) != 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err_msg());
		rbd_run(a, RBD_TIMEOUT_MS, "rm", "--no-progress", vm, NULL);
		return err_set("vm '%s': growing '%s' to %s: %s", s->name, vm,
			       size, why);
	}
	log_info("vm '%s' (%s): disk '%s' cloned from '%s'", s->name,
		 s->vm_id, vm, snap);
	return 0;
}

int agent_rbd_clone_exists(const char *ceph_dir,
			   const struct agent_vm_spec *s)
{
	struct rbd_args a;
	char vm[256];

	if (rbd_args_init(&a, ceph_dir, s) < 0)
		return err_prefix("vm '%s'", s->name);
	return clone_exists(&a, s, vm);
}

int agent_rbd_disk_make(const char *ceph_dir, const struct agent_vm_spec *s,
			const char *cached, const char *tmp_dir,
			const char *node)
{
	struct rbd_args a;
	char name[AGENT_RBD_NAME_LEN], vm[256];

	if (rbd_args_init(&a, ceph_dir, s) < 0)
		return err_prefix("vm '%s'", s->name);
	agent_rbd_vm_name(s->vm_id, name);
	image_spec(vm, sizeof(vm), s->rbd_pool, name, NULL);
	if (cached &&
	    agent_rbd_image_ensure(ceph_dir, s, cached, tmp_dir, node) < 0)
		return -1;
	return clone_create(&a, s, vm);
}

int agent_rbd_disk_ensure(const char *ceph_dir, const struct agent_vm_spec *s,
			  const char *cached, const char *tmp_dir,
			  const char *node)
{
	int rc = agent_rbd_clone_exists(ceph_dir, s);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	return agent_rbd_disk_make(ceph_dir, s, cached, tmp_dir, node);
}

int agent_rbd_clone_remove(const char *ceph_dir,
			   const struct agent_vm_spec *s)
{
	struct rbd_args a;
	char name[AGENT_RBD_NAME_LEN], vm[256], total[32];
	int rc;

	if (rbd_args_init(&a, ceph_dir, s) < 0)
		return err_prefix("vm '%s'", s->name);
	agent_rbd_vm_name(s->vm_id, name);
	image_spec(vm, sizeof(vm), s->rbd_pool, name, NULL);
	if (s->wipe) {
		snprintf(total, sizeof(total), "%" PRId64 "G", s->disk_gib);
		rc = rbd_run(&a, RBD_IMPORT_TIMEOUT_MS, "bench", "--io-type",
			     "write", "--io-pattern", "seq", "--io-size", "4M",
			     "--io-total", total, vm, NULL);
		if (rc == 1)
			return 0;
		if (rc != 0)
			return err_prefix("vm '%s': wiping '%s'", s->name, vm);
		log_info("vm '%s' (%s): disk '%s' wiped", s->name, s->vm_id,
			 vm);
	}
	rc = rbd_run(&a, RBD_TIMEOUT_MS, "rm", "--no-progress", vm, NULL);
	if (rc < 0 || rc == 2)
		return err_prefix("vm '%s': removing '%s'", s->name, vm);
	if (rc == 0)
		log_info("vm '%s' (%s): disk '%s' removed", s->name, s->vm_id,
			 vm);
	return 0;
}
