/*
 * agent_virt_volume.c - the storage side of agent_virt (agent_virt.h,
 * agent_virt_priv.h): the libvirt dir pool over storage_dir, the paths of
 * a VM's disk and console log, and the disk files themselves (created as
 * pool volumes, over a base image from image_dir when the spec names
 * one). Called on the thread that runs the operation; these functions
 * take no lock (libvirt connections are thread-safe).
 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "agents/agent_virt_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

/* storage_dir/vm_id.suffix into buf (size bytes). */
static int vm_file_path(const struct agent_virt *v, const char *vm_id,
			const char *suffix, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/%s.%s", v->storage_dir, vm_id, suffix) >=
	    (int)size)
		return err_set("storage_dir '%s' is too long", v->storage_dir);
	return 0;
}

int agent_virt_disk_path(const struct agent_virt *v, const char *vm_id,
			 char *buf, size_t size)
{
	return vm_file_path(v, vm_id, "qcow2", buf, size);
}

/* See agent_virt_priv.h. */
int agent_virt_seed_path(const struct agent_virt *v, const char *vm_id,
			 char *buf, size_t size)
{
	return vm_file_path(v, vm_id, "seed.iso", buf, size);
}

/* See agent_virt_priv.h. */
int agent_virt_console_path(const struct agent_virt *v, const char *vm_id,
			    char *buf, size_t size)
{
	return vm_file_path(v, vm_id, "console.log", buf, size);
}

/* A libvirt object XML (pool, volume) built with libxml2 like the domain
 * XML: the paths in it come from the config and must be escaped too. */
static xmlNodePtr xml_child(xmlNodePtr parent, const char *name,
			    const char *text)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);

	if (n && text)
		xmlNodeAddContent(n, BAD_CAST text);
	return n;
}

/* A new document whose root element is called name; NULL when out of
 * memory. xml_finish() frees it. */
static xmlNodePtr xml_root(const char *name)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST name) : NULL;

	if (root == NULL) {
		xmlFreeDoc(doc);
		return NULL;
	}
	xmlDocSetRootElement(doc, root);
	return root;
}

/* The text of root's document when ok (the caller frees it), and the
 * document freed; root may be NULL. NULL with an error when !ok (a
 * node could not be added) or out of memory. */
static char *xml_finish(xmlNodePtr root, bool ok)
{
	xmlChar *mem = NULL;
	char *s = NULL;
	int size = 0;

	if (root && ok) {
		xmlDocDumpMemory(root->doc, &mem, &size);
		if (mem)
			s = strdup((const char *)mem);
		xmlFree(mem);
	}
	if (root)
		xmlFreeDoc(root->doc);
	if (s == NULL)
		err_set("out of memory");
	return s;
}

static char *pool_xml(const char *name, const char *path)
{
	xmlNodePtr root = xml_root("pool"), target = NULL;

	if (root) {
		xmlSetProp(root, BAD_CAST "type", BAD_CAST "dir");
		xml_child(root, "name", name);
		target = xml_child(root, "target", NULL);
	}
	return xml_finish(root, target && xml_child(target, "path", path));
}

/* The dir pool over storage_dir. With it, libvirt knows the disks, and
 * a live migration without shared storage can precreate them on the
 * target node (whose agent defined the same pool over the same path). */
