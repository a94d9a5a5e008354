#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>

int atom_accept(int fd, char *address, size_t address_length) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    int client = accept4(fd, (struct sockaddr *)&storage, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return client;
    address[0] = 0;
    if (storage.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&storage)->sin_addr, address, (socklen_t)address_length);
    } else if (storage.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&storage)->sin6_addr, address, (socklen_t)address_length);
    }
    return client;
}

int atom_listen(const char *host, int port, int backlog) {
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    socklen_t length;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        family = AF_INET; v4->sin_family = AF_INET; v4->sin_port = htons((uint16_t)port); length = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        family = AF_INET6; v6->sin6_family = AF_INET6; v6->sin6_port = htons((uint16_t)port); length = sizeof(*v6);
    } else {
        return -2;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&storage, length) < 0 || listen(fd, backlog) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int atom_local_port(int fd) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    if (getsockname(fd, (struct sockaddr *)&storage, &length) < 0) return -1;
    if (storage.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&storage)->sin_port);
    if (storage.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&storage)->sin6_port);
    return -1;
}

int atom_setsockopt_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value));
}

long atom_raise_nofile_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    }
    return (long)limit.rlim_cur;
}

int atom_set_linger_reset(int fd) {
    struct linger value = { .l_onoff = 1, .l_linger = 0 };
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, sizeof(value));
}

int atom_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int atom_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

long long atom_dirty_pages(int fd) {
    struct { uint64_t off, len; } range = {0, 0};  // len 0: to the end of the file.
    struct { uint64_t cache, dirty, writeback, evicted, recently_evicted; } stat;
    if (syscall(SYS_cachestat, fd, &range, &stat, 0) != 0) return -1;
    return (long long)stat.dirty;
}
