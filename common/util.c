#include <ctype.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"

int str_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (size == 0)
		return -1;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, len + 1);
	return 0;
}

bool str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *str_trim(char *s)
{
	char *end;

	while (*s && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

size_t utf8_valid_len(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			break;
		}
		if (len - i < n)
			break;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			break;
		i += n;
	}
	return i;
}

char *utf8_scrub(char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t ok = utf8_valid_len(s + i, len - i);

		for (size_t k = i; k < i + ok; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				s[k] = '?';
		i += ok;
		if (i < len)
			s[i++] = '?';
	}
	return s;
}

int name_validate(const char *what, const char *name)
{
	/* the name is shown scrubbed (utf8_scrub()): it may hold control
	 * characters or bytes that are not UTF-8 */
	char shown[NAME_MAX_LEN + 1];
	size_t len;

	if (name == NULL || name[0] == '\0')
		return err_set("%s name is empty: use 1-%d characters of "
			       "letters, digits, '.', '_' and '-'",
			       what, NAME_MAX_LEN);
	len = strlen(name);
	if (len > NAME_MAX_LEN) {
		snprintf(shown, sizeof(shown), "%.16s", name);
		return err_set("%s name '%s...' is %zu characters long: the "
			       "limit is %d",
			       what, utf8_scrub(shown), len, NAME_MAX_LEN);
	}
	str_copy(shown, sizeof(shown), name);
	utf8_scrub(shown);
	if (!isalnum((unsigned char)name[0]))
		return err_set("%s name '%s' must start with a letter or digit",
			       what, shown);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return err_set("%s name '%s' has a forbidden character "
				       "at position %zu: use letters, digits, "
				       "'.', '_' and '-'",
				       what, shown, i + 1);
	}
	return 0;
}

int parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

uint64_t time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int64_t time_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cond_init_mono(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

void cond_wait_mono(pthread_cond_t *cond, pthread_mutex_t *mutex,
		    uint64_t deadline_ns)
{
	struct timespec until = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ULL),
		.tv_nsec = (long)(deadline_ns % 1000000000ULL),
	};

	pthread_cond_timedwait(cond, mutex, &until);
}

int file_read_all(const char *path, size_t max, char **out, size_t *len)
{
	char *data = NULL;
	size_t used = 0, cap = 0;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(errno, "cannot open '%s'", path);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *p;

			if (ncap > max + 1)
				ncap = max + 1;
			if (ncap <= used + 1) {
				err_set("'%s' is larger than the %zu-byte limit",
					path, max);
				goto out;
			}
			p = realloc(data, ncap);
			if (p == NULL) {
				err_set("out of memory reading '%s'", path);
				goto out;
			}
			data = p;
			cap = ncap;
		}
		n = read(fd, data + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_set_errno(errno, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (data == NULL) {
		data = malloc(1);
		if (data == NULL) {
			err_set("out of memory reading '%s'", path);
			goto out;
		}
	}
	data[used] = '\0';
	*out = data;
	data = NULL;
	if (len)
		*len = used;
	ret = 0;
out:
	free(data);
	close(fd);
	return ret;
}

int file_write_atomic(const char *path, const void *data, size_t len,
		      unsigned mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *p = data;
	int fd, dfd, ret = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return err_set("path '%s' is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set_errno(errno, "cannot create '%s'", tmp);
	if (fchmod(fd, mode) < 0) {
		err_set_errno(errno, "cannot chmod '%s'", tmp);
		goto fail;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_set_errno(errno, "cannot write '%s'", tmp);
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		err_set_errno(errno, "cannot fsync '%s'", tmp);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		err_set_errno(errno, "cannot rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	str_copy(dir, sizeof(dir), path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

int dir_create(const char *path, unsigned mode)
{
	char buf[PATH_MAX];

	if (str_copy(buf, sizeof(buf), path) < 0)
		return err_set("path '%s' is too long", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return err_set_errno(errno, "cannot create directory '%s'",
					     buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return err_set_errno(errno, "cannot create directory '%s'", buf);
	return 0;
}

int random_hex(char *out, size_t size, size_t n)
{
	unsigned char bytes[128];
	size_t got = 0;

	if (n > sizeof(bytes) || size < 2 * n + 1)
		return err_set("random_hex: %zu bytes do not fit", n);
	while (got < n) {
		ssize_t r = getrandom(bytes + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_set_errno(errno, "getrandom failed");
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
	out[2 * n] = '\0';
	return 0;
}

bool uuid_prefix(const char *s, bool lower)
{
	for (int i = 0; i < 36; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23 ? c != '-'
		    : !isxdigit(c) || (lower && isupper(c)))
			return false;
	}
	return true;
}

int uuid_generate_v4(char out[37])
{
	char hex[33];

	if (random_hex(hex, sizeof(hex), 16) < 0)
		return -1;
	/* version 4, RFC 4122 variant */
	hex[12] = '4';
	hex[16] = "89ab"[strtol((char[]){ hex[16], 0 }, NULL, 16) & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
	return 0;
}