int agent_virt_pool_ensure(struct agent_virt *v)
{
	virStoragePoolPtr pool = NULL, other;
	char real[PATH_MAX], name[64], *copy;
	const char *pool_name;
	char *xml = NULL;
	int ret = -1;

	if (dir_create(v->storage_dir, 0711) < 0)
		return err_prefix("storage_dir");
	/* the test driver has no pools: the directory is all there is */
	if (v->test_driver)
		return 0;
	if (realpath(v->storage_dir, real) == NULL)
		return err_set_errno(errno, "storage_dir '%s'", v->storage_dir);
	pool = virStoragePoolLookupByTargetPath(v->conn, real);
	if (pool == NULL) {
		uint32_t h = 2166136261u;

		str_copy(name, sizeof(name), "fincloud");
		other = virStoragePoolLookupByName(v->conn, name);
		if (other) {
			/* "fincloud" serves another directory: name this
			 * one after its path. */
			virStoragePoolFree(other);
			for (const char *p = real; *p; p++)
				h = (h ^ (unsigned char)*p) * 16777619u;
			snprintf(name, sizeof(name), "fincloud-%08" PRIx32, h);
		}
		xml = pool_xml(name, real);
		if (xml == NULL)
			goto out;
		pool = virStoragePoolDefineXML(v->conn, xml, 0);
		if (pool == NULL) {
			err_set("cannot define storage pool '%s' over '%s': %s",
				name, real, agent_virt_msg());
			goto out;
		}
		log_info("defined libvirt storage pool '%s' over '%s'", name,
			 real);
	}
	if (virStoragePoolIsActive(pool) != 1 &&
	    virStoragePoolCreate(pool, 0) < 0) {
		err_set("cannot start storage pool over '%s': %s", real,
			agent_virt_msg());
		goto out;
	}
	virStoragePoolSetAutostart(pool, 1);
	/* A pool found by its path may have any name: a cut copy would
	 * name another pool, or none, at the next disk creation. */
	pool_name = virStoragePoolGetName(pool);
	copy = pool_name ? strdup(pool_name) : NULL;
	if (copy == NULL) {
		err_set("out of memory");
		goto out;
	}
	free(v->pool_name);
	v->pool_name = copy;
	ret = 0;
out:
	if (pool)
		virStoragePoolFree(pool);
	free(xml);
	return ret;
}

int agent_virt_pool_active(struct agent_virt *v)
{
	virStoragePoolPtr pool;
	int rc = 0;

	if (v->test_driver)
		return 1;
	if (v->pool_name == NULL)
		return 0;
	pool = virStoragePoolLookupByName(v->conn, v->pool_name);
	if (pool) {
		rc = virStoragePoolIsActive(pool) == 1;
		virStoragePoolFree(pool);
	}
	return rc;
}

int agent_virt_pool_repair(struct agent_virt *v)
{
	return agent_virt_pool_ensure(v);
}

/* The first size bytes of the file at path into h: how many were read,
 * -1 when it cannot be opened. */
static ssize_t file_head(const char *path, unsigned char *h, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = -1;

	if (fd >= 0) {
		got = read(fd, h, size);
		close(fd);
	}
	return got;
}

/* "qcow2" when path starts with the qcow2 magic, else "raw". */
static const char *image_format(const char *path)
{
	unsigned char magic[4];

	if (file_head(path, magic, sizeof(magic)) == 4 &&
	    memcmp(magic, "QFI\xfb", 4) == 0)
		return "qcow2";
	return "raw";
}

/* See agent_virt_priv.h. */
bool agent_virt_disk_backed(const char *path)
{
	unsigned char h[16] = { 0 };

	if (file_head(path, h, sizeof(h)) != 16 ||
	    memcmp(h, "QFI\xfb", 4) != 0)
		return false;
	for (int i = 8; i < 16; i++)
		if (h[i])
			return true;
	return false;
}

static char *volume_xml(const char *name, int64_t gib, const char *backing,
			const char *backing_format)
{
	xmlNodePtr root = xml_root("volume"), n, target, perms, bs;
	char num[32];
	bool ok = false;

	if (root == NULL)
		goto out;
	xml_child(root, "name", name);
	snprintf(num, sizeof(num), "%" PRId64, gib);
	n = xml_child(root, "capacity", num);
	if (n == NULL)
		goto out;
	xmlSetProp(n, BAD_CAST "unit", BAD_CAST "GiB");
	target = xml_child(root, "target", NULL);
	if (target == NULL)
		goto out;
	n = xml_child(target, "format", NULL);
	if (n == NULL)
		goto out;
	xmlSetProp(n, BAD_CAST "type", BAD_CAST "qcow2");
	perms = xml_child(target, "permissions", NULL);
	if (perms == NULL || xml_child(perms, "mode", "0600") == NULL)
		goto out;
	if (backing) {
		bs = xml_child(root, "backingStore", NULL);
		if (bs == NULL || xml_child(bs, "path", backing) == NULL)
			goto out;
		n = xml_child(bs, "format", NULL);
		if (n == NULL)
			goto out;
		xmlSetProp(n, BAD_CAST "type",
			   BAD_CAST(backing_format ? backing_format
						   : image_format(backing)));
	}
	ok = true;
out:
	return xml_finish(root, ok);
}

