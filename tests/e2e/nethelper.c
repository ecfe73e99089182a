/* SPDX-License-Identifier: MIT */
/* End-to-end test helper: servers that report the original destination, and one-shot clients. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np, accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>, which clash with glibc. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define MAX_SOCKETS 64

typedef struct {
        int fd;
        int family;
        bool udp;
        int port;
} Listener;

static void usage(void)
{
        fprintf(stderr,
                "usage: nethelper serve NAME SPEC...   SPEC: tcp/PORT | udp/PORT[@ADDR]\n"
                "       nethelper tcp ADDR PORT [TIMEOUT_MS]\n"
                "       nethelper udp ADDR PORT [TIMEOUT_MS]\n"
                "serve: a tcp SPEC listens on 0.0.0.0 and ::, a udp SPEC on ADDR (default both\n"
                "wildcards); each accepted connection or datagram gets one reply line\n"
                "'NAME PROTO/PORT orig=DST peer=SRC' (orig: SO_ORIGINAL_DST / "
                "IP6T_SO_ORIGINAL_DST,\n"
                "'-' without conntrack; for udp the received datagram follows as 'data=...'),\n"
                "also printed on stdout. Clients print the reply or 'error ERRNO_NAME'.\n");
        exit(2);
}

static void format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
        char host[INET6_ADDRSTRLEN];

        if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
        } else if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
        } else {
                snprintf(buf, len, "?");
        }
}

/* Parses ADDR (v4 or v6 literal) and port into ss; returns the address length or 0. */
static socklen_t parse_addr(const char *addr, int port, struct sockaddr_storage *ss)
{
        memset(ss, 0, sizeof(*ss));
        if (strchr(addr, ':')) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
                        return 0;
                return sizeof(*in6);
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *)ss;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t)port);
                if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
                        return 0;
                return sizeof(*in);
        }
}

static int open_listener(Listener *l, const char *addr)
{
        struct sockaddr_storage ss;
        socklen_t sl = parse_addr(addr, l->port, &ss);
        int one = 1;

        if (!sl)
                return -EINVAL;
        l->family = ss.ss_family;
        l->fd = socket(l->family, (l->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
                return -errno;
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (l->family == AF_INET6)
                setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(l->fd, (struct sockaddr *)&ss, sl) < 0)
                return -errno;
        if (!l->udp && listen(l->fd, 64) < 0)
                return -errno;
        return 0;
}

static void original_dst(int fd, int family, char *buf, size_t len)
{
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int r;

        memset(&ss, 0, sizeof(ss));
        if (family == AF_INET)
                r = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &sl);
        else
                r = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &sl);
        if (r < 0)
                snprintf(buf, len, "-");
        else
                format_addr((struct sockaddr *)&ss, buf, len);
}

static void serve_tcp(const char *name, const Listener *l)
{
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        char orig[80], from[80], line[256];
        int c = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);

        if (c < 0)
                return;
        original_dst(c, l->family, orig, sizeof(orig));
        format_addr((struct sockaddr *)&peer, from, sizeof(from));
        snprintf(line, sizeof(line), "%s tcp/%d orig=%s peer=%s\n", name, l->port, orig, from);
        (void)!write(c, line, strlen(line));
        close(c);
        fputs(line, stdout);
        fflush(stdout);
}

static void serve_udp(const char *name, const Listener *l)
{
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        char data[200], from[80], line[400];
        ssize_t n = recvfrom(l->fd, data, sizeof(data) - 1, 0, (struct sockaddr *)&peer, &pl);

        if (n < 0)
                return;
        data[n] = '\0';
        data[strcspn(data, "\r\n")] = '\0';
        format_addr((struct sockaddr *)&peer, from, sizeof(from));
        snprintf(line, sizeof(line), "%s udp/%d orig=- peer=%s data=%s\n", name, l->port, from,
                 data);
        (void)!sendto(l->fd, line, strlen(line), 0, (struct sockaddr *)&peer, pl);
        fputs(line, stdout);
        fflush(stdout);
}

