/* SPDX-License-Identifier: MIT */
/* Kuma rule generator: runtime facts, then Kuma's rules per family in Kuma's emission order. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tproxy-firewalld/generate.h>

#include "config-private.h"
#include "util.h"

#define KUMA_COMMENT_MAX 254 /* Kuma cuts its comment (prefix included) at this length */
#define DEFAULT_KUMA_DP_UID 5678
#define DEFAULT_KUMA_DP_NAME "kuma-dp"

typedef struct Facts {
        char *uid;
        char *loopback;
        bool ipv6;
        bool conntrack;
        bool docker_output;
        bool mangle;
        GPtrArray *nameservers[2]; /* canonical text per family (TPFW_IPV4, TPFW_IPV6) */
} Facts;

static void facts_clear(Facts *f)
{
        g_free(f->uid);
        g_free(f->loopback);
        for (size_t i = 0; i < 2; i++)
                if (f->nameservers[i])
                        g_ptr_array_unref(f->nameservers[i]);
}

/* ---- runtime facts ---- */

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

/* IPv6 is usable when the host has an IPv6 address other than ::1 (KUMA-RULES.md section 3). */
static bool host_has_ipv6(void)
{
        struct ifaddrs *ifa = NULL;
        bool found = false;

        if (getifaddrs(&ifa) < 0)
                return false;
        for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
                const struct sockaddr_in6 *sin6 = (const void *)i->ifa_addr;

                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
                    !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
                        found = true;
        }
        freeifaddrs(ifa);
        return found;
}

static bool loopback_has_kuma_address(const char *loopback)
{
        static const struct in6_addr six = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6}}};
        struct ifaddrs *ifa = NULL;
        bool found = false;

        if (getifaddrs(&ifa) < 0)
                return false;
        for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
                const struct sockaddr_in6 *sin6 = (const void *)i->ifa_addr;

                if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
                    g_strcmp0(i->ifa_name, loopback) == 0 &&
                    memcmp(&sin6->sin6_addr, &six, sizeof(six)) == 0)
                        found = true;
        }
        freeifaddrs(ifa);
        return found;
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

static int read_nameservers(const TpfwConfig *cfg, Facts *f, GPtrArray *warnings, TpfwDiag *diag)
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

static int resolve_facts(const TpfwConfig *cfg, Facts *f, GPtrArray *warnings, TpfwDiag *diag)
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
        else
                f->ipv6 = host_has_ipv6();
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

/* ---- emission ---- */

typedef struct Emitter {
        TpfwRuleset *rs;
        TpfwIpv ipv;
        const TpfwConfig *cfg;
        const Facts *facts;
        int *next_priority;   /* unique placeholder until priorities are assigned */
        GHashTable *inserted; /* "table chain" -> number of -I so far */
        int error;
} Emitter;

static void emit_v(Emitter *e, const char *table, const char *chain, TpfwRuleMode mode,
                   const char *comment, va_list ap)
{
        /* the words are borrowed: tpfw_ruleset_add_rule() makes the rule's own copy */
        const char *argv[64];
        char text[KUMA_COMMENT_MAX + 1];
        size_t n = 0;
        unsigned position = 0;
        const char *a;
        int r;

        if (e->error)
                return;
        if (comment && !e->cfg->comments_disabled) {
                const size_t plen = sizeof(TPFW_KUMA_COMMENT_PREFIX) - 1;
                size_t clen = strnlen(comment, KUMA_COMMENT_MAX);

                G_STATIC_ASSERT(sizeof(TPFW_KUMA_COMMENT_PREFIX) - 1 <= KUMA_COMMENT_MAX);
                /* Kuma cuts the whole comment at KUMA_COMMENT_MAX bytes */
                if (plen + clen > KUMA_COMMENT_MAX)
                        clen = KUMA_COMMENT_MAX - plen;
                memcpy(text, TPFW_KUMA_COMMENT_PREFIX, plen);
                memcpy(text + plen, comment, clen);
                text[plen + clen] = '\0';
                argv[n++] = "-m";
                argv[n++] = "comment";
                argv[n++] = "--comment";
                argv[n++] = text;
        }
        while ((a = va_arg(ap, const char *))) {
                if (n + 1 >= G_N_ELEMENTS(argv)) {
                        e->error = -E2BIG; /* no rule of this file comes near */
                        return;
                }
                argv[n++] = a;
        }
        argv[n] = NULL;
        if (mode == TPFW_RULE_INSERT) {
                g_autofree char *key = g_strconcat(table, " ", chain, NULL);

                position = GPOINTER_TO_UINT(g_hash_table_lookup(e->inserted, key)) + 1;
                g_hash_table_insert(e->inserted, g_steal_pointer(&key), GUINT_TO_POINTER(position));
        }
        r = tpfw_ruleset_add_rule(e->rs, e->ipv, table, chain, (*e->next_priority)++, argv, mode,
                                  position);
        if (r < 0)
                e->error = r;
}

