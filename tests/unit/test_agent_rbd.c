/* Unit tests of agents/agent_rbd.c's pure parts: the names of fincloud's
 * RBD images and the key of a cephx user read from a keyring. */
#include "tests/unit/fc_test.h"

#include "agents/agent_rbd.h"
#include "common/err.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_keyring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