/* See agent_virt_priv.h. */
int agent_virt_disk_create(struct agent_virt *v,
			   const struct agent_vm_spec *spec, const char *disk)
{
	virStoragePoolPtr pool = NULL;
	virStorageVolPtr vol = NULL;
	char backing[PATH_MAX], volname[64];
	char *xml = NULL;
	int ret = -1;

	if (access(disk, F_OK) == 0)
		return 0; /* left by an earlier attempt: reuse it */
	if (spec->image_sha256[0]) {
		/* the catalogue image, fetched and checked by the loop
		 * (agent_image.h) before it asked for this disk */
		if (snprintf(backing, sizeof(backing), "%s/sha256/%s",
			     v->image_dir, spec->image_sha256) >=
		    (int)sizeof(backing))
			return err_set("image_dir '%s' is too long",
				       v->image_dir);
		if (access(backing, R_OK) != 0)
			return err_set("vm '%s': image %s is not in the image "
				       "cache", spec->name, spec->image_sha256);
	} else if (spec->base_image[0]) {
		if (snprintf(backing, sizeof(backing), "%s/%s", v->image_dir,
			     spec->base_image) >= (int)sizeof(backing))
			return err_set("image_dir '%s' is too long",
				       v->image_dir);
		if (access(backing, R_OK) != 0)
			return err_set("vm '%s': base image '%s' not found in "
				       "image_dir '%s': copy it there first",
				       spec->name, spec->base_image,
				       v->image_dir);
	}
	snprintf(volname, sizeof(volname), "%s.qcow2", spec->vm_id);
	xml = volume_xml(volname, spec->disk_gib,
			 spec->base_image[0] || spec->image_sha256[0] ? backing
								     : NULL,
			 spec->image_sha256[0] ? spec->image_format : NULL);
	if (xml == NULL)
		goto out;
	pool = virStoragePoolLookupByName(v->conn, v->pool_name);
	if (pool == NULL) {
		err_set("storage pool '%s' is gone: %s", v->pool_name,
			agent_virt_msg());
		goto out;
	}
	vol = virStorageVolCreateXML(pool, xml, 0);
	if (vol == NULL && virGetLastErrorCode() == VIR_ERR_STORAGE_VOL_EXIST) {
		/* The pool still lists a file removed behind its back: a
		 * refresh (a scan of the directory) brings its view up to
		 * date. Only then, as it costs a scan per call. */
		virStoragePoolRefresh(pool, 0);
		vol = virStorageVolCreateXML(pool, xml, 0);
	}
	if (vol == NULL) {
		err_set("vm '%s': cannot create disk '%s': %s", spec->name,
			disk, agent_virt_msg());
		goto out;
	}
	ret = 0;
out:
	virResetLastError();
	if (vol)
		virStorageVolFree(vol);
	if (pool)
		virStoragePoolFree(pool);
	free(xml);
	return ret;
}

/* The pool volume of the file at path; NULL when the pool does not know
 * it, even after a refresh (a scan of the directory). */
static virStorageVolPtr volume_of(struct agent_virt *v, const char *path)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(v->conn, path);
	virStoragePoolPtr pool;

	if (vol == NULL && v->pool_name) {
		pool = virStoragePoolLookupByName(v->conn, v->pool_name);
		if (pool) {
			virStoragePoolRefresh(pool, 0);
			virStoragePoolFree(pool);
			vol = virStorageVolLookupByPath(v->conn, path);
		}
	}
	virResetLastError();
	return vol;
}

