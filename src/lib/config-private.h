/* SPDX-License-Identifier: MIT */
/* Private view of TpfwConfig and the Kuma value grammars shared by config.c and generate.c. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include <tproxy-firewalld/config.h>

typedef struct ConfigRedirect {
        bool enabled;
        guint port;
        GPtrArray *exclude_ports; /* normalised decimal port strings, order and duplicates kept */
        GPtrArray *include_ports; /* same */
        GPtrArray *exclude_ips;   /* IP or CIDR, trimmed, as written */
        GPtrArray *exclude_uids; /* [proto:][ports:]uids entries, trimmed (inbound: always empty) */
        bool insert;
} ConfigRedirect;

/* A tri-state runtime-fact override: unset means "probe or use the documented default". */
typedef enum ConfigAssume {
        CONFIG_ASSUME_DEFAULT = -1,
        CONFIG_ASSUME_NO = 0,
        CONFIG_ASSUME_YES = 1,
} ConfigAssume;

struct TpfwConfig {
        char *kuma_dp_user; /* "" = look up 5678 / kuma-dp; digits are normalised */
        bool ipv4_only;     /* ipFamilyMode: ipv4 (true) or dualstack (false) */
        ConfigRedirect inbound;
        ConfigRedirect outbound;
        struct {
                bool enabled;
                bool capture_all;
                guint port;
                bool skip_conntrack_zone_split;
                char *resolv_conf;
        } dns;
        GPtrArray *vnet; /* iface:CIDR entries, trimmed */
        bool drop_invalid_packets;
        bool log_enabled;
        guint log_level;
        bool comments_disabled;
        char *chain_inbound; /* suffixes after KUMA_MESH_ */
        char *chain_outbound;
        char *chain_inbound_redirect;
        char *chain_outbound_redirect;
        bool dry_run;
        bool verbose;
        guint wait;
        guint wait_interval;
        guint max_retries;
        char *sleep_between_retries;
        char *iptables_executables;
        bool store_firewalld;
        bool cni_mode;
        /* tool-only overrides of runtime facts (KUMA-RULES.md section 3) */
        char *loopback_interface; /* NULL: first IFF_LOOPBACK interface */
        int assume_ipv6;          /* ConfigAssume */
        int assume_conntrack;
        int assume_docker_output;
        int assume_mangle;
};

/* One expanded exclude-outbound-ports-for-uids exclusion, in iptables syntax. */
typedef struct ConfigUidExclusion {
        const char *proto; /* "tcp" or "udp" (static) */
        char *ports;       /* "22,80:90" or "1:65535" */
        char *uids;        /* "1000" or "1000:1002" */
} ConfigUidExclusion;

void config_uid_exclusion_free(ConfigUidExclusion *e);

/*
 * Parses one [proto:][ports:]uids entry (KUMA-RULES.md 2.4), appending one ConfigUidExclusion
 * per protocol to out (which owns them; may be NULL to only validate). Returns NULL, or a reason
 * (free with g_free()).
 */
char *config_uid_entry_parse(const char *entry, GPtrArray *out);

/*
 * Checks an IP or CIDR (2.6); prefix_required for vnet CIDRs. Returns 4 or 6, or 0 with a
 * reason in *ret_why (free with g_free()).
 */
int config_ip_check(const char *text, bool prefix_required, char **ret_why);

/* Checks an interface name (2.6). Returns NULL or a reason (free with g_free()). */
char *config_iface_check(const char *name);
