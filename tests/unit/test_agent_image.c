/* Unit tests of agents/agent_image.c: the eviction rule (pure), and the
 * cache over a temporary directory with a fake clock (the use times are
 * set, not waited for) and a fake fetch (bytes from memory): LRU
 * eviction that never removes an image in use, a fetch checked by its
 * digest, a corrupted cached file fetched again, a controller that sends
 * other bytes twice refused; the fetch sink (agent_fetchsink.c) over
 * uneven pieces, and a file it cannot write. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_fetchsink.h"
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

static int fake_fetch(void *ud, const char *sha256, agent_image_sink_fn sink,
		      void *sink_ud)
{
	struct fake *f = ud;
	const char *b = f->bytes[f->calls < 3 ? f->calls : 2];

	(void)sha256;
	f->calls++;
	/* in two pieces, as a transfer hands them over */
	return sink(sink_ud, b, 3) < 0 || sink(sink_ud, b + 3, strlen(b) - 3) < 0
		       ? -1
		       : 0;
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
	assert_non_null(fc_test_mkdtemp(dir));
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

/* 5 MiB and 3 bytes in pieces of 1 to 64 KiB: the sink writes them all
 * in order and its digest is the file's. */
static void test_sink(void **state)
{
	char path[] = "/tmp/fctest-fetchsink.XXXXXX", hex[65], want[65];
	size_t total = (5u << 20) + 3, off = 0, piece = 1;
	unsigned char *data = malloc(total);
	struct agent_fetchsink *s;
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	for (size_t i = 0; i < total; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 12));
	s = agent_fetchsink_new(fd, path);
	assert_non_null(s);
	while (off < total) {
		size_t n = total - off < piece ? total - off : piece;

		assert_int_equal(agent_fetchsink_put(s, data + off, n), 0);
		off += n;
		piece = piece * 7 % 65521 + 1;
	}
	assert_int_equal(agent_fetchsink_finish(s, hex), 0);
	agent_fetchsink_free(s);
	close(fd);
	assert_int_equal(agent_image_hash_file(path, want), 0);
	assert_string_equal(hex, want);
	unlink(path);

	/* a file it cannot write: the put fails with the reason */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	s = agent_fetchsink_new(fd, "/dev/null");
	assert_non_null(s);
	assert_int_equal(agent_fetchsink_put(s, data, 4096), -1);
	assert_non_null(strstr(err_msg(), "cannot write '/dev/null'"));
	agent_fetchsink_free(s);
	close(fd);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
