/* Unit tests of agents/agent_rbd.c: the names of fincloud's RBD images,
 * the key of a cephx user read from a keyring, and a VM's clone against a
 * stand-in rbd tool on PATH (a clone that cannot be grown is removed, so
 * that the next pass clones and grows it anew). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_rbd.h"
#include "agents/agent_spec.h"
#include "common/err.h"
#include "common/util.h"

static void test_names(void **state)
{
	char out[AGENT_RBD_NAME_LEN];
	(void)state;

	agent_rbd_image_name("ab12", out);
	assert_string_equal(out, "fincloud-img-ab12");
	agent_rbd_vm_name("0c6f8e9a-1111-4222-8333-444455556666", out);
	assert_string_equal(out,
			    "fincloud-vm-0c6f8e9a-1111-4222-8333-444455556666");
}

static void test_keyring(void **state)
{
	static const char ring[] =
		"[client.admin]\n\tkey = AQADMINADMINADMIN==\n"
		"[client.fincloud-node1]\n"
		"\tkey = AQBQnWxnAAAAABAAk2wr5lRoJ3eU4Yq3h6wF9g==\r\n"
		"\tcaps mon = \"profile rbd\"\n";
	char key[128];
	(void)state;

	assert_int_equal(agent_rbd_keyring_key(ring, "fincloud-node1", key,
					       sizeof(key)), 0);
	assert_string_equal(key, "AQBQnWxnAAAAABAAk2wr5lRoJ3eU4Yq3h6wF9g==");
	assert_int_equal(agent_rbd_keyring_key(ring, "admin", key,
					       sizeof(key)), 0);
	assert_string_equal(key, "AQADMINADMINADMIN==");
	/* another user's section never answers for this one */
	assert_int_equal(agent_rbd_keyring_key(ring, "fincloud-node2", key,
					       sizeof(key)), -1);
	assert_string_equal(err_msg(),
			    "no key of 'client.fincloud-node2' in the keyring");
	assert_int_equal(agent_rbd_keyring_key("key = AQX\n", "u", key,
					       sizeof(key)), -1);
	/* a key that does not fit is refused, not cut */
	assert_int_equal(agent_rbd_keyring_key(ring, "fincloud-node1", key, 8),
			 -1);
}

/* rbd's stand-in: logs each call's verb; "info" finds no image (unless
 * FAKE_RBD_HAVE is set), "resize" fails, the rest succeed. */
static const char fake_rbd[] =
	"#!/bin/sh\n"
	"for a; do case $a in info|clone|resize|rm) v=$a;; esac; done\n"
	"echo \"$v\" >>\"$FAKE_RBD_LOG\"\n"
	"case $v in\n"
	"info) [ -n \"$FAKE_RBD_HAVE\" ] && exit 0\n"
	"echo 'rbd: error opening image: (2) No such file or "
	"directory' >&2; exit 2;;\n"
	"resize) echo 'rbd: resize error: (5) Input/output error' >&2; "
	"exit 1;;\n"
	"esac\n";

static void test_clone_not_grown_goes(void **state)
{
	char dir[] = "/tmp/fc-rbd-XXXXXX", path[4200], log[512], *text = NULL;
	struct agent_vm_spec s;
	const char *old_path = getenv("PATH");
	char saved[4096];
	FILE *f;
	(void)state;

	assert_non_null(fc_test_mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rbd", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(fake_rbd, f);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	snprintf(log, sizeof(log), "%s/log", dir);
	setenv("FAKE_RBD_LOG", log, 1);
	snprintf(saved, sizeof(saved), "%s", old_path ? old_path : "");
	snprintf(path, sizeof(path), "%s:%s", dir, saved);
	setenv("PATH", path, 1);
	memset(&s, 0, sizeof(s));
	str_copy(s.name, sizeof(s.name), "loan.r1");
	str_copy(s.vm_id, sizeof(s.vm_id),
		 "0c6f8e9a-1111-4222-8333-444455556666");
	str_copy(s.image_sha256, sizeof(s.image_sha256), "ab12");
	str_copy(s.rbd_pool, sizeof(s.rbd_pool), "vms");
	str_copy(s.rbd_monitors, sizeof(s.rbd_monitors), "10.0.0.1");
	str_copy(s.rbd_user, sizeof(s.rbd_user), "fincloud-node1");
	s.disk_gib = 4;
	assert_int_equal(agent_rbd_disk_ensure(dir, &s, NULL, NULL, NULL), -1);
	assert_non_null(strstr(err_msg(), "growing"));
	assert_non_null(strstr(err_msg(), "Input/output error"));
	setenv("PATH", saved, 1);
	f = fopen(log, "r");
	assert_non_null(f);
	text = calloc(1, 256);
	assert_non_null(text);
	assert_true(fread(text, 1, 255, f) > 0);
	fclose(f);
	assert_string_equal(text, "info\nclone\nresize\nrm\n");
	unlink(log);
	/* a VM restarted on another node finds its clone with one call:
	 * no image check, no clone */
	snprintf(path, sizeof(path), "%s:%s", dir, saved);
	setenv("PATH", path, 1);
	setenv("FAKE_RBD_HAVE", "1", 1);
	assert_int_equal(agent_rbd_disk_ensure(dir, &s, "/nonexistent", dir,
					       "node1"), 0);
	unsetenv("FAKE_RBD_HAVE");
	setenv("PATH", saved, 1);
	f = fopen(log, "r");
	assert_non_null(f);
	memset(text, 0, 256);
	assert_true(fread(text, 1, 255, f) > 0);
	fclose(f);
	assert_string_equal(text, "info\n");
	free(text);
	unlink(log);
	snprintf(path, sizeof(path), "%s/rbd", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_keyring),
		cmocka_unit_test(test_clone_not_grown_goes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
