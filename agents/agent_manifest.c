#include <dirent.h>

#include "agents/agent_manifest.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_one(const char *path, struct agent_vm_spec *spec)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	int ret = -1;

	if (file_read_all(path, AGENT_MANIFEST_MAX_BYTES, &text, &len) < 0)
		return -1;
	if (json_parse(text, len, path, &root) < 0)
		goto out;
	if (agent_spec_parse(root, "$", spec) < 0) {
		err_prefix("%s", path);
		goto out;
	}
	if (spec->nports) {
		/* a port's address and MAC are the controller's to give */
		agent_net_ports_free(spec->ports, spec->nports);
		spec->ports = NULL;
		spec->nports = 0;
		err_set("%s: a manifest VM has no ports: networks come from "
			"the controller", path);
		goto out;
	}
	spec->from_manifest = true;
	ret = 0;
out:
	cJSON_Delete(root);
	free(text);
	return ret;
}

int agent_manifest_load(const char *dir, struct agent_vm_spec **specs,
			size_t *nspecs, struct agent_vm_error **errs,
			size_t *nerrs)
{
	char **names = NULL;
	size_t nnames = 0;
	struct dirent *de;
	DIR *d;
	int ret = -1;

	*specs = NULL;
	*nspecs = 0;
	*errs = NULL;
	*nerrs = 0;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_set_errno(errno, "cannot read manifest_dir '%s'",
				     dir);
	}
	names = calloc(AGENT_MANIFEST_MAX_FILES, sizeof(*names));
	if (names == NULL) {
		closedir(d);
		return err_set("out of memory");
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (nnames == AGENT_MANIFEST_MAX_FILES) {
			err_set("manifest_dir '%s' holds more than %d "
				"manifests",
				dir, AGENT_MANIFEST_MAX_FILES);
			goto out;
		}
		names[nnames] = strdup(de->d_name);
		if (names[nnames] == NULL) {
			err_set("out of memory");
			goto out;
		}
		nnames++;
	}
	qsort(names, nnames, sizeof(*names), cmp_str);
	*specs = calloc(nnames + 1, sizeof(**specs));
	if (*specs == NULL) {
		err_set("out of memory");
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (load_one(path, &(*specs)[*nspecs]) == 0) {
			(*nspecs)++;
			continue;
		}
		if (agent_vm_error_add(errs, nerrs, "", names[i], err_msg()) <
		    0)
			goto out;
	}
	ret = 0;
out:
	strv_free(names, nnames);
	closedir(d);
	if (ret < 0) {
		free(*specs);
		free(*errs);
		*specs = NULL;
		*errs = NULL;
		*nspecs = *nerrs = 0;
	}
	return ret;
}
