/* _DEFAULT_SOURCE: IFF_UP and getifaddrs are BSD, not POSIX. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/str.h"
#include "server/listen.h"
#include "common/banned.h"

static int
open_one(const struct sockaddr *sa, socklen_t len, int dual)
{
	int one = 1, zero = 0;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, dual ? &zero : &one, sizeof(int)) != 0) ||
	    bind(fd, sa, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

enum ota_status
listen_open(const char *bind, uint16_t port, int *fd, char *err,
    size_t errsz)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8];
	int r, e = 0;

	*fd = -1;
	(void)!str_fmt(portstr, sizeof(portstr), "%u", (unsigned)port);
	if (bind[0] == '\0') {
		struct sockaddr_in6 s6;
		struct sockaddr_in s4;

		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons(port);
		s6.sin6_addr = in6addr_any;
		if ((*fd = open_one((struct sockaddr *)&s6, sizeof(s6), 1)) >= 0)
			return OTA_OK;
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(port);
		s4.sin_addr.s_addr = htonl(INADDR_ANY);
		if ((*fd = open_one((struct sockaddr *)&s4, sizeof(s4), 0)) >= 0)
			return OTA_OK;
		(void)!str_fmt(err, errsz, "cannot listen on port %u: %s",
		    (unsigned)port, strerror(errno));
		return OTA_E_IO;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((r = getaddrinfo(bind, portstr, &hints, &res)) != 0) {
		(void)!str_fmt(err, errsz, "cannot resolve bind address '%s': "
		    "%s", bind, gai_strerror(r));
		return OTA_E_INVALID;
	}
	for (ai = res; ai != NULL && *fd < 0; ai = ai->ai_next) {
		*fd = open_one(ai->ai_addr, ai->ai_addrlen, 0);
		if (*fd < 0)
			e = errno;
	}
	freeaddrinfo(res);
	if (*fd >= 0)
		return OTA_OK;
	(void)!str_fmt(err, errsz, "cannot listen on %s port %u: %s", bind,
	    (unsigned)port, strerror(e));
	return OTA_E_IO;
}

uint16_t
listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
log_url(const struct sockaddr *sa, uint16_t port)
{
	char host[INET6_ADDRSTRLEN + 8];

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		return;
	if (sa->sa_family == AF_INET6)
		log_info("devices can use http://[%s]:%u/", host,
		    (unsigned)port);
	else
		log_info("devices can use http://%s:%u/  (AutoConnectUpdate "
		    "update(\"%s\", %u))", host, (unsigned)port, host,
		    (unsigned)port);
}

void
listen_log_urls(int fd, const char *bind)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ifaddrs *ifs, *i;
	uint16_t port = listen_port(fd);
	int v6any;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	v6any = ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(
	    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (!v6any && !(ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY))) {
		log_url((struct sockaddr *)&ss, port);
		return;
	}
	if (getifaddrs(&ifs) != 0)
		return;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_UP))
			continue;
		if (i->ifa_addr->sa_family == AF_INET6) {
			struct sockaddr_in6 s6;

			memcpy(&s6, i->ifa_addr, sizeof(s6));
			if (!v6any || IN6_IS_ADDR_LINKLOCAL(&s6.sin6_addr))
				continue;
		} else if (i->ifa_addr->sa_family != AF_INET)
			continue;
		log_url(i->ifa_addr, port);
	}
	freeifaddrs(ifs);
}
