/* SPDX-License-Identifier: MIT */
/* Kuma-compatible configuration: option table, value grammars, YAML/JSON files, env and flags. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config-private.h"
#include "util.h"

#define ENV_PREFIX "KUMA_TRANSPARENT_PROXY_"
#define CONFIG_MAX_SIZE (16u * 1024u * 1024u)
/* Aliases can make a YAML tree exponentially large (or cyclic): bound the walk. */
#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

typedef enum OptType {
        OPT_BOOL,
        OPT_USER,
        OPT_FAMILY,
        OPT_PORT,
        OPT_UINT,
        OPT_LOG_LEVEL,
        OPT_DURATION,
        OPT_PATH,
        OPT_IFACE,
        OPT_CHAIN,
        OPT_ASSUME,
        OPT_EXECUTABLES,
        OPT_PORT_LIST,
        OPT_IP_LIST,
        OPT_UID_LIST,
        OPT_INBOUND_UID_LIST,
        OPT_VNET_LIST,
        OPT_CONFIG,
} OptType;

enum {
        OPTF_NO_EFFECT = 1u << 0,  /* accepted and validated, changes nothing */
        OPTF_ACCUMULATE = 1u << 1, /* repeated flags accumulate instead of last-wins */
};

typedef struct OptDef {
        const char *flag; /* without "--", or NULL */
        const char *env;  /* suffix after KUMA_TRANSPARENT_PROXY_, or NULL */
        const char *key;  /* dotted config key, or NULL */
        OptType type;
        size_t offset;
        unsigned flags;
        const char *def; /* default, for --help */
        const char *help;
} OptDef;

#define OFF(field) offsetof(TpfwConfig, field)

static const OptDef options[] = {
        {"kuma-dp-user", "KUMA_DP_USER", "kumaDPUser", OPT_USER, OFF(kuma_dp_user), 0, "\"\"",
         "user name or numeric UID of kuma-dp, whose traffic is not redirected (empty: UID 5678, "
         "else user kuma-dp)"},
        {"ip-family-mode", "IP_FAMILY_MODE", "ipFamilyMode", OPT_FAMILY, OFF(ipv4_only), 0,
         "dualstack", "dualstack or ipv4 (any case)"},
        {"redirect-inbound", "REDIRECT_INBOUND_ENABLED", "redirect.inbound.enabled", OPT_BOOL,
         OFF(inbound.enabled), 0, "true", "redirect inbound traffic to envoy"},
        {"redirect-inbound-port", "REDIRECT_INBOUND_PORT", "redirect.inbound.port", OPT_PORT,
         OFF(inbound.port), 0, "15006", "envoy inbound port"},
        {"exclude-inbound-ports", "REDIRECT_INBOUND_EXCLUDE_PORTS", "redirect.inbound.excludePorts",
         OPT_PORT_LIST, OFF(inbound.exclude_ports), 0, "[]",
         "comma-separated inbound TCP ports not redirected (ignored when includePorts is set)"},
        {NULL, "REDIRECT_INBOUND_INCLUDE_PORTS", "redirect.inbound.includePorts", OPT_PORT_LIST,
         OFF(inbound.include_ports), 0, "[]",
         "if non-empty, only these inbound TCP ports are "
         "redirected"},
        {"exclude-inbound-ips", "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_IPS",
         "redirect.inbound.excludePortsForIPs", OPT_IP_LIST, OFF(inbound.exclude_ips),
         OPTF_ACCUMULATE, "[]",
         "source IPs or CIDRs whose inbound traffic is not redirected "
         "(repeatable)"},
        {NULL, "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS", "redirect.inbound.excludePortsForUIDs",
         OPT_INBOUND_UID_LIST, OFF(inbound.exclude_uids), 0, "[]",
         "must be empty (Kuma turns any value into rules that disable inbound redirection)"},
        {"redirect-inbound-insert-instead-of-append",
         "REDIRECT_INBOUND_INSERT_REDIRECT_INSTEAD_OF_APPEND",
         "redirect.inbound.insertRedirectInsteadOfAppend", OPT_BOOL, OFF(inbound.insert), 0,
         "false", "insert the PREROUTING jump at the top of the chain instead of appending it"},
        {NULL, "REDIRECT_OUTBOUND_ENABLED", "redirect.outbound.enabled", OPT_BOOL,
         OFF(outbound.enabled), 0, "true", "redirect outbound traffic to envoy"},
        {"redirect-outbound-port", "REDIRECT_OUTBOUND_PORT", "redirect.outbound.port", OPT_PORT,
         OFF(outbound.port), 0, "15001", "envoy outbound port"},
        {"exclude-outbound-ports", "REDIRECT_OUTBOUND_EXCLUDE_PORTS",
         "redirect.outbound.excludePorts", OPT_PORT_LIST, OFF(outbound.exclude_ports), 0, "[]",
         "comma-separated outbound TCP destination ports not redirected (ignored when "
         "includePorts is set)"},
        {NULL, "REDIRECT_OUTBOUND_INCLUDE_PORTS", "redirect.outbound.includePorts", OPT_PORT_LIST,
         OFF(outbound.include_ports), 0, "[]",
         "if non-empty, only these outbound TCP ports are redirected"},
        {"exclude-outbound-ips", "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_IPS",
         "redirect.outbound.excludePortsForIPs", OPT_IP_LIST, OFF(outbound.exclude_ips),
         OPTF_ACCUMULATE, "[]", "destination IPs or CIDRs not redirected (repeatable)"},
        {"exclude-outbound-ports-for-uids", "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_UIDS",
         "redirect.outbound.excludePortsForUIDs", OPT_UID_LIST, OFF(outbound.exclude_uids),
         OPTF_ACCUMULATE, "[]",
         "[proto:][ports:]uids entries whose outbound traffic is not redirected (repeatable)"},
        {"redirect-outbound-insert-instead-of-append",
         "REDIRECT_OUTBOUND_INSERT_REDIRECT_INSTEAD_OF_APPEND",
         "redirect.outbound.insertRedirectInsteadOfAppend", OPT_BOOL, OFF(outbound.insert), 0,
         "false", "insert the OUTPUT jump instead of appending it"},
        {"redirect-dns", "REDIRECT_DNS_ENABLED", "redirect.dns.enabled", OPT_BOOL, OFF(dns.enabled),
         0, "false",
         "redirect UDP/53 sent to the resolv.conf nameservers to the kuma-dp DNS proxy"},
        {"redirect-all-dns-traffic", "REDIRECT_DNS_CAPTURE_ALL", "redirect.dns.captureAll",
         OPT_BOOL, OFF(dns.capture_all), 0, "false",
         "redirect all UDP/53 traffic (implies --redirect-dns)"},
        {"redirect-dns-port", "REDIRECT_DNS_PORT", "redirect.dns.port", OPT_PORT, OFF(dns.port), 0,
         "15053", "kuma-dp DNS proxy port"},
        {"skip-dns-conntrack-zone-split", "REDIRECT_DNS_SKIP_CONNTRACK_ZONE_SPLIT",
         "redirect.dns.skipConntrackZoneSplit", OPT_BOOL, OFF(dns.skip_conntrack_zone_split), 0,
         "false", "do not generate the raw-table CT --zone rules"},
        {"resolv-conf", "REDIRECT_DNS_RESOLV_CONFIG_PATH", "redirect.dns.resolvConfigPath",
         OPT_PATH, OFF(dns.resolv_conf), 0, "/etc/resolv.conf",
         "nameserver source for --redirect-dns (not read in capture-all mode)"},
        {"vnet", "REDIRECT_VNET_NETWORKS", "redirect.vnet.networks", OPT_VNET_LIST, OFF(vnet),
         OPTF_ACCUMULATE, "[]", "iface:CIDR virtual networks to redirect (repeatable)"},
        {"drop-invalid-packets", "DROP_INVALID_PACKETS", "dropInvalidPackets", OPT_BOOL,
         OFF(drop_invalid_packets), 0, "false", "drop packets in conntrack state INVALID"},
        {"iptables-logs", "LOG_ENABLED", "log.enabled", OPT_BOOL, OFF(log_enabled), 0, "false",
         "add LOG rules to nat PREROUTING and OUTPUT"},
        {NULL, "LOG_LEVEL", "log.level", OPT_LOG_LEVEL, OFF(log_level), 0, "7",
         "--log-level of the LOG rules, 0-7"},
        {"disable-comments", "COMMENTS_DISABLED", "comments.disabled", OPT_BOOL,
         OFF(comments_disabled), 0, "false", "drop Kuma's comment texts (the ownership tag stays)"},
        {NULL, "REDIRECT_INBOUND_CHAIN_NAME", NULL, OPT_CHAIN, OFF(chain_inbound), 0, "INBOUND",
         "suffix of the KUMA_MESH_ inbound chain"},
        {NULL, "REDIRECT_OUTBOUND_CHAIN_NAME", NULL, OPT_CHAIN, OFF(chain_outbound), 0, "OUTBOUND",
         "suffix of the KUMA_MESH_ outbound chain"},
        {NULL, "REDIRECT_INBOUND_REDIRECT_CHAIN_NAME", NULL, OPT_CHAIN, OFF(chain_inbound_redirect),
         0, "INBOUND_REDIRECT", "suffix of the KUMA_MESH_ inbound redirect chain"},
        {NULL, "REDIRECT_OUTBOUND_REDIRECT_CHAIN_NAME", NULL, OPT_CHAIN,
         OFF(chain_outbound_redirect), 0, "OUTBOUND_REDIRECT",
         "suffix of the KUMA_MESH_ outbound redirect chain"},
        {"dry-run", "DRY_RUN", "dryRun", OPT_BOOL, OFF(dry_run), 0, "false",
         "alias of --check: compute and report, change nothing"},
        {"verbose", "VERBOSE", "verbose", OPT_BOOL, OFF(verbose), 0, "false", "more diagnostics"},
        {"wait", "WAIT", "wait", OPT_UINT, OFF(wait), OPTF_NO_EFFECT, "5",
         "accepted for compatibility, no effect"},
        {"wait-interval", "WAIT_INTERVAL", "waitInterval", OPT_UINT, OFF(wait_interval),
         OPTF_NO_EFFECT, "0", "accepted for compatibility, no effect"},
        {"max-retries", "RETRY_MAX_RETRIES", "retry.maxRetries", OPT_UINT, OFF(max_retries),
         OPTF_NO_EFFECT, "4", "accepted for compatibility, no effect"},
        {"sleep-between-retries", "RETRY_SLEEP_BETWEEN_RETRIES", "retry.sleepBetweenRetries",
         OPT_DURATION, OFF(sleep_between_retries), OPTF_NO_EFFECT, "2s",
         "accepted for compatibility, no effect"},
        {"iptables-executables", "IPTABLES_EXECUTABLES", "iptablesExecutables", OPT_EXECUTABLES,
         OFF(iptables_executables), OPTF_NO_EFFECT, "-",
         "name:path[,...]; accepted for compatibility, no effect (no iptables binary is run)"},
        {"store-firewalld", "STORE_FIREWALLD", "storeFirewalld", OPT_BOOL, OFF(store_firewalld),
         OPTF_NO_EFFECT, "false",
         "accepted for compatibility, no effect (rules are always stored in firewalld)"},
        {NULL, "CNI_MODE", "cniMode", OPT_BOOL, OFF(cni_mode), 0, "false",
         "use the kuma-dp user as given (default 5678), no lookup"},
        {"loopback-interface", NULL, NULL, OPT_IFACE, OFF(loopback_interface), 0,
         "first loopback interface", "tool only: loopback interface name"},
        {"assume-ipv6", NULL, NULL, OPT_ASSUME, OFF(assume_ipv6), 0, "probe",
         "tool only: yes|no, whether the host has IPv6"},
        {"assume-conntrack", NULL, NULL, OPT_ASSUME, OFF(assume_conntrack), 0, "yes",
         "tool only: yes|no, whether DNS conntrack zone splitting is possible"},
        {"assume-docker-output", NULL, NULL, OPT_ASSUME, OFF(assume_docker_output), 0, "no",
         "tool only: yes|no, whether the nat chain DOCKER_OUTPUT exists"},
        {"assume-mangle", NULL, NULL, OPT_ASSUME, OFF(assume_mangle), 0, "yes",
         "tool only: yes|no, whether the mangle table is usable"},
        {"config", NULL, NULL, OPT_CONFIG, 0, 0, "-",
         "YAML or JSON config file, - for stdin (repeatable, later ones win)"},
};

