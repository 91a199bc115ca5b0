#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_listen_addr(const char *listen, struct sockaddr_storage *ss,
		    socklen_t *ss_len, char *errstr, size_t errstr_size)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon || !colon[1]) {
		snprintf(errstr, errstr_size, "bad listen address '%s' (want ADDR:PORT)", listen);
		return -1;
	}
	size_t hl = (size_t)(colon - listen);
	if (hl >= sizeof(host)) {
		snprintf(errstr, errstr_size, "bad listen address '%s'", listen);
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (*end || errno || port < 0 || port > 65535) {
		snprintf(errstr, errstr_size, "bad port in listen address '%s'", listen);
		return -1;
	}
	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (gai != 0 || !ai) {
		snprintf(errstr, errstr_size, "cannot resolve '%s': %s", listen,
			 gai_strerror(gai));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*ss_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}
