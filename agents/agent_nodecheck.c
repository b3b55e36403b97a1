#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agents/agent_nodecheck.h"
#include "agents/agent_virt.h"
#include "common/util.h"

void agent_nodecheck_add(struct agent_nodecheck_verdict *v, const char *why)
{
	size_t n = strlen(v->reasons);

	if (n + 3 >= sizeof(v->reasons))
		return;
	snprintf(v->reasons + n, sizeof(v->reasons) - n, "%s%s",
		 n ? "; " : "", why);
}

void agent_nodecheck_judge(const struct agent_nodecheck_facts *f,
			   struct agent_nodecheck_verdict *v)
{
	const char *dir = f->storage_dir ? f->storage_dir : "storage_dir";
	char why[512];

	memset(v, 0, sizeof(*v));
	if (!f->connected)
		agent_nodecheck_add(v, "libvirt: not connected");
	if (!f->dir_ok) {
		snprintf(why, sizeof(why), "storage: '%s' is missing or not "
			 "writable", dir);
		agent_nodecheck_add(v, why);
	} else if (f->connected && !f->pool_active) {
		v->repairs |= AGENT_NODECHECK_START_POOL;
	}
	if (f->free_mib >= 0 && f->free_mib < f->min_free_mib) {
		snprintf(why, sizeof(why), "disk: %lld MiB free in '%s', "
			 "below min_free_disk_mib %lld",
			 (long long)f->free_mib, dir,
			 (long long)f->min_free_mib);
		agent_nodecheck_add(v, why);
	}
}

void agent_nodecheck_facts(struct agent_virt *virt, bool connected,
			   const char *storage_dir, int64_t min_free_mib,
			   struct agent_nodecheck_facts *f)
{
	struct statvfs vfs;
	struct stat sb;

	memset(f, 0, sizeof(*f));
	f->storage_dir = storage_dir;
	f->min_free_mib = min_free_mib;
	f->connected = connected && virt != NULL;
	f->dir_ok = stat(storage_dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    access(storage_dir, W_OK | X_OK) == 0;
	f->free_mib = -1;
	if (f->dir_ok && statvfs(storage_dir, &vfs) == 0)
		f->free_mib = (int64_t)((uint64_t)vfs.f_bavail *
					vfs.f_frsize / (1024 * 1024));
	f->pool_active = f->connected && agent_virt_pool_active(virt) != 0;
}