#define N_OPTIONS G_N_ELEMENTS(options)

/* Where a value came from, for diagnostics. */
typedef struct Origin {
        const char *file; /* config file, or NULL */
        unsigned line;
        const char *name; /* "--flag", "KUMA_TRANSPARENT_PROXY_X" or "key.path" */
        enum { ORIGIN_FILE, ORIGIN_ENV, ORIGIN_FLAG } kind;
} Origin;

typedef struct BuildContext {
        TpfwConfig *cfg;
        GPtrArray *notes;
        TpfwDiag *diag;
        bool flag_seen[N_OPTIONS];
        size_t yaml_nodes;
} BuildContext;

static void *field(TpfwConfig *cfg, const OptDef *opt)
{
        return (char *)cfg + opt->offset;
}

static bool opt_is_list(const OptDef *opt)
{
        return opt->type >= OPT_PORT_LIST && opt->type <= OPT_VNET_LIST;
}

/* ---- value grammars ---- */

static char *printable(const char *s)
{
        return g_strescape(s, NULL);
}

static int origin_error(BuildContext *ctx, const Origin *o, const char *value, const char *why)
{
        g_autofree char *v = printable(value);

        return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line, "%s: invalid value \"%s\": %s",
                             o->name, v, why);
}

static void add_note(BuildContext *ctx, char *note)
{
        for (guint i = 0; i < ctx->notes->len; i++)
                if (g_str_equal(ctx->notes->pdata[i], note)) {
                        g_free(note);
                        return;
                }
        g_ptr_array_add(ctx->notes, note);
}

/* Decimal digits only, at most max; no sign, no blanks, no base prefixes. */
static bool parse_decimal(const char *s, guint64 max, guint64 *ret)
{
        guint64 v = 0;

        if (!s || !*s)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (guint64)(*p - '0');
                if (v > max)
                        return false;
        }
        *ret = v;
        return true;
}

