/* Unit tests of controller/image.c: what qemu-img info --output=json
 * says, read into an accepted image or refused with the problem named
 * (recorded outputs of qemu-img 7.2), and an upload's size limit. */
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "common/err.h"
#include "controller/image.h"

static const char qcow2[] =
	"{\"virtual-size\": 16777216, \"filename\": \"base.qcow2\", "
	"\"cluster-size\": 65536, \"format\": \"qcow2\", \"actual-size\": "
	"200704, \"format-specific\": {\"type\": \"qcow2\", \"data\": "
	"{\"compat\": \"1.1\", \"compression-type\": \"zlib\", "
	"\"lazy-refcounts\": false, \"refcount-bits\": 16, \"corrupt\": "
	"false, \"extended-l2\": false}}, \"dirty-flag\": false}";
static const char backed[] =
	"{\"backing-filename-format\": \"raw\", \"virtual-size\": 16777216, "
	"\"filename\": \"back.qcow2\", \"format\": \"qcow2\", "
	"\"full-backing-filename\": \"/etc/hostname\", \"backing-filename\": "
	"\"/etc/hostname\", \"dirty-flag\": false}";
static const char datafile[] =
	"{\"virtual-size\": 16777216, \"filename\": \"dat.qcow2\", "
	"\"format\": \"qcow2\", \"format-specific\": {\"type\": \"qcow2\", "
	"\"data\": {\"compat\": \"1.1\", \"data-file\": \"/tmp/x/data.raw\", "
	"\"data-file-raw\": false, \"corrupt\": false}}}";
static const char raw[] =
	"{\"virtual-size\": 2097152, \"filename\": \"disk.raw\", \"format\": "
	"\"raw\", \"actual-size\": 2101248, \"dirty-flag\": false}";
static const char vmdk[] =
	"{\"virtual-size\": 16777216, \"filename\": \"d.vmdk\", \"format\": "
	"\"vmdk\"}";
static const char corrupt[] =
	"{\"virtual-size\": 1048576, \"format\": \"qcow2\", "
	"\"format-specific\": {\"type\": \"qcow2\", \"data\": {\"corrupt\": "
	"true}}}";

static int parse(const char *s, struct image_info *info)
{
	return image_info_parse(s, strlen(s), info);
}

static void test_info(void **state)
{
	struct image_info info;

	(void)state;
	assert_int_equal(parse(qcow2, &info), 0);
	assert_string_equal(info.format, "qcow2");
	assert_int_equal(info.virtual_size, 16777216);
	assert_int_equal(parse(raw, &info), 0);
	assert_string_equal(info.format, "raw");
	assert_int_equal(info.virtual_size, 2097152);

	assert_int_equal(parse(backed, &info), -1);
	assert_non_null(strstr(err_msg(), "backing file ('/etc/hostname')"));
	assert_int_equal(parse(datafile, &info), -1);
	assert_non_null(strstr(err_msg(), "external data file"));
	assert_int_equal(parse(vmdk, &info), -1);
	assert_non_null(strstr(err_msg(), "'vmdk'"));
	assert_int_equal(parse(corrupt, &info), -1);
	assert_non_null(strstr(err_msg(), "corrupt"));
	assert_int_equal(parse("{\"format\": \"raw\", \"virtual-size\": 0}",
			       &info), -1);
	assert_int_equal(parse("{\"format\": \"raw\"}", &info), -1);
	assert_int_equal(parse("not json", &info), -1);
}

static void test_upload_limit(void **state)
{
	char dir[] = "/tmp/fctest-upload.XXXXXX", cmd[96];
	struct image_upload *u;
	char tmp[1100];

	(void)state;
	assert_non_null(fc_test_mkdtemp(dir));
	assert_int_equal(image_upload_open(dir, 8, &u), 0);
	snprintf(tmp, sizeof(tmp), "%s", u->tmp);
	assert_int_equal(access(tmp, F_OK), 0);
	assert_int_equal(image_upload_write(u, "12345", 5), 0);
	assert_int_equal(image_upload_write(u, "6789", 4), -1);
	assert_int_equal(u->status, 413);
	image_upload_finish(u);
	assert_int_equal(u->status, 413);
	assert_int_equal(image_upload_commit(u), -1);
	image_upload_free(u);
	/* nothing is left of a refused upload */
	assert_int_equal(access(tmp, F_OK), -1);
	assert_false(image_sha256_valid("../x"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_upload_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
