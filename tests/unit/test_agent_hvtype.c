/* Unit tests of agents/agent_hvtype.c: the hypervisor type of a node's
 * guests as a pure function of the facts and the virt_type setting, and
 * the facts of a fake root (its dev/kvm and sys/module/kvm_pvm). */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_hvtype.h"
#include "common/err.h"

#define WHY_NONE "no usable /dev/kvm: guests run under TCG emulation"
#define WHY_PVM "/dev/kvm is the paravirtual nested KVM (kvm_pvm), which " \
		"cannot run guest firmware or boot loaders: guests run " \
		"under TCG emulation"
#define WHY_KVM "hardware KVM (/dev/kvm)"
#define BY_CONF(s, why) "virt_type = " s " in the agent's config " \
			"(detected: " why ")"

/* Each case: the facts and the setting, then the verdict wanted. */
static const struct {
	bool dev_kvm, kvm_pvm;
	const char *setting;
	const char *type, *reason;
} cases[] = {
	{true, false, "auto", "kvm", WHY_KVM},
	{true, false, NULL, "kvm", WHY_KVM},
	{false, false, "auto", "qemu", WHY_NONE},
	{true, true, "auto", "qemu", WHY_PVM},
	/* kvm_pvm loaded but no /dev/kvm: nothing to use at all */
	{false, true, "auto", "qemu", WHY_NONE},
	/* the operator's choice wins, with what detection said */
	{true, false, "qemu", "qemu", BY_CONF("qemu", WHY_KVM)},
	{true, true, "kvm", "kvm", BY_CONF("kvm", WHY_PVM)},
	{false, false, "kvm", "kvm", BY_CONF("kvm", WHY_NONE)},
};

static void test_judge(void **state)
{
	struct agent_hvtype_verdict v;
	(void)state;

	for (size_t i = 0; i < FC_ARRAY_LEN(cases); i++) {
		struct agent_hvtype_facts f = {cases[i].dev_kvm,
					       cases[i].kvm_pvm};

		assert_int_equal(agent_hvtype_judge(&f, cases[i].setting, &v),
				 0);
		assert_string_equal(v.type, cases[i].type);
		assert_string_equal(v.reason, cases[i].reason);
	}
}

static void test_bad_setting(void **state)
{
	struct agent_hvtype_facts f = {true, false};
	struct agent_hvtype_verdict v;
	(void)state;

	assert_int_equal(agent_hvtype_judge(&f, "xen", &v), -1);
	assert_string_equal(err_msg(),
			    "virt_type 'xen': expected auto, kvm or qemu");
	assert_int_equal(agent_hvtype_setting_check("KVM"), -1);
	assert_int_equal(agent_hvtype_setting_check("auto"), 0);
}

/* A fake root: with dev/kvm and sys/module/kvm_pvm as asked. */
static void fake_root(char *root, size_t size, bool dev_kvm, bool kvm_pvm)
{
	char path[512];
	FILE *f;

	snprintf(root, size, "/tmp/fc-hvtype.XXXXXX");
	assert_non_null(fc_test_mkdtemp(root));
	snprintf(path, sizeof(path), "%s/dev", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sys", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sys/module", root);
	assert_int_equal(mkdir(path, 0755), 0);
	if (dev_kvm) {
		snprintf(path, sizeof(path), "%s/dev/kvm", root);
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	if (kvm_pvm) {
		snprintf(path, sizeof(path), "%s/sys/module/kvm_pvm", root);
		assert_int_equal(mkdir(path, 0755), 0);
	}
}

static void rm_root(const char *root)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/dev/kvm", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sys/module/kvm_pvm", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys/module", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/sys", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/dev", root);
	rmdir(path);
	assert_int_equal(rmdir(root), 0);
}

static void test_facts_of_a_fake_root(void **state)
{
	(void)state;

	for (int i = 0; i < 4; i++) {
		bool dev_kvm = i & 1, kvm_pvm = i & 2;
		struct agent_hvtype_facts f;
		char root[64], slash[80];

		fake_root(root, sizeof(root), dev_kvm, kvm_pvm);
		agent_hvtype_facts(root, &f);
		assert_int_equal(f.dev_kvm, dev_kvm);
		assert_int_equal(f.kvm_pvm, kvm_pvm);
		/* a trailing slash names the same root */
		snprintf(slash, sizeof(slash), "%s/", root);
		agent_hvtype_facts(slash, &f);
		assert_int_equal(f.dev_kvm, dev_kvm);
		assert_int_equal(f.kvm_pvm, kvm_pvm);
		rm_root(root);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_bad_setting),
		cmocka_unit_test(test_facts_of_a_fake_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