static bool parse_port(const char *s, guint *ret)
{
        guint64 v;

        if (!parse_decimal(s, 65535, &v) || v == 0)
                return false;
        *ret = (guint)v;
        return true;
}

/* Go's strconv.ParseBool, used by Kuma for flags and environment variables. */
static bool parse_go_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
                if (g_str_equal(s, yes[i])) {
                        *ret = true;
                        return true;
                }
                if (g_str_equal(s, no[i])) {
                        *ret = false;
                        return true;
                }
        }
        return false;
}

/* Plain YAML booleans: JSON's, their YAML 1.1 spellings, and the yes/no/on/off family. */
static bool parse_yaml_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                          "YES",  "on",   "On",   "ON"};
        static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                         "NO",    "off",   "Off",   "OFF"};

        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
                if (g_str_equal(s, yes[i])) {
                        *ret = true;
                        return true;
                }
                if (g_str_equal(s, no[i])) {
                        *ret = false;
                        return true;
                }
        }
        return false;
}

/* Go's time.ParseDuration grammar: [-+]? ( number unit )+ or "0". */
static bool parse_go_duration(const char *s)
{
        static const char *const units[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs",
                                            "ms", "s",  "m",         "h"};
        const char *p = s;

        if (*p == '-' || *p == '+')
                p++;
        if (g_str_equal(p, "0"))
                return true;
        if (!*p)
                return false;
        while (*p) {
                bool digits = false;
                size_t best = 0;

                while (g_ascii_isdigit(*p)) {
                        p++;
                        digits = true;
                }
                if (*p == '.') {
                        p++;
                        while (g_ascii_isdigit(*p)) {
                                p++;
                                digits = true;
                        }
                }
                if (!digits)
                        return false;
                for (size_t i = 0; i < G_N_ELEMENTS(units); i++) {
                        size_t n = strlen(units[i]);

                        if (strncmp(p, units[i], n) == 0 && n > best)
                                best = n;
                }
                if (best == 0)
                        return false;
                p += best;
        }
        return true;
}

int config_ip_check(const char *text, bool prefix_required, char **ret_why)
{
        g_autofree char *addr = g_strdup(text);
        char *slash = strchr(addr, '/');
        unsigned char buf[sizeof(struct in6_addr)];
        int family;
        guint64 prefix, max;

        if (strchr(addr, '%')) {
                *ret_why = g_strdup("zone suffixes (%...) are not supported");
                return 0;
        }
        if (slash)
                *slash = '\0';
        if (strchr(addr, ':')) {
                if (inet_pton(AF_INET6, addr, buf) != 1) {
                        *ret_why = g_strdup("not an IP address or CIDR");
                        return 0;
                }
                if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)buf)) {
                        *ret_why = g_strdup("IPv4-mapped IPv6 addresses are not supported; "
                                            "write the IPv4 address");
                        return 0;
                }
                family = 6;
                max = 128;
        } else {
                if (inet_pton(AF_INET, addr, buf) != 1) {
                        *ret_why = g_strdup("not an IP address or CIDR");
                        return 0;
                }
                family = 4;
                max = 32;
        }
        if (!slash) {
                if (prefix_required) {
                        *ret_why = g_strdup("a prefix length (/len) is required");
                        return 0;
                }
                return family;
        }
        if (strlen(slash + 1) > 3 || !parse_decimal(slash + 1, max, &prefix)) {
                *ret_why = g_strdup_printf("prefix length must be 0-%u", (unsigned)max);
                return 0;
        }
        return family;
}

char *config_iface_check(const char *name)
{
        size_t len = strlen(name);
        bool plus = len > 0 && name[len - 1] == '+';
        size_t body = plus ? len - 1 : len;

        if (len > 15)
                return g_strdup("interface names have at most 15 characters");
        if (body == 0 && !plus)
                return g_strdup("empty interface name");
        for (size_t i = 0; i < body; i++)
                if (!g_ascii_isalnum(name[i]) && !strchr("_.-", name[i]))
                        return g_strdup("interface names use only A-Z a-z 0-9 _ . - (and a "
                                        "final + as wildcard)");
        if (g_str_equal(name, ".") || g_str_equal(name, ".."))
                return g_strdup("\".\" and \"..\" are not interface names");
        return NULL;
}

static char *user_check(const char *s, char **ret_norm)
{
        guint64 uid;

        if (!*s) {
                *ret_norm = g_strdup("");
                return NULL;
        }
        if (strspn(s, "0123456789") == strlen(s)) {
                if (strlen(s) > 20 || !parse_decimal(s, 4294967294u, &uid))
                        return g_strdup("a numeric UID must be 0-4294967294");
                *ret_norm = g_strdup_printf("%" G_GUINT64_FORMAT, uid);
                return NULL;
        }
        if (strlen(s) > 32)
                return g_strdup("user names have at most 32 characters");
        for (const char *p = s; *p; p++) {
                bool ok = g_ascii_isalnum(*p) || *p == '_' || *p == '.' || (*p == '-' && p != s) ||
                          (*p == '$' && p[1] == '\0' && p != s);
                if (!ok)
                        return g_strdup("not a user name or numeric UID");
        }
        *ret_norm = g_strdup(s);
        return NULL;
}

static char *chain_check(const char *s)
{
        size_t n = strlen(s);

        if (n < 1 || n > 18)
                return g_strdup("a chain name suffix has 1-18 characters");
        for (size_t i = 0; i < n; i++)
                if (!g_ascii_isalnum(s[i]) && s[i] != '_')
                        return g_strdup("a chain name suffix uses only A-Z a-z 0-9 _");
        return NULL;
}

void config_uid_exclusion_free(ConfigUidExclusion *e)
{
        if (!e)
                return;
        g_free(e->ports);
        g_free(e->uids);
        g_free(e);
}