/* See agent_virt_priv.h. */
int agent_virt_disk_remove(struct agent_virt *v, const char *path, bool wipe)
{
	virStorageVolPtr vol;
	int ret = 0;

	if (access(path, F_OK) != 0)
		return 0;
	vol = volume_of(v, path);
	if (wipe && (vol == NULL || virStorageVolWipe(vol, 0) < 0))
		ret = err_set("cannot wipe disk '%s': %s", path,
			      vol ? agent_virt_msg() : "not a pool volume");
	else if (wipe)
		log_info("disk '%s': wiped", path);
	/* The pool's delete, else (a file it does not know) unlink. */
	if (ret == 0 && (vol == NULL || virStorageVolDelete(vol, 0) < 0) &&
	    unlink(path) < 0 && errno != ENOENT)
		ret = err_set_errno(errno, "cannot remove disk '%s'", path);
	virResetLastError();
	if (vol)
		virStorageVolFree(vol);
	return ret;
}

/* See agent_virt_priv.h. */
int agent_virt_files_remove(struct agent_virt *v, const char *uuid,
			    bool wipe)
{
	char disk[PATH_MAX], console[PATH_MAX], seed[PATH_MAX];

	if (agent_virt_disk_path(v, uuid, disk, sizeof(disk)) < 0 ||
	    agent_virt_console_path(v, uuid, console, sizeof(console)) < 0 ||
	    agent_virt_seed_path(v, uuid, seed, sizeof(seed)) < 0)
		return -1;
	if (agent_virt_disk_remove(v, disk, wipe) < 0)
		return -1;
	/* the seed holds the VM's user-data: it goes with the disk */
	if (agent_virt_disk_remove(v, seed, false) < 0)
		return -1;
	if (unlink(console) < 0 && errno != ENOENT)
		return err_set_errno(errno, "cannot remove console log '%s'",
				     console);
	return 0;
}

int agent_virt_purge(struct agent_virt *v, const char *uuid)
{
	bool missing;
	virDomainPtr dom = agent_virt_lookup_managed(v, uuid, &missing);
	int ret;

	if (dom) {
		virDomainFree(dom);
		return err_set("vm %s is still defined here: its disk stays",
			       uuid);
	}
	if (!missing) /* foreign, or libvirt could not say */
		return err_prefix("its disk stays");
	ret = agent_virt_files_remove(v, uuid, false);
	if (ret == 0)
		log_info("vm %s: its disk and console log left this node",
			 uuid);
	return ret;
}

int agent_virt_storage_files(struct agent_virt *v, char ***out, size_t *n)
{
	DIR *d = opendir(v->storage_dir);
	struct dirent *e;
	char **names = NULL, **grown;
	size_t count = 0;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (d == NULL && errno == ENOENT)
		return 0; /* nothing stored yet (the test driver makes none) */
	if (d == NULL)
		return err_set_errno(errno, "storage_dir '%s'", v->storage_dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		grown = realloc(names, (count + 2) * sizeof(*names));
		if (grown == NULL)
			goto oom;
		names = grown;
		names[count] = strdup(e->d_name);
		if (names[count] == NULL)
			goto oom;
		names[++count] = NULL;
	}
	*out = names;
	*n = count;
	names = NULL;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	agent_virt_strv_free(names);
	closedir(d);
	return ret;
}

void agent_virt_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int agent_virt_storage_remove(struct agent_virt *v, const char *file)
{
	char path[PATH_MAX];

	if (strchr(file, '/') || file[0] == '.' ||
	    snprintf(path, sizeof(path), "%s/%s", v->storage_dir, file) >=
		    (int)sizeof(path))
		return err_set("'%s' is not a file of storage_dir", file);
	return agent_virt_disk_remove(v, path, false);
}
