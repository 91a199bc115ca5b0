#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "signals.h"

int digest_file(const char *path, char hex[65], char *errstr, size_t errstr_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		snprintf(errstr, errstr_size, "cannot start a SHA-256 digest");
		EVP_MD_CTX_free(ctx);
		close(fd);
		return -1;
	}
	static unsigned char buf[1 << 16];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR && !signals_stop)
			continue;
		if (n < 0) {
			snprintf(errstr, errstr_size, "cannot read '%s': %s", path,
				 strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			snprintf(errstr, errstr_size, "SHA-256 of '%s' failed", path);
			rc = -1;
			break;
		}
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &len) != 1) {
		snprintf(errstr, errstr_size, "SHA-256 of '%s' failed", path);
		rc = -1;
	}
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (rc == 0)
		for (unsigned int i = 0; i < len && i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return rc;
}