/* "a" or "a-b" with bounds; writes "a" or "a:b". */
static char *range_parse(const char *item, guint64 lo, guint64 hi, bool strict, const char *what,
                         GString *out, unsigned *ret_slots)
{
        g_autofree char *s = g_strstrip(g_strdup(item));
        char *dash = strchr(s, '-');
        guint64 a, b;

        if (!dash) {
                if (!parse_decimal(s, hi, &a) || a < lo)
                        return g_strdup_printf("%s \"%s\" must be %" G_GUINT64_FORMAT
                                               "-%" G_GUINT64_FORMAT,
                                               what, s, lo, hi);
                g_string_append_printf(out, "%" G_GUINT64_FORMAT, a);
                *ret_slots = 1;
                return NULL;
        }
        *dash = '\0';
        g_strstrip(s);
        g_strstrip(dash + 1);
        if (!parse_decimal(s, hi, &a) || a < lo || !parse_decimal(dash + 1, hi, &b) || b < lo)
                return g_strdup_printf("%s range \"%s-%s\" must use values %" G_GUINT64_FORMAT
                                       "-%" G_GUINT64_FORMAT,
                                       what, s, dash + 1, lo, hi);
        if (strict ? a >= b : a > b)
                return g_strdup_printf("%s range \"%s-%s\" must be ascending", what, s, dash + 1);
        g_string_append_printf(out, "%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, a, b);
        *ret_slots = 2;
        return NULL;
}

char *config_uid_entry_parse(const char *entry, GPtrArray *out)
{
        g_auto(GStrv) parts = g_strsplit(entry, ":", -1);
        guint n = g_strv_length(parts);
        const char *protos[8];
        size_t n_protos = 0;
        g_autoptr(GString) ports = g_string_new(NULL);
        g_autoptr(GString) uids = g_string_new(NULL);
        const char *proto_part = n == 3 ? parts[0] : "*";
        const char *ports_part = n == 3 ? parts[1] : n == 2 ? parts[0] : "*";
        g_autofree char *uid_part = NULL;
        unsigned slots = 0, s;
        char *why;

        if (n < 1 || n > 3)
                return g_strdup("expected [proto:][ports:]uids");
        uid_part = g_strstrip(g_strdup(parts[n - 1]));

        {
                g_autofree char *p = g_strstrip(g_strdup(proto_part));

                if (g_str_equal(p, "*") || !*p) {
                        protos[n_protos++] = "tcp";
                        protos[n_protos++] = "udp";
                } else {
                        g_auto(GStrv) names = g_strsplit(p, ",", -1);

                        for (char **q = names; *q; q++) {
                                g_strstrip(*q);
                                if (n_protos == G_N_ELEMENTS(protos))
                                        return g_strdup("too many protocols");
                                if (g_ascii_strcasecmp(*q, "tcp") == 0)
                                        protos[n_protos++] = "tcp";
                                else if (g_ascii_strcasecmp(*q, "udp") == 0)
                                        protos[n_protos++] = "udp";
                                else
                                        return g_strdup_printf(
                                                "protocol \"%s\" must be tcp, udp or *", *q);
                        }
                }
        }
        {
                g_autofree char *p = g_strstrip(g_strdup(ports_part));

                if (g_str_equal(p, "*") || !*p) {
                        g_string_append(ports, "1:65535");
                } else {
                        g_auto(GStrv) items = g_strsplit(p, ",", -1);

                        for (char **q = items; *q; q++) {
                                if (q != items)
                                        g_string_append_c(ports, ',');
                                why = range_parse(*q, 1, 65535, true, "port", ports, &s);
                                if (why)
                                        return why;
                                slots += s;
                        }
                        if (slots > 15)
                                return g_strdup("at most 15 ports per entry (a range counts as "
                                                "2): iptables multiport limit");
                }
        }
        if (g_str_equal(uid_part, "*") || strchr(uid_part, ','))
                return g_strdup("uids must be one UID or one range a-b (\"*\" and \",\" are not "
                                "allowed)");
        why = range_parse(uid_part, 0, 65535, false, "uid", uids, &s);
        if (why)
                return why;
        if (!out)
                return NULL;
        for (size_t i = 0; i < n_protos; i++) {
                ConfigUidExclusion *e = g_new0(ConfigUidExclusion, 1);

                e->proto = protos[i];
                e->ports = g_strdup(ports->str);
                e->uids = g_strdup(uids->str);
                g_ptr_array_add(out, e);
        }
        return NULL;
}

static char *vnet_check(const char *entry)
{
        const char *colon = strchr(entry, ':');
        g_autofree char *iface = NULL;
        char *why = NULL;

        if (!colon)
                return g_strdup("expected iface:CIDR");
        iface = g_strndup(entry, colon - entry);
        why = config_iface_check(iface);
        if (why) {
                char *w = g_strdup_printf("interface \"%s\": %s", iface, why);
                g_free(why);
                return w;
        }
        if (!config_ip_check(colon + 1, true, &why)) {
                char *w = g_strdup_printf("CIDR \"%s\": %s", colon + 1, why);
                g_free(why);
                return w;
        }
        return NULL;
}

static const char *const executable_names[] = {"iptables",  "iptables-save",  "iptables-restore",
                                               "ip6tables", "ip6tables-save", "ip6tables-restore"};

static int executable_index(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(executable_names); i++)
                if (g_str_equal(name, executable_names[i]))
                        return (int)i;
        return -1;
}

static char *executables_complete(const bool seen[6])
{
        for (size_t fam = 0; fam < 2; fam++) {
                unsigned n = seen[fam * 3] + seen[fam * 3 + 1] + seen[fam * 3 + 2];

                if (n != 0 && n != 3)
                        return g_strdup_printf("%s, %s-save and %s-restore must be given "
                                               "together",
                                               executable_names[fam * 3], executable_names[fam * 3],
                                               executable_names[fam * 3]);
        }
        return NULL;
}

static char *executables_check(const char *text)
{
        g_auto(GStrv) items = g_strsplit(text, ",", -1);
        bool seen[6] = {false};

        for (char **q = items; *q; q++) {
                char *colon;
                int idx;

                g_strstrip(*q);
                colon = strchr(*q, ':');
                if (!colon || colon[1] == '\0')
                        return g_strdup_printf("\"%s\" is not name:path", *q);
                *colon = '\0';
                idx = executable_index(*q);
                if (idx < 0)
                        return g_strdup_printf("unknown executable \"%s\"", *q);
                seen[idx] = true;
        }
        return executables_complete(seen);
}

/* ---- storing values ---- */

static void note_no_effect(BuildContext *ctx, const OptDef *opt, const Origin *o)
{
        if (!(opt->flags & OPTF_NO_EFFECT))
                return;
        if (o->file)
                add_note(ctx, g_strdup_printf("%s:%u: %s: accepted for compatibility, has no "
                                              "effect",
                                              o->file, o->line, o->name));
        else
                add_note(ctx,
                         g_strdup_printf("%s: accepted for compatibility, has no effect", o->name));
}

