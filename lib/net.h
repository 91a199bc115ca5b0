/* Listening addresses, written the same way by every program that serves
 * HTTP (the reporter's /metrics, the editions service): "ADDR:PORT". */
#ifndef AIJ_NET_H
#define AIJ_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* Resolves "ADDR:PORT" ("127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0"; an
 * empty ADDR is every address; port 0 lets the system pick one) into ss.
 * Returns 0, or -1 with errstr. */
int net_listen_addr(const char *listen, struct sockaddr_storage *ss,
		    socklen_t *ss_len, char *errstr, size_t errstr_size);

#endif
