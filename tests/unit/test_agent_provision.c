/* Unit tests of agents/agent_provision.c's fetch thread, with a fake
 * fetch (bytes from memory) that the test holds until it lets it go:
 * while a large first fetch runs, a VM whose image is cached and a VM
 * without an image are ready at once and the waiting VM is reported as
 * waiting, not failed; the main loop is woken when the fetch ends and
 * the VM is then ready; other bytes twice fail the VM; freeing the
 * provisioner stops a fetch that would never end. */
#include <pthread.h>
#include <unistd.h>

#include "tests/unit/fc_test.h"

#include "agents/agent_config.h"
#include "agents/agent_image.h"
#include "agents/agent_provision.h"
#include "common/err.h"
#include "common/util.h"

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool held;          /* the fetch of "held" waits until false */
	bool endless;       /* the fetch sends pieces until refused */
	const char *bytes;  /* what every fetch sends */
	int fetches;
	int wakes;
};

static int fake_fetch(void *ud, const char *sha256, agent_image_sink_fn sink,
		      void *sink_ud)
{
	struct fake *f = ud;
	int rc;

	(void)sha256;
	pthread_mutex_lock(&f->lock);
	f->fetches++;
	while (f->held)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
	while (f->endless) {
		if (sink(sink_ud, "x", 1) < 0)
			return -1;
		usleep(1000);
	}
	rc = sink(sink_ud, f->bytes, strlen(f->bytes));
	return rc;
}

static void fake_wake(void *ctx)
{
	struct fake *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->wakes++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* Wait (at most 10 s) until the loop was woken n times in all. */
static bool woken(struct fake *f, int n)
{
	uint64_t deadline = time_mono_ns() + 10000000000ULL;
	bool ok;

	pthread_mutex_lock(&f->lock);
	while (f->wakes < n && time_mono_ns() < deadline) {
		pthread_mutex_unlock(&f->lock);
		usleep(2000);
		pthread_mutex_lock(&f->lock);
	}
	ok = f->wakes >= n;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

static void release(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->held = false;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void spec(struct agent_vm_spec *s, const char *name, const char *sha)
{
	memset(s, 0, sizeof(*s));
	str_copy(s->name, sizeof(s->name), name);
	snprintf(s->vm_id, sizeof(s->vm_id),
		 "00000000-0000-4000-8000-%012d", (int)strlen(name));
	str_copy(s->image_sha256, sizeof(s->image_sha256), sha);
	s->image_size = 10;
	s->want = AGENT_WANT_RUNNING;
}

static void sha_of(const char *dir, const char *bytes, char hex[65])
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/hashme", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(bytes, fp);
	fclose(fp);
	assert_int_equal(agent_image_hash_file(path, hex), 0);
	unlink(path);
}

static void test_background(void **state)
{
	char dir[] = "/tmp/fctest-provision.XXXXXX", cmd[128];
	char sa[65], sb[65], path[4400];
	struct fake f = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			 false, false, NULL, 0, 0};
	struct agent_config cfg;
	struct agent_image_cache c;
	struct agent_vm_spec specs[3];
	struct agent_provision *p;
	FILE *fp;

	(void)state;
	assert_non_null(fc_test_mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.image_dir = dir;
	cfg.image_cache_max = 1000;
	sha_of(dir, "AAAAAAAAAA", sa);
	sha_of(dir, "BBBBBBBBBB", sb);
	/* b is cached already */
	assert_int_equal(agent_image_cache_init(&c, dir, 1000), 0);
	assert_int_equal(agent_image_path(&c, sb, path, sizeof(path)), 0);
	agent_image_cache_fini(&c);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("BBBBBBBBBB", fp);
	fclose(fp);

	p = agent_provision_new(&cfg, false, fake_wake, &f);
	assert_non_null(p);
	agent_provision_set_fetch(p, fake_fetch, &f);
	spec(&specs[0], "big", sa);
	spec(&specs[1], "cached", sb);
	spec(&specs[2], "empty", "");
	assert_int_equal(agent_provision_pass_begin(p, specs, 3, NULL, 0, NULL,
						    0), 0);
	/* a's fetch is held: its VM waits, the others go on */
	f.held = true;
	f.bytes = "AAAAAAAAAA";
	assert_int_equal(agent_provision_image(p, &specs[0]), 1);
	assert_int_equal(agent_provision_image(p, &specs[1]), 0);
	assert_int_equal(agent_provision_image(p, &specs[2]), 0);
	assert_int_equal(agent_provision_image(p, &specs[0]), 1);
	agent_provision_pass_end(p, true);
	release(&f);
	assert_true(woken(&f, 1));
	assert_int_equal(agent_provision_pass_begin(p, specs, 3, NULL, 0, NULL,
						    0), 0);
	assert_int_equal(agent_provision_image(p, &specs[0]), 0);
	assert_int_equal(f.fetches, 1);
	assert_int_equal(agent_provision_wait(p), false);
	agent_provision_pass_end(p, true);

	/* other bytes twice: the VM fails, naming the mismatch */
	sha_of(dir, "CCCCCCCCCC", sa);
	spec(&specs[0], "bad", sa);
	assert_int_equal(agent_provision_pass_begin(p, specs, 1, NULL, 0, NULL,
						    0), 0);
	assert_int_equal(agent_provision_image(p, &specs[0]), 1);
	/* its two fetches may be over before the wait begins */
	(void)agent_provision_wait(p);
	assert_int_equal(agent_provision_image(p, &specs[0]), -1);
	assert_non_null(strstr(err_msg(), "vm 'bad'"));
	assert_non_null(strstr(err_msg(), "SHA-256 mismatch"));
	assert_int_equal(f.fetches, 3);
	agent_provision_pass_end(p, true);

	/* a fetch that never ends is stopped by free() */
	sha_of(dir, "DDDDDDDDDD", sa);
	spec(&specs[0], "endless", sa);
	f.endless = true;
	assert_int_equal(agent_provision_pass_begin(p, specs, 1, NULL, 0, NULL,
						    0), 0);
	assert_int_equal(agent_provision_image(p, &specs[0]), 1);
	usleep(20000);
	agent_provision_free(p);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/sha256 | grep '^\\.fetch')\"",
		 dir);
	assert_int_equal(system(cmd), 0); /* its temporary file is gone */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_background),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