/* Sets a scalar option from text (flags, env, and YAML scalars other than booleans). */
static int set_scalar(BuildContext *ctx, const OptDef *opt, const char *value, const Origin *o)
{
        void *f = field(ctx->cfg, opt);
        g_autofree char *why = NULL;
        guint64 v;
        guint port;

        switch (opt->type) {
        case OPT_BOOL: {
                bool b;

                if (!parse_go_bool(value, &b))
                        return origin_error(ctx, o, value, "expected true or false");
                *(bool *)f = b;
                break;
        }
        case OPT_USER: {
                char *norm = NULL;

                why = user_check(value, &norm);
                if (why)
                        return origin_error(ctx, o, value, why);
                g_free(*(char **)f);
                *(char **)f = norm;
                break;
        }
        case OPT_FAMILY:
                if (g_ascii_strcasecmp(value, "dualstack") == 0)
                        *(bool *)f = false;
                else if (g_ascii_strcasecmp(value, "ipv4") == 0)
                        *(bool *)f = true;
                else
                        return origin_error(ctx, o, value, "expected dualstack or ipv4");
                break;
        case OPT_PORT:
                if (!parse_port(value, &port))
                        return origin_error(ctx, o, value, "expected a port number 1-65535");
                *(guint *)f = port;
                break;
        case OPT_UINT:
                if (!parse_decimal(value, G_MAXUINT, &v))
                        return origin_error(ctx, o, value, "expected an unsigned integer");
                *(guint *)f = (guint)v;
                break;
        case OPT_LOG_LEVEL:
                if (!parse_decimal(value, 7, &v))
                        return origin_error(ctx, o, value, "expected a log level 0-7");
                *(guint *)f = (guint)v;
                break;
        case OPT_DURATION:
                if (!parse_go_duration(value))
                        return origin_error(ctx, o, value,
                                            "expected a duration such as 2s, 500ms or 1m30s");
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        case OPT_PATH:
                if (!*value)
                        return origin_error(ctx, o, value, "expected a file path");
                if (strchr(value, '\n'))
                        return origin_error(ctx, o, value, "newlines are not allowed");
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        case OPT_IFACE:
                why = config_iface_check(value);
                if (why)
                        return origin_error(ctx, o, value, why);
                if (strchr(value, '+'))
                        return origin_error(ctx, o, value,
                                            "the loopback interface cannot be a wildcard");
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        case OPT_CHAIN:
                why = chain_check(value);
                if (why)
                        return origin_error(ctx, o, value, why);
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        case OPT_ASSUME:
                if (g_str_equal(value, "yes"))
                        *(int *)f = CONFIG_ASSUME_YES;
                else if (g_str_equal(value, "no"))
                        *(int *)f = CONFIG_ASSUME_NO;
                else
                        return origin_error(ctx, o, value, "expected yes or no");
                break;
        case OPT_EXECUTABLES:
                why = executables_check(value);
                if (why)
                        return origin_error(ctx, o, value, why);
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        default:
                g_assert_not_reached();
        }
        note_no_effect(ctx, opt, o);
        return 0;
}

/* Validates one list item and appends its stored form. */
static int list_add(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const char *raw,
                    const Origin *o)
{
        g_autofree char *item = g_strstrip(g_strdup(raw));
        g_autofree char *why = NULL;
        guint port;

        switch (opt->type) {
        case OPT_PORT_LIST:
                if (!parse_port(item, &port))
                        return origin_error(ctx, o, item, "expected a port number 1-65535");
                g_ptr_array_add(list, g_strdup_printf("%u", port));
                return 0;
        case OPT_IP_LIST:
                if (!config_ip_check(item, false, &why))
                        return origin_error(ctx, o, item, why);
                break;
        case OPT_UID_LIST:
                why = config_uid_entry_parse(item, NULL);
                if (why)
                        return origin_error(ctx, o, item, why);
                break;
        case OPT_INBOUND_UID_LIST:
                return origin_error(ctx, o, item,
                                    "must be empty: Kuma turns inbound UID exclusions into "
                                    "rules that disable inbound redirection; use "
                                    "redirect.inbound.excludePorts or excludePortsForIPs");
        case OPT_VNET_LIST:
                why = vnet_check(item);
                if (why)
                        return origin_error(ctx, o, item, why);
                break;
        default:
                g_assert_not_reached();
        }
        if (strchr(item, '"') || strchr(item, '\\'))
                return origin_error(ctx, o, item, "quotes and backslashes are not allowed");
        g_ptr_array_add(list, g_steal_pointer(&item));
        return 0;
}

/* Adds items split on commas (empty ones dropped) or the whole text as one item. */
static int list_add_text(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const char *text,
                         bool split, const Origin *o)
{
        if (!split) {
                g_autofree char *t = g_strstrip(g_strdup(text));

                if (!*t)
                        return 0;
                return list_add(ctx, opt, list, t, o);
        }
        g_auto(GStrv) items = g_strsplit(text, ",", -1);
        for (char **q = items; *q; q++) {
                int r;

                g_strstrip(*q);
                if (!**q)
                        continue;
                r = list_add(ctx, opt, list, *q, o);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void list_replace(BuildContext *ctx, const OptDef *opt, GPtrArray *list)
{
        GPtrArray **f = field(ctx->cfg, opt);

        g_ptr_array_unref(*f);
        *f = list;
}

static int apply_text(BuildContext *ctx, size_t idx, const char *value, const Origin *o)
{
        const OptDef *opt = &options[idx];

        if (!opt_is_list(opt))
                return set_scalar(ctx, opt, value, o);

        /* Flags keep UID and vnet entries whole; the environment splits every list. */
        bool split =
                o->kind == ORIGIN_ENV || opt->type == OPT_PORT_LIST || opt->type == OPT_IP_LIST;
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
        int r = list_add_text(ctx, opt, list, value, split, o);

        if (r < 0)
                return r;
        if (o->kind == ORIGIN_FLAG && ctx->flag_seen[idx] && (opt->flags & OPTF_ACCUMULATE)) {
                GPtrArray *cur = *(GPtrArray **)field(ctx->cfg, opt);

                for (guint i = 0; i < list->len; i++)
                        g_ptr_array_add(cur, g_strdup(list->pdata[i]));
        } else {
                list_replace(ctx, opt, g_steal_pointer(&list));
        }
        if (o->kind == ORIGIN_FLAG)
                ctx->flag_seen[idx] = true;
        return 0;
}

/* ---- config files ---- */

typedef struct YamlFile {
        const char *name;
        yaml_document_t *doc;
} YamlFile;

static unsigned node_line(const yaml_node_t *n)
{
        return (unsigned)n->start_mark.line + 1;
}

static bool node_is_null(const yaml_node_t *n)
{
        const char *v;

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        v = (const char *)n->data.scalar.value;
        return !*v || g_str_equal(v, "~") || g_str_equal(v, "null") || g_str_equal(v, "Null") ||
               g_str_equal(v, "NULL");
}

static int node_scalar(BuildContext *ctx, const yaml_node_t *n, const Origin *o, const char **ret)
{
        if (n->type != YAML_SCALAR_NODE)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, node_line(n),
                                     "%s: expected a single value, not a %s", o->name,
                                     n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, node_line(n),
                                     "%s: NUL bytes are not allowed", o->name);
        *ret = (const char *)n->data.scalar.value;
        return 0;
}

static int apply_executables_node(BuildContext *ctx, const OptDef *opt, YamlFile *yf,
                                  yaml_node_t *n, const Origin *o)
{
        bool seen[6] = {false};
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *why = NULL;

        if (n->type != YAML_MAPPING_NODE)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                     "%s: expected a mapping of executable names to paths",
                                     o->name);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(yf->doc, p->key);
                yaml_node_t *v = yaml_document_get_node(yf->doc, p->value);
                Origin ko = *o;
                const char *name, *path;
                int idx, r;

                ko.line = node_line(k);
                r = node_scalar(ctx, k, &ko, &name);
                if (r < 0)
                        return r;
                idx = executable_index(name);
                if (idx < 0) {
                        add_note(ctx, g_strdup_printf("%s:%u: unknown key \"%s.%s\" ignored",
                                                      o->file, ko.line, o->name, name));
                        continue;
                }
                if (node_is_null(v))
                        continue;
                r = node_scalar(ctx, v, &ko, &path);
                if (r < 0)
                        return r;
                if (!*path)
                        return origin_error(ctx, &ko, path, "expected a path");
                seen[idx] = true;
                g_string_append_printf(text, "%s%s:%s", text->len ? "," : "", name, path);
        }
        why = executables_complete(seen);
        if (why)
                return origin_error(ctx, o, text->str, why);
        g_free(*(char **)field(ctx->cfg, opt));
        *(char **)field(ctx->cfg, opt) = g_string_free(g_steal_pointer(&text), FALSE);
        note_no_effect(ctx, opt, o);
        return 0;
}