static int cmd_serve(int argc, char **argv)
{
        Listener ls[MAX_SOCKETS];
        struct pollfd pfd[MAX_SOCKETS];
        size_t n = 0;
        const char *name;

        if (argc < 4)
                usage();
        name = argv[2];
        for (int i = 3; i < argc; i++) {
                char spec[128], *at, *slash;
                const char *addrs[2] = {"0.0.0.0", "::"};
                size_t naddrs = 2;

                snprintf(spec, sizeof(spec), "%s", argv[i]);
                slash = strchr(spec, '/');
                if (!slash)
                        usage();
                *slash = '\0';
                at = strchr(slash + 1, '@');
                if (at) {
                        *at = '\0';
                        addrs[0] = at + 1;
                        naddrs = 1;
                }
                for (size_t a = 0; a < naddrs; a++) {
                        Listener *l = &ls[n];
                        int r;

                        if (n >= MAX_SOCKETS)
                                usage();
                        l->udp = strcmp(spec, "udp") == 0;
                        l->port = atoi(slash + 1);
                        r = open_listener(l, addrs[a]);
                        if (r < 0) {
                                fprintf(stderr, "nethelper: %s on %s: %s\n", argv[i], addrs[a],
                                        strerror(-r));
                                return 1;
                        }
                        pfd[n].fd = l->fd;
                        pfd[n].events = POLLIN;
                        n++;
                }
        }
        /* The test waits for this line before it connects. */
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                if (poll(pfd, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (size_t i = 0; i < n; i++) {
                        if (!(pfd[i].revents & POLLIN))
                                continue;
                        if (ls[i].udp)
                                serve_udp(name, &ls[i]);
                        else
                                serve_tcp(name, &ls[i]);
                }
        }
}

static int print_error(int err)
{
        const char *e = strerrorname_np(err);

        printf("error %s\n", e ? e : "unknown");
        return 0;
}

/* Waits for fd to become ready for events; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, timeout_ms);

        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

static int cmd_client(int argc, char **argv, bool udp)
{
        struct sockaddr_storage ss;
        socklen_t sl;
        char buf[512];
        size_t len = 0;
        int timeout_ms = argc > 4 ? atoi(argv[4]) : 3000;
        int fd, r, err = 0;
        socklen_t el = sizeof(err);

        if (argc < 4)
                usage();
        sl = parse_addr(argv[2], atoi(argv[3]), &ss);
        if (!sl)
                usage();
        fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);
        if (fd < 0)
                return print_error(errno);
        if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
                return print_error(errno);
        if (udp) {
                snprintf(buf, sizeof(buf), "query uid=%u to=%s:%s\n", getuid(), argv[2], argv[3]);
                if (send(fd, buf, strlen(buf), 0) < 0)
                        return print_error(errno);
        } else {
                r = wait_fd(fd, POLLOUT, timeout_ms);
                if (r < 0)
                        return print_error(-r);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                        return print_error(errno);
                if (err)
                        return print_error(err);
        }
        for (;;) {
                ssize_t n;

                r = wait_fd(fd, POLLIN, timeout_ms);
                if (r < 0)
                        return len ? 0 : print_error(-r);
                n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
                if (n < 0)
                        return print_error(errno);
                len += (size_t)n;
                if (n == 0 || udp || len >= sizeof(buf) - 1)
                        break;
        }
        buf[len] = '\0';
        fputs(buf, stdout);
        if (len == 0 || buf[len - 1] != '\n')
                putchar('\n');
        close(fd);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                usage();
        if (strcmp(argv[1], "serve") == 0)
                return cmd_serve(argc, argv);
        if (strcmp(argv[1], "tcp") == 0)
                return cmd_client(argc, argv, false);
        if (strcmp(argv[1], "udp") == 0)
                return cmd_client(argc, argv, true);
        usage();
}