static void G_GNUC_NULL_TERMINATED append(Emitter *e, const char *table, const char *chain,
                                          const char *comment, ...)
{
        va_list ap;

        va_start(ap, comment);
        emit_v(e, table, chain, TPFW_RULE_APPEND, comment, ap);
        va_end(ap);
}

static void G_GNUC_NULL_TERMINATED insert(Emitter *e, const char *table, const char *chain,
                                          const char *comment, ...)
{
        va_list ap;

        va_start(ap, comment);
        emit_v(e, table, chain, TPFW_RULE_INSERT, comment, ap);
        va_end(ap);
}

/* A printf helper whose results live until the family is emitted. */
typedef struct Strings {
        GPtrArray *all;
} Strings;

static const char *G_GNUC_PRINTF(2, 3) fmt(Strings *s, const char *format, ...)
{
        va_list ap;
        char *out;

        va_start(ap, format);
        out = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_ptr_array_add(s->all, out);
        return out;
}

static GPtrArray *filter_family(GPtrArray *items, TpfwIpv ipv)
{
        GPtrArray *out = g_ptr_array_new();

        for (guint i = 0; i < items->len; i++) {
                g_autofree char *why = NULL;
                int fam = config_ip_check(items->pdata[i], false, &why);

                if (fam == (ipv == TPFW_IPV4 ? 4 : 6))
                        g_ptr_array_add(out, items->pdata[i]);
        }
        return out;
}

typedef struct Vnet {
        char *iface;
        const char *cidr;
} Vnet;

static gint vnet_cmp(gconstpointer a, gconstpointer b)
{
        return strcmp(((const Vnet *)a)->iface, ((const Vnet *)b)->iface);
}

static void vnet_clear(gpointer p)
{
        g_free(((Vnet *)p)->iface);
}

/* The family's vnet entries, the last one per interface, in byte order of interface name. */
static GArray *vnets_for(const TpfwConfig *cfg, TpfwIpv ipv)
{
        GArray *out = g_array_new(FALSE, TRUE, sizeof(Vnet));

        g_array_set_clear_func(out, vnet_clear);
        for (guint i = 0; i < cfg->vnet->len; i++) {
                const char *entry = cfg->vnet->pdata[i];
                const char *colon = strchr(entry, ':');
                g_autofree char *why = NULL;
                Vnet v;
                bool replaced = false;

                if (!colon || config_ip_check(colon + 1, true, &why) != (ipv == TPFW_IPV4 ? 4 : 6))
                        continue;
                v.iface = g_strndup(entry, (size_t)(colon - entry));
                v.cidr = colon + 1;
                for (guint j = 0; j < out->len; j++) {
                        Vnet *o = &g_array_index(out, Vnet, j);

                        if (g_str_equal(o->iface, v.iface)) {
                                o->cidr = v.cidr;
                                g_free(v.iface);
                                replaced = true;
                                break;
                        }
                }
                if (!replaced)
                        g_array_append_val(out, v);
        }
        g_array_sort(out, vnet_cmp);
        return out;
}

static bool is_loopback_ip(const char *ip, TpfwIpv ipv)
{
        if (ipv == TPFW_IPV4)
                return g_str_has_prefix(ip, "127.");
        return g_str_equal(ip, "::1");
}