static int apply_node(BuildContext *ctx, size_t idx, YamlFile *yf, yaml_node_t *n, const Origin *o)
{
        const OptDef *opt = &options[idx];
        const char *text;
        int r;

        if (node_is_null(n))
                return 0;
        if (opt->type == OPT_EXECUTABLES)
                return apply_executables_node(ctx, opt, yf, n, o);
        if (!opt_is_list(opt)) {
                r = node_scalar(ctx, n, o, &text);
                if (r < 0)
                        return r;
                if (opt->type == OPT_BOOL) {
                        bool b;

                        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                            !parse_yaml_bool(text, &b))
                                return origin_error(ctx, o, text, "expected true or false");
                        *(bool *)field(ctx->cfg, opt) = b;
                        note_no_effect(ctx, opt, o);
                        return 0;
                }
                return set_scalar(ctx, opt, text, o);
        }

        bool split = opt->type == OPT_PORT_LIST || opt->type == OPT_IP_LIST;
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

        if (n->type == YAML_SCALAR_NODE) {
                if (opt->type != OPT_PORT_LIST)
                        return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                             "%s: expected a list, not \"%s\"", o->name,
                                             (const char *)n->data.scalar.value);
                r = node_scalar(ctx, n, o, &text);
                if (r < 0)
                        return r;
                r = list_add_text(ctx, opt, list, text, true, o);
                if (r < 0)
                        return r;
        } else if (n->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = n->data.sequence.items.start;
                     it < n->data.sequence.items.top; it++) {
                        yaml_node_t *item = yaml_document_get_node(yf->doc, *it);
                        Origin io = *o;

                        io.line = node_line(item);
                        r = node_scalar(ctx, item, &io, &text);
                        if (r < 0)
                                return r;
                        r = list_add_text(ctx, opt, list, text, split, &io);
                        if (r < 0)
                                return r;
                }
        } else {
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                     "%s: expected a list, not a mapping", o->name);
        }
        list_replace(ctx, opt, g_steal_pointer(&list));
        return 0;
}

/*
 * Finds the option key segment after prefix that matches name: exactly, else ASCII
 * case-insensitively, as Go's encoding/json does. Returns the canonical path prefix+segment in
 * *ret_path and the option index when it is a leaf (-1 when it is a nested mapping); false when
 * no key matches.
 */
static bool key_lookup(const char *prefix, const char *name, char **ret_path, ssize_t *ret_idx)
{
        size_t plen = strlen(prefix);

        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < N_OPTIONS; i++) {
                        const char *key = options[i].key;
                        const char *seg, *end;
                        size_t slen;

                        if (!key || strncmp(key, prefix, plen) != 0)
                                continue;
                        seg = key + plen;
                        end = strchr(seg, '.');
                        slen = end ? (size_t)(end - seg) : strlen(seg);
                        if (strlen(name) != slen)
                                continue;
                        if (pass == 0 ? strncmp(seg, name, slen) != 0
                                      : g_ascii_strncasecmp(seg, name, slen) != 0)
                                continue;
                        *ret_path = g_strndup(key, plen + slen);
                        *ret_idx = end ? -1 : (ssize_t)i;
                        return true;
                }
        }
        return false;
}

static int apply_mapping(BuildContext *ctx, YamlFile *yf, yaml_node_t *n, const char *prefix,
                         unsigned depth)
{
        if (depth > YAML_MAX_DEPTH)
                return tpfw_diag_set(ctx->diag, EINVAL, yf->name, node_line(n),
                                     "configuration nested too deeply");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(yf->doc, p->key);
                yaml_node_t *v = yaml_document_get_node(yf->doc, p->value);
                g_autofree char *path = NULL;
                const char *name;
                ssize_t idx;
                Origin o = {.file = yf->name, .line = node_line(k), .kind = ORIGIN_FILE};
                int r;

                if (++ctx->yaml_nodes > YAML_MAX_NODES)
                        return tpfw_diag_set(ctx->diag, EINVAL, yf->name, node_line(k),
                                             "configuration has too many nodes (YAML aliases?)");
                o.name = prefix[0] ? prefix : "configuration";
                r = node_scalar(ctx, k, &o, &name);
                if (r < 0)
                        return r;
                if (!key_lookup(prefix, name, &path, &idx)) {
                        g_autofree char *shown = printable(name);

                        add_note(ctx, g_strdup_printf("%s:%u: unknown key \"%s%s\" ignored",
                                                      yf->name, o.line, prefix, shown));
                        continue;
                }
                o.name = path;
                if (idx >= 0) {
                        r = apply_node(ctx, (size_t)idx, yf, v, &o);
                } else if (node_is_null(v)) {
                        r = 0;
                } else if (v->type != YAML_MAPPING_NODE) {
                        r = tpfw_diag_set(ctx->diag, EINVAL, yf->name, o.line,
                                          "%s: expected a mapping", path);
                } else {
                        g_autofree char *sub = g_strconcat(path, ".", NULL);

                        r = apply_mapping(ctx, yf, v, sub, depth + 1);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_config_text(BuildContext *ctx, const char *name, const char *data, size_t len)
{
        yaml_parser_t parser;
        yaml_document_t doc, extra;
        yaml_node_t *root;
        YamlFile yf = {.name = name, .doc = &doc};
        int r = 0;

        if (memchr(data, '\0', len))
                return tpfw_diag_set(ctx->diag, EINVAL, name, 0, "NUL bytes are not allowed");
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
        if (!yaml_parser_load(&parser, &doc)) {
                r = tpfw_diag_set(ctx->diag, EINVAL, name, (unsigned)parser.problem_mark.line + 1,
                                  "invalid YAML/JSON: %s%s%s",
                                  parser.problem ? parser.problem : "syntax error",
                                  parser.context ? " " : "", parser.context ? parser.context : "");
                yaml_parser_delete(&parser);
                return r;
        }
        root = yaml_document_get_root_node(&doc);
        if (root) {
                if (!yaml_parser_load(&parser, &extra)) {
                        r = tpfw_diag_set(ctx->diag, EINVAL, name,
                                          (unsigned)parser.problem_mark.line + 1,
                                          "invalid YAML/JSON: %s",
                                          parser.problem ? parser.problem : "syntax error");
                } else {
                        if (yaml_document_get_root_node(&extra))
                                r = tpfw_diag_set(ctx->diag, EINVAL, name,
                                                  (unsigned)extra.start_mark.line + 1,
                                                  "more than one YAML document");
                        yaml_document_delete(&extra);
                }
        }
        if (r == 0 && root && !node_is_null(root)) {
                if (root->type != YAML_MAPPING_NODE)
                        r = tpfw_diag_set(ctx->diag, EINVAL, name, node_line(root),
                                          "expected a mapping of configuration keys");
                else
                        r = apply_mapping(ctx, &yf, root, "", 0);
        }
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        return r;
}

static int read_stream(FILE *f, char **ret, size_t *ret_len)
{
        g_autoptr(GString) s = g_string_new(NULL);
        char buf[8192];
        size_t n;

        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
                g_string_append_len(s, buf, (gssize)n);
                if (s->len > CONFIG_MAX_SIZE)
                        return -EFBIG;
        }
        if (ferror(f))
                return -EIO;
        *ret_len = s->len;
        *ret = g_string_free(g_steal_pointer(&s), FALSE);
        return 0;
}

static int apply_config_source(BuildContext *ctx, const char *source, FILE *stdin_file)
{
        g_autofree char *data = NULL;
        size_t len = 0;
        int r;

        if (g_str_equal(source, "-")) {
                if (!stdin_file)
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "--config -: no standard input available");
                r = read_stream(stdin_file, &data, &len);
                if (r < 0)
                        return tpfw_diag_set(ctx->diag, r, "<stdin>", 0, "cannot read: %s",
                                             r == -EFBIG ? "larger than 16 MiB" : g_strerror(-r));
                return apply_config_text(ctx, "<stdin>", data, len);
        }
        if (!*source)
                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                     "--config: invalid value \"\": expected a file path or -");
        {
                g_autoptr(GError) err = NULL;
                gsize glen = 0;

                if (!g_file_get_contents(source, &data, &glen, &err)) {
                        int e = EIO;

                        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                                e = ENOENT;
                        else if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES))
                                e = EACCES;
                        else if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ISDIR))
                                e = EISDIR;
                        return tpfw_diag_set(ctx->diag, e, source, 0,
                                             "cannot read config file (--config): %s",
                                             g_strerror(e));
                }
                len = glen;
        }
        if (len > CONFIG_MAX_SIZE)
                return tpfw_diag_set(ctx->diag, EFBIG, source, 0, "config file larger than 16 MiB");
        return apply_config_text(ctx, source, data, len);
}

