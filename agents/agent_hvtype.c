#include <sys/stat.h>
#include <unistd.h>

#include "agents/agent_hvtype.h"
#include "common/err.h"
#include "common/util.h"

/* root/rel into buf; false when it does not fit. */
static bool path_under(char *buf, size_t size, const char *root,
		       const char *rel)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	return snprintf(buf, size, "%.*s%s", (int)n,
			strcmp(root, "/") == 0 ? "" : root, rel) < (int)size;
}

void agent_hvtype_facts(const char *root, struct agent_hvtype_facts *f)
{
	char path[PATH_MAX];
	struct stat sb;

	memset(f, 0, sizeof(*f));
	f->dev_kvm = path_under(path, sizeof(path), root, "/dev/kvm") &&
		     access(path, R_OK | W_OK) == 0;
	f->kvm_pvm = path_under(path, sizeof(path), root,
				"/sys/module/kvm_pvm") &&
		     stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int agent_hvtype_setting_check(const char *s)
{
	if (strcmp(s, "auto") == 0 || strcmp(s, "kvm") == 0 ||
	    strcmp(s, "qemu") == 0)
		return 0;
	return err_set("virt_type '%s': expected auto, kvm or qemu", s);
}

int agent_hvtype_judge(const struct agent_hvtype_facts *f,
		       const char *setting, struct agent_hvtype_verdict *v)
{
	const char *type, *why;

	memset(v, 0, sizeof(*v));
	if (setting == NULL)
		setting = "auto";
	if (agent_hvtype_setting_check(setting) < 0)
		return -1;
	if (!f->dev_kvm) {
		type = "qemu";
		why = "no usable /dev/kvm: guests run under TCG emulation";
	} else if (f->kvm_pvm) {
		type = "qemu";
		why = "/dev/kvm is the paravirtual nested KVM (kvm_pvm), "
		      "which cannot run guest firmware or boot loaders: "
		      "guests run under TCG emulation";
	} else {
		type = "kvm";
		why = "hardware KVM (/dev/kvm)";
	}
	if (strcmp(setting, "auto") == 0) {
		str_copy(v->type, sizeof(v->type), type);
		str_copy(v->reason, sizeof(v->reason), why);
	} else {
		str_copy(v->type, sizeof(v->type), setting);
		snprintf(v->reason, sizeof(v->reason),
			 "virt_type = %s in the agent's config (detected: %s)",
			 setting, why);
	}
	return 0;
}
