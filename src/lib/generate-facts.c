/* SPDX-License-Identifier: MIT */
/* The generator's runtime facts: kuma-dp's UID, the loopback interface, IPv6, nameservers. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pwd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "generate-private.h"
#include "util.h"

#define DEFAULT_KUMA_DP_UID 5678
#define DEFAULT_KUMA_DP_NAME "kuma-dp"

void generate_facts_clear(GenerateFacts *f)
{
        g_free(f->uid);
        g_free(f->loopback);
        for (size_t i = 0; i < 2; i++)
                if (f->nameservers[i])
                        g_ptr_array_unref(f->nameservers[i]);
}

/* getpwnam_r()/getpwuid_r(): the library may run in a threaded caller. name NULL looks up uid. */
static bool passwd_lookup(const char *name, uid_t uid, uid_t *ret_uid)
{
        struct passwd pw, *found = NULL;
        long size = sysconf(_SC_GETPW_R_SIZE_MAX);
        g_autofree char *buf = NULL;

        if (size <= 0)
                size = 16384;
        for (;;) {
                int r;

                buf = g_malloc((size_t)size);
                r = name ? getpwnam_r(name, &pw, buf, (size_t)size, &found)
                         : getpwuid_r(uid, &pw, buf, (size_t)size, &found);
                if (r != ERANGE || size >= 1024 * 1024)
                        break;
                g_clear_pointer(&buf, g_free);
                size *= 2;
        }
        if (!found)
                return false;
        if (ret_uid)
                *ret_uid = found->pw_uid;
        return true;
}

static int resolve_uid(const TpfwConfig *cfg, char **ret, TpfwDiag *diag)
{
        const char *user = cfg->kuma_dp_user ? cfg->kuma_dp_user : "";
        uid_t uid;

        if (cfg->cni_mode) {
                *ret = g_strdup(*user ? user : G_STRINGIFY(DEFAULT_KUMA_DP_UID));
                return 0;
        }
        if (*user && strspn(user, "0123456789") == strlen(user)) {
                *ret = g_strdup(user);
                return 0;
        }
        if (*user) {
                if (!passwd_lookup(user, 0, &uid))
                        return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                             "--kuma-dp-user: invalid value \"%s\": no such user "
                                             "(give a numeric UID or an existing user name)",
                                             user);
                *ret = g_strdup_printf("%u", (unsigned)uid);
                return 0;
        }
        if (passwd_lookup(NULL, DEFAULT_KUMA_DP_UID, NULL)) {
                *ret = g_strdup(G_STRINGIFY(DEFAULT_KUMA_DP_UID));
                return 0;
        }
        if (passwd_lookup(DEFAULT_KUMA_DP_NAME, 0, &uid)) {
                *ret = g_strdup_printf("%u", (unsigned)uid);
                return 0;
        }
        return tpfw_diag_set(diag, EINVAL, NULL, 0,
                             "--kuma-dp-user: no UID or username provided, and no user with UID "
                             "5678 or name kuma-dp");
}

static int resolve_loopback(const TpfwConfig *cfg, char **ret, TpfwDiag *diag)
{
        struct if_nameindex *ifs;
        unsigned best = 0;
        g_autofree char *name = NULL;
        _cleanup_close_ int fd = -1;

        if (cfg->loopback_interface) {
                *ret = g_strdup(cfg->loopback_interface);
                return 0;
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifs = if_nameindex();
        if (fd >= 0 && ifs) {
                for (struct if_nameindex *i = ifs; i->if_index != 0; i++) {
                        struct ifreq ifr = {0};

                        if (strlen(i->if_name) >= sizeof(ifr.ifr_name))
                                continue;
                        strcpy(ifr.ifr_name, i->if_name);
                        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_LOOPBACK))
                                continue;
                        if (best == 0 || i->if_index < best) {
                                best = i->if_index;
                                g_free(name);
                                name = g_strdup(i->if_name);
                        }
                }
        }
        if (ifs)
                if_freenameindex(ifs);
        if (!name)
                return tpfw_diag_set(diag, ENODEV, NULL, 0,
                                     "no loopback interface found; give --loopback-interface");
        *ret = g_steal_pointer(&name);
        return 0;
}

/*
 * Whether an interface (the one named ifname, any when NULL) has the IPv6 address want or, when
 * want is NULL, any IPv6 address other than ::1.
 */
static bool has_ipv6_address(const char *ifname, const struct in6_addr *want)
{
        struct ifaddrs *ifa = NULL;
        bool found = false;

        if (getifaddrs(&ifa) < 0)
                return false;
        for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
                const struct sockaddr_in6 *sin6 = (const void *)i->ifa_addr;

                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 ||
                    (ifname && g_strcmp0(i->ifa_name, ifname) != 0))
                        continue;
                found = want ? memcmp(&sin6->sin6_addr, want, sizeof(*want)) == 0
                             : !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
        }
        freeifaddrs(ifa);
        return found;
}