/* ---- flags and environment ---- */

static ssize_t flag_lookup(const char *name, size_t len)
{
        for (size_t i = 0; i < N_OPTIONS; i++)
                if (options[i].flag && strlen(options[i].flag) == len &&
                    strncmp(options[i].flag, name, len) == 0)
                        return (ssize_t)i;
        return -1;
}

int tpfw_config_flag_arity(const char *arg)
{
        const char *eq;
        ssize_t idx;

        if (!arg || strncmp(arg, "--", 2) != 0 || !arg[2])
                return -1;
        eq = strchr(arg + 2, '=');
        idx = flag_lookup(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
        if (idx < 0)
                return -1;
        if (eq || options[idx].type == OPT_BOOL)
                return 0;
        return 1;
}

typedef struct FlagValue {
        size_t idx;
        const char *value; /* points into argv, or a static "true" */
        char *name;        /* "--flag" */
} FlagValue;

static void flag_value_clear(gpointer p)
{
        g_free(((FlagValue *)p)->name);
}

static int parse_argv(BuildContext *ctx, int argc, char *const *argv, GArray *out)
{
        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];
                const char *name, *eq;
                size_t nlen;
                ssize_t idx;
                FlagValue fv = {0};

                if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
                        g_autofree char *shown = printable(arg);

                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "unexpected argument \"%s\" (options are "
                                             "--name value or --name=value)",
                                             shown);
                }
                name = arg + 2;
                eq = strchr(name, '=');
                nlen = eq ? (size_t)(eq - name) : strlen(name);
                idx = flag_lookup(name, nlen);
                if (idx < 0) {
                        g_autofree char *shown = g_strndup(name, nlen);
                        g_autofree char *p = printable(shown);

                        if (g_str_equal(shown, "config-file"))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "unknown option --config-file (removed from "
                                                     "Kuma; use --config)");
                        if (g_str_equal(shown, "kuma-dp-uid"))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "unknown option --kuma-dp-uid (removed from "
                                                     "Kuma; use --kuma-dp-user)");
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0, "unknown option --%s", p);
                }
                fv.idx = (size_t)idx;
                fv.name = g_strdup_printf("--%s", options[idx].flag);
                if (eq) {
                        fv.value = eq + 1;
                } else if (options[idx].type == OPT_BOOL) {
                        fv.value = "true";
                } else if (i + 1 < argc) {
                        fv.value = argv[++i];
                } else {
                        g_free(fv.name);
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "option --%s requires a value", options[idx].flag);
                }
                g_array_append_val(out, fv);
                /* cppcheck-suppress memleak ; out owns fv.name now (flag_value_clear frees it) */
        }
        return 0;
}

static const char *env_lookup(char *const *envp, const char *suffix)
{
        size_t plen = strlen(ENV_PREFIX), slen = strlen(suffix);

        if (!envp)
                return NULL;
        for (char *const *e = envp; *e; e++)
                if (strncmp(*e, ENV_PREFIX, plen) == 0 && strncmp(*e + plen, suffix, slen) == 0 &&
                    (*e)[plen + slen] == '=')
                        return *e + plen + slen + 1;
        return NULL;
}

static int apply_env(BuildContext *ctx, char *const *envp)
{
        size_t plen = strlen(ENV_PREFIX);
        /* the variables with the prefix, in envp's order: the option look-ups below scan these
         * instead of the whole environment once per option */
        g_autoptr(GPtrArray) ours = g_ptr_array_new();

        if (!envp)
                return 0;
        for (char *const *e = envp; *e; e++) {
                const char *eq;
                bool known = false;

                if (strncmp(*e, ENV_PREFIX, plen) != 0)
                        continue;
                g_ptr_array_add(ours, *e);
                eq = strchr(*e, '=');
                if (!eq)
                        continue;
                for (size_t i = 0; i < N_OPTIONS && !known; i++)
                        known = options[i].env &&
                                strlen(options[i].env) == (size_t)(eq - *e) - plen &&
                                strncmp(options[i].env, *e + plen, (size_t)(eq - *e) - plen) == 0;
                if (!known) {
                        g_autofree char *name = g_strndup(*e, (size_t)(eq - *e));

                        add_note(ctx,
                                 g_strdup_printf("unknown environment variable %s ignored", name));
                }
        }
        g_ptr_array_add(ours, NULL);
        for (size_t i = 0; i < N_OPTIONS; i++) {
                g_autofree char *name = NULL;
                const char *value;
                Origin o = {.kind = ORIGIN_ENV};
                int r;

                if (!options[i].env)
                        continue;
                value = env_lookup((char *const *)ours->pdata, options[i].env);
                if (!value || !*value)
                        continue;
                name = g_strconcat(ENV_PREFIX, options[i].env, NULL);
                o.name = name;
                r = apply_text(ctx, i, value, &o);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- public API ---- */

static TpfwConfig *config_new_default(void)
{
        TpfwConfig *cfg = g_new0(TpfwConfig, 1);
        ConfigRedirect *dirs[] = {&cfg->inbound, &cfg->outbound};

        cfg->kuma_dp_user = g_strdup("");
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                dirs[i]->enabled = true;
                dirs[i]->exclude_ports = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->include_ports = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->exclude_ips = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->exclude_uids = g_ptr_array_new_with_free_func(g_free);
        }
        cfg->inbound.port = 15006;
        cfg->outbound.port = 15001;
        cfg->dns.port = 15053;
        cfg->dns.resolv_conf = g_strdup("/etc/resolv.conf");
        cfg->vnet = g_ptr_array_new_with_free_func(g_free);
        cfg->log_level = 7;
        cfg->chain_inbound = g_strdup("INBOUND");
        cfg->chain_outbound = g_strdup("OUTBOUND");
        cfg->chain_inbound_redirect = g_strdup("INBOUND_REDIRECT");
        cfg->chain_outbound_redirect = g_strdup("OUTBOUND_REDIRECT");
        cfg->wait = 5;
        cfg->max_retries = 4;
        cfg->sleep_between_retries = g_strdup("2s");
        cfg->assume_ipv6 = CONFIG_ASSUME_DEFAULT;
        cfg->assume_conntrack = CONFIG_ASSUME_DEFAULT;
        cfg->assume_docker_output = CONFIG_ASSUME_DEFAULT;
        cfg->assume_mangle = CONFIG_ASSUME_DEFAULT;
        return cfg;
}

TpfwConfig *tpfw_config_free(TpfwConfig *cfg)
{
        ConfigRedirect *dirs[2];

        if (!cfg)
                return NULL;
        dirs[0] = &cfg->inbound;
        dirs[1] = &cfg->outbound;
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                g_ptr_array_unref(dirs[i]->exclude_ports);
                g_ptr_array_unref(dirs[i]->include_ports);
                g_ptr_array_unref(dirs[i]->exclude_ips);
                g_ptr_array_unref(dirs[i]->exclude_uids);
        }
        g_free(cfg->kuma_dp_user);
        g_free(cfg->dns.resolv_conf);
        g_ptr_array_unref(cfg->vnet);
        g_free(cfg->chain_inbound);
        g_free(cfg->chain_outbound);
        g_free(cfg->chain_inbound_redirect);
        g_free(cfg->chain_outbound_redirect);
        g_free(cfg->sleep_between_retries);
        g_free(cfg->iptables_executables);
        g_free(cfg->loopback_interface);
        g_free(cfg);
        return NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwConfig, tpfw_config_free)