static int emit_family(const TpfwConfig *cfg, const Facts *f, TpfwIpv ipv, TpfwRuleset *rs,
                       int *next_priority, GPtrArray *warnings)
{
        g_autoptr(GHashTable) inserted =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        Emitter e = {.rs = rs,
                     .ipv = ipv,
                     .cfg = cfg,
                     .facts = f,
                     .next_priority = next_priority,
                     .inserted = inserted};
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
        Strings s = {strings};
        const bool v4 = ipv == TPFW_IPV4;
        const char *localhost = v4 ? "127.0.0.1/32" : "::1/128";
        const char *passthrough = v4 ? "127.0.0.6/32" : "::6/128";
        const char *uid = f->uid, *lo = f->loopback;
        const char *in_chain = fmt(&s, "KUMA_MESH_%s", cfg->chain_inbound);
        const char *out_chain = fmt(&s, "KUMA_MESH_%s", cfg->chain_outbound);
        const char *in_redirect = fmt(&s, "KUMA_MESH_%s", cfg->chain_inbound_redirect);
        const char *out_redirect = fmt(&s, "KUMA_MESH_%s", cfg->chain_outbound_redirect);
        const char *in_port = fmt(&s, "%u", cfg->inbound.port);
        const char *out_port = fmt(&s, "%u", cfg->outbound.port);
        const char *dns_port = fmt(&s, "%u", cfg->dns.port);
        const char *log_level = fmt(&s, "%u", cfg->log_level);
        GPtrArray *ns = f->nameservers[ipv];
        bool capture_all = cfg->dns.capture_all;
        bool dns = cfg->dns.enabled && (capture_all || ns->len > 0);
        bool conntrack = dns && !cfg->dns.skip_conntrack_zone_split && f->conntrack &&
                         !(f->docker_output && capture_all);
        g_autoptr(GArray) vnets = vnets_for(cfg, ipv);
        g_autoptr(GPtrArray) out_ips = filter_family(cfg->outbound.exclude_ips, ipv);
        g_autoptr(GPtrArray) in_ips = filter_family(cfg->inbound.exclude_ips, ipv);
        g_autoptr(GPtrArray) uid_exclusions =
                g_ptr_array_new_with_free_func((GDestroyNotify)config_uid_exclusion_free);
        const char *chains[] = {in_chain, out_chain, in_redirect, out_redirect};
        int r;

        if (cfg->dns.enabled && !capture_all && ns->len == 0)
                g_ptr_array_add(warnings,
                                g_strdup_printf("%s: no %s nameserver: DNS redirection and "
                                                "conntrack zone splitting are off for %s",
                                                cfg->dns.resolv_conf, v4 ? "IPv4" : "IPv6",
                                                v4 ? "IPv4" : "IPv6"));
        for (guint i = 0; i < cfg->outbound.exclude_uids->len; i++) {
                g_autofree char *why = config_uid_entry_parse(cfg->outbound.exclude_uids->pdata[i],
                                                              uid_exclusions);
                if (why) /* validated when the configuration was built */
                        return -EINVAL;
        }

        for (size_t i = 0; i < G_N_ELEMENTS(chains); i++) {
                r = tpfw_ruleset_add_chain(rs, ipv, "nat", chains[i]);
                if (r < 0)
                        return r;
        }

        /* raw: DNS conntrack zone split */
        if (conntrack) {
                if (capture_all)
                        append(&e, "raw", "PREROUTING",
                               "assign connection tracking zone 1 to all DNS responses", "-p",
                               "udp", "--sport", "53", "-j", "CT", "--zone", "1", NULL);
                else
                        for (guint i = 0; i < ns->len; i++)
                                append(&e, "raw", "PREROUTING",
                                       fmt(&s,
                                           "assign connection tracking zone 1 to DNS responses "
                                           "from %s",
                                           (char *)ns->pdata[i]),
                                       "-s", (char *)ns->pdata[i], "-p", "udp", "--sport", "53",
                                       "-j", "CT", "--zone", "1", NULL);
                append(&e, "raw", "OUTPUT",
                       fmt(&s,
                           "assign connection tracking zone 1 to DNS traffic from the kuma-dp "
                           "user (UID %s)",
                           uid),
                       "-p", "udp", "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j", "CT",
                       "--zone", "1", NULL);
                append(&e, "raw", "OUTPUT",
                       "assign connection tracking zone 2 to DNS responses from the kuma-dp DNS "
                       "proxy",
                       "-p", "udp", "--sport", dns_port, "-m", "owner", "--uid-owner", uid, "-j",
                       "CT", "--zone", "2", NULL);
                if (capture_all) {
                        append(&e, "raw", "OUTPUT",
                               "assign connection tracking zone 2 to all DNS requests", "-p", "udp",
                               "--dport", "53", "-j", "CT", "--zone", "2", NULL);
                } else {
                        for (guint i = 0; i < ns->len; i++) {
                                const char *server = ns->pdata[i];

                                append(&e, "raw", "OUTPUT",
                                       fmt(&s,
                                           "assign connection tracking zone 2 to DNS requests "
                                           "destined for %s",
                                           server),
                                       "-d", server, "-p", "udp", "--dport", "53", "-j", "CT",
                                       "--zone", "2", NULL);
                                if (is_loopback_ip(server, ipv))
                                        append(&e, "raw", "OUTPUT",
                                               "assign conntrack zone 1 to DNS responses from "
                                               "the local DNS server to localhost, needed when "
                                               "the DNS query port is altered by a DNAT "
                                               "iptables rule, such as with Docker containers in "
                                               "a custom network",
                                               "-s", server, "-d", localhost, "-p", "udp", "-j",
                                               "CT", "--zone", "1", NULL);
                        }
                }
        }

        /* nat PREROUTING */
        if (cfg->log_enabled)
                append(&e, "nat", "PREROUTING", "log matching packets using kernel logging", "-j",
                       "LOG", "--log-prefix", "PREROUTING:", "--log-level", log_level, NULL);
        for (guint i = 0; i < vnets->len; i++) {
                const Vnet *v = &g_array_index(vnets, Vnet, i);

                insert(&e, "nat", "PREROUTING",
                       fmt(&s,
                           "redirect DNS requests on interface %s to the kuma-dp DNS proxy "
                           "(listening on port %s)",
                           v->iface, dns_port),
                       "-i", v->iface, "-m", "udp", "-p", "udp", "--dport", "53", "-j", "REDIRECT",
                       "--to-ports", dns_port, NULL);
                insert(&e, "nat", "PREROUTING",
                       fmt(&s,
                           "redirect TCP traffic on interface %s, excluding destination %s, to "
                           "the envoy's outbound passthrough port %s",
                           v->iface, v->cidr, out_port),
                       "!", "-d", v->cidr, "-i", v->iface, "-p", "tcp", "-j", "REDIRECT",
                       "--to-ports", out_port, NULL);
        }
        if (vnets->len > 0 || cfg->inbound.insert)
                insert(&e, "nat", "PREROUTING",
                       "redirect remaining TCP traffic to our custom chain for processing", "-p",
                       "tcp", "-j", in_chain, NULL);
        else
                append(&e, "nat", "PREROUTING",
                       "redirect inbound TCP traffic to our custom chain for processing", "-p",
                       "tcp", "-j", in_chain, NULL);

        /* nat OUTPUT */
        if (cfg->log_enabled)
                insert(&e, "nat", "OUTPUT", "log matching packets using kernel logging", "-j",
                       "LOG", "--log-prefix", "OUTPUT:", "--log-level", log_level, NULL);
        for (guint i = 0; i < uid_exclusions->len; i++) {
                const ConfigUidExclusion *x = uid_exclusions->pdata[i];

                insert(&e, "nat", "OUTPUT",
                       "skip further processing for configured IP addresses, ports and UIDs", "-m",
                       "multiport", "-p", x->proto, "--dport", x->ports, "-m", "owner",
                       "--uid-owner", x->uids, "-j", "RETURN", NULL);
        }
        for (guint i = 0; i < out_ips->len; i++)
                insert(&e, "nat", "OUTPUT",
                       "skip further processing for configured IP addresses, ports and UIDs", "-d",
                       (char *)out_ips->pdata[i], "-j", "RETURN", NULL);
        if (dns) {
                if (f->docker_output)
                        insert(&e, "nat", "OUTPUT",
                               "redirect DNS traffic from kuma-dp to the DOCKER_OUTPUT chain", "-p",
                               "udp", "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j",
                               "DOCKER_OUTPUT", NULL);
                else
                        insert(&e, "nat", "OUTPUT", "return early for DNS traffic from kuma-dp",
                               "-p", "udp", "--dport", "53", "-m", "owner", "--uid-owner", uid,
                               "-j", "RETURN", NULL);
                append(&e, "nat", "OUTPUT",
                       fmt(&s,
                           "allow applications to perform DNS queries over TCP to port 53 "
                           "without mesh redirection (only traffic not owned by UID %s (kuma-dp "
                           "user))",
                           uid),
                       "-p", "tcp", "--dport", "53", "-m", "owner", "!", "--uid-owner", uid, "-j",
                       "RETURN", NULL);
                if (capture_all)
                        insert(&e, "nat", "OUTPUT",
                               fmt(&s,
                                   "redirect all DNS requests to the kuma-dp DNS proxy "
                                   "(listening on port %s)",
                                   dns_port),
                               "-p", "udp", "--dport", "53", "-j", "REDIRECT", "--to-ports",
                               dns_port, NULL);
                else
                        for (guint i = 0; i < ns->len; i++)
                                insert(&e, "nat", "OUTPUT",
                                       fmt(&s,
                                           "redirect DNS requests to %s to the kuma-dp DNS proxy "
                                           "(listening on port %s)",
                                           (char *)ns->pdata[i], dns_port),
                                       "-d", (char *)ns->pdata[i], "-p", "udp", "--dport", "53",
                                       "-j", "REDIRECT", "--to-ports", dns_port, NULL);
        }
        (cfg->outbound.insert ? insert : append)(
                &e, "nat", "OUTPUT",
                "redirect outbound TCP traffic to our custom chain for processing", "-p", "tcp",
                "-j", out_chain, NULL);

        /* nat KUMA_MESH_INBOUND */
        if (!cfg->inbound.enabled) {
                append(&e, "nat", in_chain, "inbound traffic redirection is disabled", "-p", "tcp",
                       "-j", "RETURN", NULL);
        } else {
                for (guint i = 0; i < in_ips->len; i++)
                        append(&e, "nat", in_chain,
                               "skip further processing for configured IP address", "-s",
                               (char *)in_ips->pdata[i], "-j", "RETURN", NULL);
                if (cfg->inbound.include_ports->len > 0) {
                        for (guint i = 0; i < cfg->inbound.include_ports->len; i++) {
                                const char *p = cfg->inbound.include_ports->pdata[i];

                                append(&e, "nat", in_chain,
                                       fmt(&s,
                                           "redirect inbound traffic from port %s to the custom "
                                           "chain for processing",
                                           p),
                                       "-p", "tcp", "--dport", p, "-j", in_redirect, NULL);
                        }
                } else {
                        for (guint i = 0; i < cfg->inbound.exclude_ports->len; i++) {
                                const char *p = cfg->inbound.exclude_ports->pdata[i];

                                append(&e, "nat", in_chain,
                                       fmt(&s,
                                           "exclude inbound traffic from port %s from "
                                           "redirection",
                                           p),
                                       "-p", "tcp", "--dport", p, "-j", "RETURN", NULL);
                        }
                        append(&e, "nat", in_chain,
                               "redirect all inbound traffic to the custom chain for processing",
                               "-p", "tcp", "-j", in_redirect, NULL);
                }
        }

        /* nat KUMA_MESH_OUTBOUND */
        if (!cfg->outbound.enabled) {
                append(&e, "nat", out_chain, "outbound traffic redirection is disabled", "-p",
                       "tcp", "-j", "RETURN", NULL);
        } else {
                bool include = cfg->outbound.include_ports->len > 0;

                for (guint i = 0; !include && i < cfg->outbound.exclude_ports->len; i++) {
                        const char *p = cfg->outbound.exclude_ports->pdata[i];

                        append(&e, "nat", out_chain,
                               fmt(&s, "exclude outbound traffic from port %s from redirection", p),
                               "-p", "tcp", "--dport", p, "-j", "RETURN", NULL);
                }
                append(&e, "nat", out_chain,
                       fmt(&s,
                           "prevent traffic loops by ensuring traffic from the sidecar proxy "
                           "(using %s) to loopback interface is not redirected again",
                           passthrough),
                       "-s", passthrough, "-o", lo, "-j", "RETURN", NULL);
                append(&e, "nat", out_chain,
                       fmt(&s,
                           "redirect outbound TCP traffic destined for loopback interface, but "
                           "not targeting address %s, and owned by UID %s (kuma-dp user) to %s "
                           "chain for proper handling",
                           localhost, uid, in_redirect),
                       "-p", "tcp", "-o", lo, "!", "-d", localhost, "-m", "owner", "--uid-owner",
                       uid, "-j", in_redirect, NULL);
                append(&e, "nat", out_chain,
                       fmt(&s,
                           "return outbound TCP traffic destined for loopback interface, owned "
                           "by any UID other than %s (kuma-dp user)",
                           uid),
                       "-p", "tcp", "-o", lo, "-m", "owner", "!", "--uid-owner", uid, "-j",
                       "RETURN", NULL);
                append(&e, "nat", out_chain,
                       fmt(&s, "return outbound traffic owned by UID %s (kuma-dp user)", uid), "-m",
                       "owner", "--uid-owner", uid, "-j", "RETURN", NULL);
                append(&e, "nat", out_chain,
                       fmt(&s, "return traffic destined for localhost (%s) to avoid redirection",
                           localhost),
                       "-d", localhost, "-j", "RETURN", NULL);
                if (include) {
                        for (guint i = 0; i < cfg->outbound.include_ports->len; i++) {
                                const char *p = cfg->outbound.include_ports->pdata[i];

                                append(&e, "nat", out_chain,
                                       fmt(&s,
                                           "redirect outbound TCP traffic to port %s to our "
                                           "custom chain for further processing",
                                           p),
                                       "-p", "tcp", "--dport", p, "-j", out_redirect, NULL);
                        }
                } else {
                        append(&e, "nat", out_chain,
                               "redirect all other outbound traffic to our custom chain for "
                               "further processing",
                               "-j", out_redirect, NULL);
                }
        }

        /* nat KUMA_MESH_*_REDIRECT */
        append(&e, "nat", in_redirect, fmt(&s, "redirect TCP traffic to envoy (port %s)", in_port),
               "-p", "tcp", "-j", "REDIRECT", "--to-ports", in_port, NULL);
        append(&e, "nat", out_redirect,
               fmt(&s, "redirect TCP traffic to envoy (port %s)", out_port), "-p", "tcp", "-j",
               "REDIRECT", "--to-ports", out_port, NULL);

        /* mangle */
        if (cfg->drop_invalid_packets && f->mangle)
                append(&e, "mangle", "PREROUTING",
                       "drop packets in the INVALID state to prevent potential issues with "
                       "malformed or out-of-order packets",
                       "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP", NULL);
        return e.error;
}