bool generate_loopback_has_kuma_address(const char *loopback)
{
        static const struct in6_addr six = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6}}};

        return has_ipv6_address(loopback, &six);
}

/* RFC 5952 text as Go prints it: lower-case, longest zero run as "::", no dotted quad. */
static char *ipv6_canonical(const struct in6_addr *a)
{
        GString *s = g_string_new(NULL);
        unsigned g[8];
        int best = -1, best_len = 0;

        for (int i = 0; i < 8; i++)
                g[i] = (unsigned)a->s6_addr[2 * i] << 8 | a->s6_addr[2 * i + 1];
        for (int i = 0; i < 8;) {
                int j = i;

                while (j < 8 && g[j] == 0)
                        j++;
                if (j - i > best_len && j - i >= 2) {
                        best = i;
                        best_len = j - i;
                }
                i = j > i ? j : i + 1;
        }
        for (int i = 0; i < 8; i++) {
                if (i == best) {
                        g_string_append(s, "::");
                        i += best_len - 1;
                        continue;
                }
                if (s->len && s->str[s->len - 1] != ':')
                        g_string_append_c(s, ':');
                g_string_append_printf(s, "%x", g[i]);
        }
        return g_string_free(s, FALSE);
}

static int read_nameservers(const TpfwConfig *cfg, GenerateFacts *f, GPtrArray *warnings,
                            TpfwDiag *diag)
{
        const char *path = cfg->dns.resolv_conf;
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        g_auto(GStrv) lines = NULL;

        if (!g_file_get_contents(path, &data, NULL, &err)) {
                int e = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)   ? ENOENT
                        : g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES) ? EACCES
                                                                                 : EIO;

                return tpfw_diag_set(diag, e, path, 0,
                                     "cannot read the nameservers for --redirect-dns "
                                     "(--resolv-conf): %s",
                                     g_strerror(e));
        }
        lines = g_strsplit(data, "\n", -1);
        for (guint n = 0; lines[n]; n++) {
                g_auto(GStrv) fields = g_strsplit_set(lines[n], " \t\r\f\v", -1);
                const char *words[2] = {NULL, NULL};
                size_t k = 0;
                struct in6_addr a6;
                struct in_addr a4;

                for (char **w = fields; *w && k < 2; w++)
                        if (**w)
                                words[k++] = *w;
                if (k < 2 || !g_str_equal(words[0], "nameserver"))
                        continue;
                if (inet_pton(AF_INET, words[1], &a4) == 1) {
                        char buf[INET_ADDRSTRLEN];

                        inet_ntop(AF_INET, &a4, buf, sizeof(buf));
                        g_ptr_array_add(f->nameservers[TPFW_IPV4], g_strdup(buf));
                } else if (inet_pton(AF_INET6, words[1], &a6) == 1) {
                        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
                                char buf[INET_ADDRSTRLEN];

                                inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf));
                                g_ptr_array_add(f->nameservers[TPFW_IPV4], g_strdup(buf));
                        } else {
                                g_ptr_array_add(f->nameservers[TPFW_IPV6], ipv6_canonical(&a6));
                        }
                } else {
                        g_autofree char *shown = g_strescape(words[1], NULL);

                        g_ptr_array_add(warnings,
                                        g_strdup_printf("%s:%u: nameserver \"%s\" is not an IP "
                                                        "address, skipped",
                                                        path, n + 1, shown));
                }
        }
        return 0;
}

int generate_facts_resolve(const TpfwConfig *cfg, GenerateFacts *f, GPtrArray *warnings,
                           TpfwDiag *diag)
{
        int r;

        f->nameservers[TPFW_IPV4] = g_ptr_array_new_with_free_func(g_free);
        f->nameservers[TPFW_IPV6] = g_ptr_array_new_with_free_func(g_free);
        r = resolve_uid(cfg, &f->uid, diag);
        if (r < 0)
                return r;
        r = resolve_loopback(cfg, &f->loopback, diag);
        if (r < 0)
                return r;
        if (cfg->ipv4_only)
                f->ipv6 = false;
        else if (cfg->assume_ipv6 != CONFIG_ASSUME_DEFAULT)
                f->ipv6 = cfg->assume_ipv6 == CONFIG_ASSUME_YES;
        else /* usable when the host has an address other than ::1 (KUMA-RULES.md section 3) */
                f->ipv6 = has_ipv6_address(NULL, NULL);
        f->conntrack = cfg->assume_conntrack != CONFIG_ASSUME_NO;
        f->docker_output = cfg->assume_docker_output == CONFIG_ASSUME_YES;
        f->mangle = cfg->assume_mangle != CONFIG_ASSUME_NO;
        if (cfg->dns.enabled && !cfg->dns.capture_all) {
                r = read_nameservers(cfg, f, warnings, diag);
                if (r < 0)
                        return r;
        }
        return 0;
}
