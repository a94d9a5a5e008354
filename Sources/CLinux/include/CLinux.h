#ifndef ATOM_CLINUX_H
#define ATOM_CLINUX_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stddef.h>

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; writes the peer's address as text into `address`
/// (at least INET6_ADDRSTRLEN bytes). Returns the new fd, or -1 with errno set.
int atom_accept(int fd, char *address, size_t address_length);

/// Creates a non-blocking TCP listening socket bound to `host`:`port` (IPv4 or IPv6 literal) with
/// SO_REUSEADDR. Returns the fd, or -1 with errno set (-2 when `host` is not an IP literal).
int atom_listen(const char *host, int port, int backlog);

/// The port a bound socket listens on, or -1.
int atom_local_port(int fd);

/// Names the calling thread for the kernel (`comm`: top -H, perf); `name` is at most 15 bytes.
int atom_set_thread_name(const char *name);

/// Sets an int-valued socket option.
int atom_setsockopt_int(int fd, int level, int name, int value);

/// SO_LINGER {on, 0}: the next close() sends RST and discards unsent data.
int atom_set_linger_reset(int fd);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends no child process inherits by accident.
int atom_pipe_cloexec(int fds[2]);

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
long atom_raise_nofile_limit(void);
/// Pages of the open file `fd` that are dirty in the page cache (written, not yet on disk), from
/// the cachestat system call (Linux 6.5). Returns -1 with errno set (ENOSYS on older kernels).
long long atom_dirty_pages(int fd);
#endif
