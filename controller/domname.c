#include "common/err.h"
#include "controller/domname.h"

int domname_check(const char *tenant, const char *name)
{
	if (strlen(tenant) + 1 + strlen(name) > NAME_MAX_LEN)
		return err_set("the domain name '%s.%s' would be longer than "
			       "%d characters", tenant, name, NAME_MAX_LEN);
	return 0;
}

int domname_format(const char *tenant, const char *name, char *out,
		   size_t size)
{
	int n = snprintf(out, size, "%s.%s", tenant, name);

	if (n < 0 || (size_t)n >= size)
		return err_set("the domain name of VM '%s' of tenant '%s' does "
			       "not fit %zu bytes", name, tenant, size);
	return 0;
}
