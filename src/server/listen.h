/*
 * listen: the server's listening socket, made before the HTTP library
 * starts, and the URLs devices should be given.
 *
 * With no --bind the socket is IPv6 with IPV6_V6ONLY off, so one socket
 * takes IPv4 and IPv6 clients on every interface; hosts without IPv6 fall
 * back to 0.0.0.0. (updateserver.py bound gethostbyname(gethostname()),
 * often 127.0.1.1, which no device can reach.) Knows sockets, not HTTP.
 */
#ifndef OTA_LISTEN_H
#define OTA_LISTEN_H

#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#define LISTEN_BACKLOG 1024

/*
 * Binds and listens on bind ("" = every interface) and port (0 = any).
 * On failure writes a one-line reason naming the address to err[errsz].
 */
__attribute__((warn_unused_result))
enum ota_status listen_open(const char *bind, uint16_t port, int *fd,
    char *err, size_t errsz);

/* The port fd is bound to, 0 on error. */
uint16_t listen_port(int fd);

/* Logs (INFO) one URL per address devices can reach the server at. */
void listen_log_urls(int fd, const char *bind);

#endif
