/* SPDX-License-Identifier: MIT */
/* Kuma's value grammars: numbers, ports, booleans, durations, users, IPs, UID and vnet entries. */
#include <arpa/inet.h>
#include <string.h>

#include "config-private.h"

/* Decimal digits only, at most max; no sign, no blanks, no base prefixes. */
bool config_parse_decimal(const char *s, guint64 max, guint64 *ret)
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

bool config_parse_port(const char *s, guint *ret)
{
        guint64 v;

        if (!config_parse_decimal(s, 65535, &v) || v == 0)
                return false;
        *ret = (guint)v;
        return true;
}

/*
 * The one boolean grammar of every source (flags, environment, config files): Go's
 * strconv.ParseBool, which Kuma uses for flags and the environment, plus the YAML 1.1
 * yes/no/on/off family that config files have always accepted.
 */
bool config_parse_bool(const char *s, bool *ret)
{
        static const char *const yes[] = {"1",   "t",   "T",   "TRUE", "true", "True",
                                          "yes", "Yes", "YES", "on",   "On",   "ON"};
        static const char *const no[] = {"0",  "f",  "F",  "FALSE", "false", "False",
                                         "no", "No", "NO", "off",   "Off",   "OFF"};

        G_STATIC_ASSERT(G_N_ELEMENTS(yes) == G_N_ELEMENTS(no));
        if (!s)
                return false;
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
bool config_parse_duration(const char *s)
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
        if (strlen(slash + 1) > 3 || !config_parse_decimal(slash + 1, max, &prefix)) {
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

char *config_user_check(const char *s, char **ret_norm)
{
        guint64 uid;

        if (!*s) {
                *ret_norm = g_strdup("");
                return NULL;
        }
        if (strspn(s, "0123456789") == strlen(s)) {
                if (strlen(s) > 20 || !config_parse_decimal(s, 4294967294u, &uid))
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

char *config_chain_check(const char *s)
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
                if (!config_parse_decimal(s, hi, &a) || a < lo)
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
        if (!config_parse_decimal(s, hi, &a) || a < lo || !config_parse_decimal(dash + 1, hi, &b) ||
            b < lo)
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

char *config_vnet_check(const char *entry)
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

int config_executable_index(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(executable_names); i++)
                if (g_str_equal(name, executable_names[i]))
                        return (int)i;
        return -1;
}

char *config_executables_complete(const bool seen[6])
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

char *config_executables_check(const char *text)
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
                idx = config_executable_index(*q);
                if (idx < 0)
                        return g_strdup_printf("unknown executable \"%s\"", *q);
                seen[idx] = true;
        }
        return config_executables_complete(seen);
}