static int check_chain_names(BuildContext *ctx)
{
        const char *names[] = {ctx->cfg->chain_inbound, ctx->cfg->chain_outbound,
                               ctx->cfg->chain_inbound_redirect, ctx->cfg->chain_outbound_redirect};

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                for (size_t j = i + 1; j < G_N_ELEMENTS(names); j++)
                        if (g_str_equal(names[i], names[j]))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "chain name suffix \"%s\" is used twice "
                                                     "(KUMA_TRANSPARENT_PROXY_*_CHAIN_NAME)",
                                                     names[i]);
        return 0;
}

int tpfw_config_build(int argc, char *const *argv, char *const *envp, FILE *stdin_file,
                      TpfwConfig **ret, char ***ret_notes, TpfwDiag *diag)
{
        g_autoptr(TpfwConfig) cfg = config_new_default();
        g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GArray) flags = g_array_new(FALSE, TRUE, sizeof(FlagValue));
        BuildContext ctx = {.cfg = cfg, .notes = notes, .diag = diag};
        bool stdin_used = false, flag_dns = false, flag_capture_all = false;
        int r;

        g_array_set_clear_func(flags, flag_value_clear);
        if (argc < 0 || (argc > 0 && !argv))
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "invalid argument vector");
        r = parse_argv(&ctx, argc, argv, flags);
        if (r < 0)
                return r;

        for (guint i = 0; i < flags->len; i++) {
                FlagValue *fv = &g_array_index(flags, FlagValue, i);

                if (options[fv->idx].type != OPT_CONFIG)
                        continue;
                if (g_str_equal(fv->value, "-")) {
                        if (stdin_used)
                                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                                     "--config -: standard input can be used "
                                                     "only once");
                        stdin_used = true;
                }
                r = apply_config_source(&ctx, fv->value, stdin_file);
                if (r < 0)
                        return r;
        }

        r = apply_env(&ctx, envp);
        if (r < 0)
                return r;

        for (guint i = 0; i < flags->len; i++) {
                FlagValue *fv = &g_array_index(flags, FlagValue, i);
                Origin o = {.name = fv->name, .kind = ORIGIN_FLAG};

                if (options[fv->idx].type == OPT_CONFIG)
                        continue;
                r = apply_text(&ctx, fv->idx, fv->value, &o);
                if (r < 0)
                        return r;
                if (options[fv->idx].offset == OFF(dns.enabled))
                        flag_dns = cfg->dns.enabled;
                if (options[fv->idx].offset == OFF(dns.capture_all))
                        flag_capture_all = cfg->dns.capture_all;
        }
        if (flag_dns && flag_capture_all)
                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                     "--redirect-dns and --redirect-all-dns-traffic cannot be "
                                     "used together (--redirect-all-dns-traffic already "
                                     "redirects DNS)");
        r = check_chain_names(&ctx);
        if (r < 0)
                return r;
        if (cfg->dns.capture_all)
                cfg->dns.enabled = true;

        if (ret_notes) {
                if (notes->len > 0) {
                        g_ptr_array_add(notes, NULL);
                        *ret_notes = (char **)g_ptr_array_free(g_steal_pointer(&notes), FALSE);
                } else {
                        *ret_notes = NULL;
                }
        }
        *ret = g_steal_pointer(&cfg);
        return 0;
}

bool tpfw_config_dry_run(const TpfwConfig *cfg)
{
        return cfg && cfg->dry_run;
}

bool tpfw_config_verbose(const TpfwConfig *cfg)
{
        return cfg && cfg->verbose;
}

bool tpfw_config_comments_disabled(const TpfwConfig *cfg)
{
        return cfg && cfg->comments_disabled;
}

char *tpfw_config_help(void)
{
        GString *s = g_string_new(NULL);

        for (size_t i = 0; i < N_OPTIONS; i++) {
                const OptDef *opt = &options[i];
                const char *arg = "";

                switch (opt->type) {
                case OPT_BOOL:
                        arg = "[=true|false]";
                        break;
                case OPT_ASSUME:
                        arg = " yes|no";
                        break;
                case OPT_CONFIG:
                        arg = " SOURCE";
                        break;
                default:
                        arg = " VALUE";
                        break;
                }
                if (opt->flag)
                        g_string_append_printf(s, "  --%s%s\n", opt->flag, arg);
                else if (opt->key)
                        g_string_append_printf(s, "  %s (config key and environment only)\n",
                                               opt->key);
                else
                        g_string_append_printf(s, "  %s%s (environment only)\n", ENV_PREFIX,
                                               opt->env);
                g_string_append_printf(s, "      %s\n", opt->help);
                if (opt->env || opt->key) {
                        g_string_append(s, "      ");
                        if (opt->env)
                                g_string_append_printf(s, "env %s%s", ENV_PREFIX, opt->env);
                        if (opt->env && opt->key)
                                g_string_append(s, ", ");
                        if (opt->key)
                                g_string_append_printf(s, "key %s", opt->key);
                        g_string_append(s, "\n");
                }
                if (opt->type != OPT_CONFIG)
                        g_string_append_printf(s, "      default: %s\n", opt->def);
        }
        return g_string_free(s, FALSE);
}