/* Consumes a: a NULL-terminated strv, or NULL when a is empty. */
static char **take_strv(GPtrArray *a)
{
        if (a->len == 0) {
                g_ptr_array_unref(a);
                return NULL;
        }
        g_ptr_array_add(a, NULL);
        return (char **)g_ptr_array_free(a, FALSE);
}

int tpfw_generate(const TpfwConfig *cfg, TpfwRuleset **ret, char ***ret_warnings, TpfwDiag *diag)
{
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        Facts f = {0};
        int next_priority = 0;
        int r;

        if (!cfg || !ret)
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "no configuration");
        r = resolve_facts(cfg, &f, warnings, diag);
        if (r >= 0)
                r = emit_family(cfg, &f, TPFW_IPV4, rs, &next_priority, warnings);
        if (r >= 0 && f.ipv6) {
                r = emit_family(cfg, &f, TPFW_IPV6, rs, &next_priority, warnings);
                if (r >= 0 && !loopback_has_kuma_address(f.loopback))
                        g_ptr_array_add(
                                warnings,
                                g_strdup_printf("::6/128 is not configured on %s: kuma-dp needs "
                                                "it for IPv6; add it with \"ip -6 addr add "
                                                "::6/128 dev %s\" and make it persistent in the "
                                                "host's network configuration",
                                                f.loopback, f.loopback));
        }
        facts_clear(&f);
        if (r < 0) {
                if (!diag || !diag->message)
                        tpfw_diag_set(diag, r, NULL, 0, "cannot generate the rules: %s",
                                      g_strerror(-r));
                return r;
        }
        r = tpfw_ruleset_assign_priorities(rs, diag);
        if (r < 0)
                return r;
        if (ret_warnings)
                *ret_warnings = take_strv(g_steal_pointer(&warnings));
        *ret = g_steal_pointer(&rs);
        return 0;
}
