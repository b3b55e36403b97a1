/* Unit tests of agents/agent_image.c: the eviction rule (pure), and the
 * cache over a temporary directory with a fake clock (the use times are
 * set, not waited for) and a fake fetch (bytes from memory): LRU
 * eviction that never removes an image in use, a fetch checked by its
 * digest, a corrupted cached file fetched again, a controller that sends
 * other bytes twice refused. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_image.h"
#include "common/err.h"
#include "common/util.h"

static void test_plan(void **state)
{
	struct agent_image_entry e[] = {
		{"a", 40, 300, false, false}, {"b", 30, 100, false, false},
		{"c", 20, 50, true, false},   {"d", 10, 200, false, false},
	};
	int64_t short_by;

	(void)state;
	/* 100 bytes in all: within 100, nothing goes */
	assert_int_equal(agent_image_evict_plan(e, 4, 100, 0, &short_by), 0);
	assert_int_equal(short_by, 0);
	/* 25 more needed: the oldest unused one (b, 30) goes; c is older
	 * but in use */
	assert_int_equal(agent_image_evict_plan(e, 4, 100, 25, &short_by), 1);
	assert_true(e[1].evict);
	assert_false(e[2].evict);
	/* 40 more: b then d */
	assert_int_equal(agent_image_evict_plan(e, 4, 100, 40, &short_by), 2);
	assert_true(e[1].evict && e[3].evict && !e[0].evict);
	/* everything unused goes and it still does not fit: short by */
	assert_int_equal(agent_image_evict_plan(e, 4, 30, 20, &short_by), 3);
	assert_false(e[2].evict);
	assert_int_equal(short_by, 10);
}

struct fake {
	const char *bytes[3]; /* what each fetch sends, in turn */
	int calls;
};

static int fake_fetch(void *ud, const char *sha256, int fd)
{
	struct fake *f = ud;
	const char *b = f->bytes[f->calls < 3 ? f->calls : 2];

	(void)sha256;
	f->calls++;
	return write(fd, b, strlen(b)) == (ssize_t)strlen(b) ? 0 : -1;
}

/* The digest of s. */
static void sha_of(const char *s, char hex[65], const char *dir)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/hashme", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
	assert_int_equal(agent_image_hash_file(path, hex), 0);
	unlink(path);
}

static char dir[] = "/tmp/fctest-imgcache.XXXXXX";

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static bool cached(const struct agent_image_cache *c, const char *sha)
{
	char path[4400];

	assert_int_equal(agent_image_path(c, sha, path, sizeof(path)), 0);
	return access(path, F_OK) == 0;
}

static void test_cache(void **state)
{
	struct agent_image_cache c;
	struct fake f = {{0}};
	char s1[65], s2[65], s3[65], path[4400];
	const char *in_use[1];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(agent_image_cache_init(&c, dir, 20), 0);
	sha_of("0123456789", s1, dir);   /* 10 bytes each */
	sha_of("abcdefghij", s2, dir);
	sha_of("ABCDEFGHIJ", s3, dir);

	/* a fetch whose bytes match lands in the cache */
	f = (struct fake){{"0123456789"}, 0};
	assert_int_equal(agent_image_ensure(&c, s1, 10, NULL, 0, fake_fetch,
					    &f, 1000000), 0);
	assert_int_equal(f.calls, 1);
	assert_true(cached(&c, s1));
	/* a second use fetches nothing */
	assert_int_equal(agent_image_ensure(&c, s1, 10, NULL, 0, fake_fetch,
					    &f, 2000000), 0);
	assert_int_equal(f.calls, 1);

	/* s2 used later than s1; the cache (20 bytes) is then full */
	f = (struct fake){{"abcdefghij"}, 0};
	assert_int_equal(agent_image_ensure(&c, s2, 10, NULL, 0, fake_fetch,
					    &f, 3000000), 0);
	/* s3 needs room: s1 (least recently used) goes, unless in use */
	in_use[0] = s1;
	f = (struct fake){{"ABCDEFGHIJ"}, 0};
	assert_int_equal(agent_image_ensure(&c, s3, 10, in_use, 1, fake_fetch,
					    &f, 4000000), 0);
	assert_true(cached(&c, s1) && !cached(&c, s2) && cached(&c, s3));
	/* over the bound with s1 in use; trimmed once it is not */
	assert_int_equal(agent_image_trim(&c, in_use, 1, 0), 0);
	assert_int_equal(agent_image_trim(&c, NULL, 0, 5), 1);
	assert_true(!cached(&c, s1) && cached(&c, s3));

	/* a corrupted cached file is fetched again, never used */
	assert_int_equal(agent_image_path(&c, s3, path, sizeof(path)), 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 3), 1);
	close(fd);
	f = (struct fake){{"ABCDEFGHIJ"}, 0};
	assert_int_equal(agent_image_ensure(&c, s3, 10, NULL, 0, fake_fetch,
					    &f, 5000000), 0);
	assert_int_equal(f.calls, 1);
	sha_of("ABCDEFGHIJ", s2, dir);
	assert_string_equal(s2, s3);

	/* bad bytes, then good: the second fetch is kept */
	sha_of("0123456789", s1, dir);
	f = (struct fake){{"0123456780", "0123456789"}, 0};
	assert_int_equal(agent_image_ensure(&c, s1, 10, NULL, 0, fake_fetch,
					    &f, 6000000), 0);
	assert_int_equal(f.calls, 2);
	/* bad bytes twice: refused, nothing left behind */
	sha_of("abcdefghij", s2, dir);
	f = (struct fake){{"abcdefghiX", "abcdefghiY"}, 0};
	assert_int_equal(agent_image_ensure(&c, s2, 10, NULL, 0, fake_fetch,
					    &f, 7000000), -1);
	assert_non_null(strstr(err_msg(), "SHA-256 mismatch"));
	assert_false(cached(&c, s2));
	/* not a digest */
	assert_int_equal(agent_image_ensure(&c, "../../etc/passwd", 1, NULL, 0,
					    fake_fetch, &f, 0), -1);
	agent_image_cache_fini(&c);
	cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
