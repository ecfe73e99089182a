/* SPDX-License-Identifier: MIT */
/* Kuma rule generator: Kuma's rules per family, feature by feature, in Kuma's emission order. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <tproxy-firewalld/generate.h>

#include "generate-private.h"
#include "util.h"

#define KUMA_COMMENT_MAX 254 /* Kuma cuts its comment (prefix included) at this length */

/* One family's emission: where the rules go, and the names and numbers every feature uses. */
typedef struct Emitter {
        TpfwRuleset *rs;
        TpfwIpv ipv;
        const TpfwConfig *cfg;
        const GenerateFacts *facts;
        int *next_priority;   /* unique placeholder until priorities are assigned */
        GHashTable *inserted; /* "table chain" -> number of -I so far */
        GPtrArray *strings;   /* what fmt() made, freed with the family */
        int error;

        const char *localhost;   /* 127.0.0.1/32 or ::1/128 */
        const char *passthrough; /* the sidecar's own source address: 127.0.0.6/32 or ::6/128 */
        const char *in_chain, *out_chain, *in_redirect, *out_redirect;
        const char *in_port, *out_port, *dns_port, *log_level;
        const GPtrArray *nameservers; /* the family's, from the facts */
        bool dns;                     /* DNS traffic is redirected to kuma-dp in this family */
        bool conntrack;               /* ... and DNS conntrack zones are split */
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

/* A printf whose result lives until the family is emitted. */
static const char *G_GNUC_PRINTF(2, 3) fmt(Emitter *e, const char *format, ...)
{
        va_list ap;
        char *out;

        va_start(ap, format);
        out = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_ptr_array_add(e->strings, out);
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

/*
 * One rule a port in the nat chain: "-p tcp --dport PORT -j target", its comment
 * before + PORT + after.
 */
static void append_per_port(Emitter *e, const char *chain, const GPtrArray *ports,
                            const char *before, const char *after, const char *target)
{
        for (guint i = 0; i < ports->len; i++) {
                const char *p = ports->pdata[i];

                append(e, "nat", chain, fmt(e, "%s%s%s", before, p, after), "-p", "tcp", "--dport",
                       p, "-j", target, NULL);
        }
}

/*
 * raw: DNS to and from kuma-dp in conntrack zone 1, DNS between the applications and kuma-dp's
 * DNS proxy in zone 2, so that the proxy's rewritten replies are not taken for the originals.
 */
static void emit_dns_conntrack_zones(Emitter *e)
{
        const GPtrArray *ns = e->nameservers;
        const char *uid = e->facts->uid;
        const bool capture_all = e->cfg->dns.capture_all;

        if (capture_all)
                append(e, "raw", "PREROUTING",
                       "assign connection tracking zone 1 to all DNS responses", "-p", "udp",
                       "--sport", "53", "-j", "CT", "--zone", "1", NULL);
        else
                for (guint i = 0; i < ns->len; i++)
                        append(e, "raw", "PREROUTING",
                               fmt(e, "assign connection tracking zone 1 to DNS responses from %s",
                                   (char *)ns->pdata[i]),
                               "-s", (char *)ns->pdata[i], "-p", "udp", "--sport", "53", "-j", "CT",
                               "--zone", "1", NULL);
        append(e, "raw", "OUTPUT",
               fmt(e,
                   "assign connection tracking zone 1 to DNS traffic from the kuma-dp user "
                   "(UID %s)",
                   uid),
               "-p", "udp", "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j", "CT",
               "--zone", "1", NULL);
        append(e, "raw", "OUTPUT",
               "assign connection tracking zone 2 to DNS responses from the kuma-dp DNS proxy",
               "-p", "udp", "--sport", e->dns_port, "-m", "owner", "--uid-owner", uid, "-j", "CT",
               "--zone", "2", NULL);
        if (capture_all) {
                append(e, "raw", "OUTPUT", "assign connection tracking zone 2 to all DNS requests",
                       "-p", "udp", "--dport", "53", "-j", "CT", "--zone", "2", NULL);
                return;
        }
        for (guint i = 0; i < ns->len; i++) {
                const char *server = ns->pdata[i];

                append(e, "raw", "OUTPUT",
                       fmt(e, "assign connection tracking zone 2 to DNS requests destined for %s",
                           server),
                       "-d", server, "-p", "udp", "--dport", "53", "-j", "CT", "--zone", "2", NULL);
                if (is_loopback_ip(server, e->ipv))
                        append(e, "raw", "OUTPUT",
                               "assign conntrack zone 1 to DNS responses from the local DNS "
                               "server to localhost, needed when the DNS query port is altered "
                               "by a DNAT iptables rule, such as with Docker containers in a "
                               "custom network",
                               "-s", server, "-d", e->localhost, "-p", "udp", "-j", "CT", "--zone",
                               "1", NULL);
        }
}

/* nat PREROUTING: logging, the vnet interfaces' DNS and TCP, and the jump to the inbound chain. */
static void emit_prerouting(Emitter *e)
{
        const TpfwConfig *cfg = e->cfg;
        g_autoptr(GArray) vnets = vnets_for(cfg, e->ipv);

        if (cfg->log_enabled)
                append(e, "nat", "PREROUTING", "log matching packets using kernel logging", "-j",
                       "LOG", "--log-prefix", "PREROUTING:", "--log-level", e->log_level, NULL);
        for (guint i = 0; i < vnets->len; i++) {
                const Vnet *v = &g_array_index(vnets, Vnet, i);

                insert(e, "nat", "PREROUTING",
                       fmt(e,
                           "redirect DNS requests on interface %s to the kuma-dp DNS proxy "
                           "(listening on port %s)",
                           v->iface, e->dns_port),
                       "-i", v->iface, "-m", "udp", "-p", "udp", "--dport", "53", "-j", "REDIRECT",
                       "--to-ports", e->dns_port, NULL);
                insert(e, "nat", "PREROUTING",
                       fmt(e,
                           "redirect TCP traffic on interface %s, excluding destination %s, to "
                           "the envoy's outbound passthrough port %s",
                           v->iface, v->cidr, e->out_port),
                       "!", "-d", v->cidr, "-i", v->iface, "-p", "tcp", "-j", "REDIRECT",
                       "--to-ports", e->out_port, NULL);
        }
        if (vnets->len > 0 || cfg->inbound.insert)
                insert(e, "nat", "PREROUTING",
                       "redirect remaining TCP traffic to our custom chain for processing", "-p",
                       "tcp", "-j", e->in_chain, NULL);
        else
                append(e, "nat", "PREROUTING",
                       "redirect inbound TCP traffic to our custom chain for processing", "-p",
                       "tcp", "-j", e->in_chain, NULL);
}

/* nat OUTPUT: the excluded UIDs and destination addresses leave before any redirection. */
static void emit_output_exclusions(Emitter *e, const GPtrArray *uid_exclusions)
{
        g_autoptr(GPtrArray) ips = filter_family(e->cfg->outbound.exclude_ips, e->ipv);

        for (guint i = 0; i < uid_exclusions->len; i++) {
                const ConfigUidExclusion *x = uid_exclusions->pdata[i];

                insert(e, "nat", "OUTPUT",
                       "skip further processing for configured IP addresses, ports and UIDs", "-m",
                       "multiport", "-p", x->proto, "--dport", x->ports, "-m", "owner",
                       "--uid-owner", x->uids, "-j", "RETURN", NULL);
        }
        for (guint i = 0; i < ips->len; i++)
                insert(e, "nat", "OUTPUT",
                       "skip further processing for configured IP addresses, ports and UIDs", "-d",
                       (char *)ips->pdata[i], "-j", "RETURN", NULL);
}

/* nat OUTPUT: kuma-dp's own DNS goes out; the applications' goes to kuma-dp's DNS proxy. */
static void emit_output_dns(Emitter *e)
{
        const GPtrArray *ns = e->nameservers;
        const char *uid = e->facts->uid, *dns_port = e->dns_port;

        if (e->facts->docker_output)
                insert(e, "nat", "OUTPUT",
                       "redirect DNS traffic from kuma-dp to the DOCKER_OUTPUT chain", "-p", "udp",
                       "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j", "DOCKER_OUTPUT",
                       NULL);
        else
                insert(e, "nat", "OUTPUT", "return early for DNS traffic from kuma-dp", "-p", "udp",
                       "--dport", "53", "-m", "owner", "--uid-owner", uid, "-j", "RETURN", NULL);
        append(e, "nat", "OUTPUT",
               fmt(e,
                   "allow applications to perform DNS queries over TCP to port 53 without mesh "
                   "redirection (only traffic not owned by UID %s (kuma-dp user))",
                   uid),
               "-p", "tcp", "--dport", "53", "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN",
               NULL);
        if (e->cfg->dns.capture_all) {
                insert(e, "nat", "OUTPUT",
                       fmt(e,
                           "redirect all DNS requests to the kuma-dp DNS proxy (listening on "
                           "port %s)",
                           dns_port),
                       "-p", "udp", "--dport", "53", "-j", "REDIRECT", "--to-ports", dns_port,
                       NULL);
                return;
        }
        for (guint i = 0; i < ns->len; i++)
                insert(e, "nat", "OUTPUT",
                       fmt(e,
                           "redirect DNS requests to %s to the kuma-dp DNS proxy (listening on "
                           "port %s)",
                           (char *)ns->pdata[i], dns_port),
                       "-d", (char *)ns->pdata[i], "-p", "udp", "--dport", "53", "-j", "REDIRECT",
                       "--to-ports", dns_port, NULL);
}

/* nat OUTPUT: logging, exclusions, DNS, and the jump to the outbound chain. */
static void emit_output(Emitter *e, const GPtrArray *uid_exclusions)
{
        const TpfwConfig *cfg = e->cfg;

        if (cfg->log_enabled)
                insert(e, "nat", "OUTPUT", "log matching packets using kernel logging", "-j", "LOG",
                       "--log-prefix", "OUTPUT:", "--log-level", e->log_level, NULL);
        emit_output_exclusions(e, uid_exclusions);
        if (e->dns)
                emit_output_dns(e);
        (cfg->outbound.insert ? insert : append)(
                e, "nat", "OUTPUT",
                "redirect outbound TCP traffic to our custom chain for processing", "-p", "tcp",
                "-j", e->out_chain, NULL);
}

/* nat KUMA_MESH_INBOUND: excluded sources and ports return, the rest goes to the redirect chain. */
static void emit_inbound_chain(Emitter *e)
{
        const TpfwConfig *cfg = e->cfg;
        g_autoptr(GPtrArray) ips = NULL;

        if (!cfg->inbound.enabled) {
                append(e, "nat", e->in_chain, "inbound traffic redirection is disabled", "-p",
                       "tcp", "-j", "RETURN", NULL);
                return;
        }
        ips = filter_family(cfg->inbound.exclude_ips, e->ipv);
        for (guint i = 0; i < ips->len; i++)
                append(e, "nat", e->in_chain, "skip further processing for configured IP address",
                       "-s", (char *)ips->pdata[i], "-j", "RETURN", NULL);
        if (cfg->inbound.include_ports->len > 0) {
                append_per_port(e, e->in_chain, cfg->inbound.include_ports,
                                "redirect inbound traffic from port ",
                                " to the custom chain for processing", e->in_redirect);
                return;
        }
        append_per_port(e, e->in_chain, cfg->inbound.exclude_ports,
                        "exclude inbound traffic from port ", " from redirection", "RETURN");
        append(e, "nat", e->in_chain,
               "redirect all inbound traffic to the custom chain for processing", "-p", "tcp", "-j",
               e->in_redirect, NULL);
}

/*
 * nat KUMA_MESH_OUTBOUND: excluded ports, the sidecar's own traffic and local traffic return
 * (loopback traffic of kuma-dp to other addresses goes inbound), the rest goes to the redirect
 * chain.
 */
static void emit_outbound_chain(Emitter *e)
{
        const TpfwConfig *cfg = e->cfg;
        const char *uid = e->facts->uid, *lo = e->facts->loopback, *localhost = e->localhost;
        const char *chain = e->out_chain;

        if (!cfg->outbound.enabled) {
                append(e, "nat", chain, "outbound traffic redirection is disabled", "-p", "tcp",
                       "-j", "RETURN", NULL);
                return;
        }
        if (cfg->outbound.include_ports->len == 0)
                append_per_port(e, chain, cfg->outbound.exclude_ports,
                                "exclude outbound traffic from port ", " from redirection",
                                "RETURN");
        append(e, "nat", chain,
               fmt(e,
                   "prevent traffic loops by ensuring traffic from the sidecar proxy (using %s) "
                   "to loopback interface is not redirected again",
                   e->passthrough),
               "-s", e->passthrough, "-o", lo, "-j", "RETURN", NULL);
        append(e, "nat", chain,
               fmt(e,
                   "redirect outbound TCP traffic destined for loopback interface, but not "
                   "targeting address %s, and owned by UID %s (kuma-dp user) to %s chain for "
                   "proper handling",
                   localhost, uid, e->in_redirect),
               "-p", "tcp", "-o", lo, "!", "-d", localhost, "-m", "owner", "--uid-owner", uid, "-j",
               e->in_redirect, NULL);
        append(e, "nat", chain,
               fmt(e,
                   "return outbound TCP traffic destined for loopback interface, owned by any "
                   "UID other than %s (kuma-dp user)",
                   uid),
               "-p", "tcp", "-o", lo, "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN", NULL);
        append(e, "nat", chain,
               fmt(e, "return outbound traffic owned by UID %s (kuma-dp user)", uid), "-m", "owner",
               "--uid-owner", uid, "-j", "RETURN", NULL);
        append(e, "nat", chain,
               fmt(e, "return traffic destined for localhost (%s) to avoid redirection", localhost),
               "-d", localhost, "-j", "RETURN", NULL);
        if (cfg->outbound.include_ports->len > 0)
                append_per_port(e, chain, cfg->outbound.include_ports,
                                "redirect outbound TCP traffic to port ",
                                " to our custom chain for further processing", e->out_redirect);
        else
                append(e, "nat", chain,
                       "redirect all other outbound traffic to our custom chain for further "
                       "processing",
                       "-j", e->out_redirect, NULL);
}

/* nat KUMA_MESH_*_REDIRECT: to envoy's inbound and outbound ports. */
static void emit_redirect_chains(Emitter *e)
{
        append(e, "nat", e->in_redirect,
               fmt(e, "redirect TCP traffic to envoy (port %s)", e->in_port), "-p", "tcp", "-j",
               "REDIRECT", "--to-ports", e->in_port, NULL);
        append(e, "nat", e->out_redirect,
               fmt(e, "redirect TCP traffic to envoy (port %s)", e->out_port), "-p", "tcp", "-j",
               "REDIRECT", "--to-ports", e->out_port, NULL);
}

/* mangle PREROUTING: packets in the INVALID state are dropped. */
static void emit_drop_invalid(Emitter *e)
{
        if (e->cfg->drop_invalid_packets && e->facts->mangle)
                append(e, "mangle", "PREROUTING",
                       "drop packets in the INVALID state to prevent potential issues with "
                       "malformed or out-of-order packets",
                       "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP", NULL);
}

/* The family's four custom nat chains. */
static int add_chains(Emitter *e)
{
        const char *const chains[] = {e->in_chain, e->out_chain, e->in_redirect, e->out_redirect};

        for (size_t i = 0; i < G_N_ELEMENTS(chains); i++) {
                int r = tpfw_ruleset_add_chain(e->rs, e->ipv, "nat", chains[i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Kuma's rules of one family, in Kuma's order (KUMA-RULES.md). */
static int emit_family(const TpfwConfig *cfg, const GenerateFacts *f, TpfwIpv ipv, TpfwRuleset *rs,
                       int *next_priority, GPtrArray *warnings)
{
        g_autoptr(GHashTable) inserted =
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) uid_exclusions =
                g_ptr_array_new_with_free_func((GDestroyNotify)config_uid_exclusion_free);
        const bool v4 = ipv == TPFW_IPV4, capture_all = cfg->dns.capture_all;
        Emitter e = {.rs = rs,
                     .ipv = ipv,
                     .cfg = cfg,
                     .facts = f,
                     .next_priority = next_priority,
                     .inserted = inserted,
                     .strings = strings,
                     .localhost = v4 ? "127.0.0.1/32" : "::1/128",
                     .passthrough = v4 ? "127.0.0.6/32" : "::6/128",
                     .nameservers = f->nameservers[ipv]};
        int r;

        e.in_chain = fmt(&e, "KUMA_MESH_%s", cfg->chain_inbound);
        e.out_chain = fmt(&e, "KUMA_MESH_%s", cfg->chain_outbound);
        e.in_redirect = fmt(&e, "KUMA_MESH_%s", cfg->chain_inbound_redirect);
        e.out_redirect = fmt(&e, "KUMA_MESH_%s", cfg->chain_outbound_redirect);
        e.in_port = fmt(&e, "%u", cfg->inbound.port);
        e.out_port = fmt(&e, "%u", cfg->outbound.port);
        e.dns_port = fmt(&e, "%u", cfg->dns.port);
        e.log_level = fmt(&e, "%u", cfg->log_level);
        e.dns = cfg->dns.enabled && (capture_all || e.nameservers->len > 0);
        e.conntrack = e.dns && !cfg->dns.skip_conntrack_zone_split && f->conntrack &&
                      !(f->docker_output && capture_all);

        if (cfg->dns.enabled && !capture_all && e.nameservers->len == 0)
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
        r = add_chains(&e);
        if (r < 0)
                return r;

        if (e.conntrack)
                emit_dns_conntrack_zones(&e);
        emit_prerouting(&e);
        emit_output(&e, uid_exclusions);
        emit_inbound_chain(&e);
        emit_outbound_chain(&e);
        emit_redirect_chains(&e);
        emit_drop_invalid(&e);
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
        GenerateFacts f = {0};
        int next_priority = 0;
        int r;

        if (!cfg || !ret)
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "no configuration");
        r = generate_facts_resolve(cfg, &f, warnings, diag);
        if (r >= 0)
                r = emit_family(cfg, &f, TPFW_IPV4, rs, &next_priority, warnings);
        if (r >= 0 && f.ipv6) {
                r = emit_family(cfg, &f, TPFW_IPV6, rs, &next_priority, warnings);
                if (r >= 0 && !generate_loopback_has_kuma_address(f.loopback))
                        g_ptr_array_add(
                                warnings,
                                g_strdup_printf("::6/128 is not configured on %s: kuma-dp needs "
                                                "it for IPv6; add it with \"ip -6 addr add "
                                                "::6/128 dev %s\" and make it persistent in the "
                                                "host's network configuration",
                                                f.loopback, f.loopback));
        }
        generate_facts_clear(&f);
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
