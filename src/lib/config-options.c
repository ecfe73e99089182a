/* SPDX-License-Identifier: MIT */
/* The Kuma option table: each option's flag, environment variable, config key, type, help. */
#include <string.h>

#include "config-options.h"

#define OFF(field) offsetof(TpfwConfig, field)

const OptDef config_options[CONFIG_N_OPTIONS] = {
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
        {"store-firewalld", "STORE_FIREWALLD", "storeFirewalld", OPT_BOOL, OFF(store_firewalld), 0,
         "unset",
         "true (or unset): store the rules in direct.xml; false: install and uninstall change "
         "only firewalld's runtime (as --runtime-only)"},
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

G_STATIC_ASSERT(G_N_ELEMENTS(config_options) == CONFIG_N_OPTIONS);

void *config_field(TpfwConfig *cfg, const OptDef *opt)
{
        return (char *)cfg + opt->offset;
}

bool config_opt_is_list(const OptDef *opt)
{
        return opt->type >= OPT_PORT_LIST && opt->type <= OPT_VNET_LIST;
}

ssize_t config_flag_lookup(const char *name, size_t len)
{
        for (size_t i = 0; i < CONFIG_N_OPTIONS; i++)
                if (config_options[i].flag && strlen(config_options[i].flag) == len &&
                    strncmp(config_options[i].flag, name, len) == 0)
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
        idx = config_flag_lookup(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
        if (idx < 0)
                return -1;
        if (eq || config_options[idx].type == OPT_BOOL)
                return 0;
        return 1;
}

/*
 * Finds the option key segment after prefix that matches name: exactly, else ASCII
 * case-insensitively, as Go's encoding/json does. Returns the canonical path prefix+segment in
 * *ret_path and the option index when it is a leaf (-1 when it is a nested mapping); false when
 * no key matches.
 */
bool config_key_lookup(const char *prefix, const char *name, char **ret_path, ssize_t *ret_idx)
{
        size_t plen = strlen(prefix);

        for (int pass = 0; pass < 2; pass++) {
                for (size_t i = 0; i < CONFIG_N_OPTIONS; i++) {
                        const char *key = config_options[i].key;
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

char *tpfw_config_help(void)
{
        GString *s = g_string_new(NULL);

        for (size_t i = 0; i < CONFIG_N_OPTIONS; i++) {
                const OptDef *opt = &config_options[i];
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
                        g_string_append_printf(s, "  %s%s (environment only)\n", CONFIG_ENV_PREFIX,
                                               opt->env);
                g_string_append_printf(s, "      %s\n", opt->help);
                if (opt->env || opt->key) {
                        g_string_append(s, "      ");
                        if (opt->env)
                                g_string_append_printf(s, "env %s%s", CONFIG_ENV_PREFIX, opt->env);
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

char **tpfw_config_flag_names(void)
{
        GPtrArray *names = g_ptr_array_new();

        for (size_t i = 0; i < CONFIG_N_OPTIONS; i++)
                if (config_options[i].flag)
                        g_ptr_array_add(names, g_strconcat("--", config_options[i].flag, NULL));
        g_ptr_array_add(names, NULL);
        return (char **)g_ptr_array_free(names, FALSE);
}
