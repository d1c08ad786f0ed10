// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "fileio.h"

static int fsync_parent_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret;

	if (strlen(path) >= sizeof(copy)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

int meshnet_atomic_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	size_t done = 0;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode))
		goto err_close;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto err_close;
		done += (size_t)n;
	}
	if (fsync(fd))
		goto err_close;
	if (close(fd))
		goto err_unlink;
	if (rename(tmp, path))
		goto err_unlink;
	return fsync_parent_dir(path);

err_close:
	saved = errno;
	close(fd);
	errno = saved;
err_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}

static char *read_fd(int fd, size_t max, size_t *len)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *bigger;

			if (cap >= max + 1) {
				OPENSSL_cleanse(buf, used);
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			bigger = malloc(cap + 1);
			if (!bigger) {
				OPENSSL_cleanse(buf, used);
				free(buf);
				return NULL;
			}
			memcpy(bigger, buf, used);
			OPENSSL_cleanse(buf, used);
			free(buf);
			buf = bigger;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			OPENSSL_cleanse(buf, used);
			free(buf);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max) {
		OPENSSL_cleanse(buf, used);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[used] = '\0';
	*len = used;
	return buf;
}

char *meshnet_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	int saved;

	if (fd < 0)
		return NULL;
	buf = read_fd(fd, max, len);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

void meshnet_free_secret(char *buf, size_t len)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

int meshnet_read_secret_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	buf = read_fd(fd, max, len);
	saved = errno;
	close(fd);
	if (!buf) {
		errno = saved;
		return -1;
	}
	if (*len && buf[*len - 1] == '\n')
		buf[--*len] = '\0';
	if (*len && buf[*len - 1] == '\r')
		buf[--*len] = '\0';
	*out = buf;
	return 0;
}

int meshnet_read_key_file(const char *path, uint8_t *key, size_t n)
{
	char *text;
	size_t len;
	int ret;

	if (meshnet_read_secret_file(path, 4096, &text, &len))
		return -1;
	ret = meshnet_b64_decode_exact(key, n, text);
	meshnet_free_secret(text, len + 1);
	if (ret)
		errno = EINVAL;
	return ret;
}

int meshnet_write_key_file(const char *path, const uint8_t *key, size_t n)
{
	char *text;
	size_t len = MESHNET_B64_LEN(n);
	int ret;

	text = malloc(len + 2);
	if (!text)
		return -1;
	meshnet_b64_encode(text, key, n);
	text[len] = '\n';
	text[len + 1] = '\0';
	ret = meshnet_atomic_write(path, text, len + 1, 0600);
	OPENSSL_cleanse(text, len + 2);
	free(text);
	return ret;
}
