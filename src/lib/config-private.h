/* SPDX-License-Identifier: MIT */
/* Private view of TpfwConfig and the Kuma value grammars (config-values.c), shared with generate.c.
 */
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
        GPtrArray *origins; /* per option index: the source that last set it (char *), or NULL */
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

/* Decimal digits only, at most max; no sign, no blanks, no base prefixes. */
bool config_parse_decimal(const char *s, guint64 max, guint64 *ret);
/* A port 1-65535. */
bool config_parse_port(const char *s, guint *ret);
/*
 * The one boolean grammar of all sources: 1 t T TRUE true True yes Yes YES on On ON, and
 * 0 f F FALSE false False no No NO off Off OFF. Returns false (and leaves *ret) otherwise.
 */
bool config_parse_bool(const char *s, bool *ret);
/* Go's time.ParseDuration grammar: [-+]? ( number unit )+ or "0". */
bool config_parse_duration(const char *s);
/* A user name or numeric UID; *ret_norm gets the normalised form. Returns NULL or a reason. */
char *config_user_check(const char *s, char **ret_norm);
/* A KUMA_MESH_ chain name suffix. Returns NULL or a reason. */
char *config_chain_check(const char *s);
/* An iface:CIDR vnet entry. Returns NULL or a reason. */
char *config_vnet_check(const char *entry);
/* The index of an iptables executable name (iptables, iptables-save, ... ip6tables-restore). */
int config_executable_index(const char *name);
/* A reason when a family's three executables are not given together, else NULL. */
char *config_executables_complete(const bool seen[6]);
/* A name:path[,...] list of executables. Returns NULL or a reason. */
char *config_executables_check(const char *text);
