/* SPDX-License-Identifier: MIT */
/* Unit tests: Kuma-compatible configuration (sources, precedence, grammars, errors, notes). */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config-private.h"

typedef struct Built {
        TpfwConfig *cfg;
        char **notes;
        TpfwDiag diag;
        int r;
} Built;

static void built_clear(Built *b)
{
        tpfw_config_free(b->cfg);
        g_strfreev(b->notes);
        tpfw_diag_clear(&b->diag);
        memset(b, 0, sizeof(*b));
}

/* "@name" in args is replaced by the path of fixtures/config/name. */
static Built build(const char *args, const char *const *env, const char *stdin_text)
{
        Built b = {0};
        g_auto(GStrv) argv = NULL;
        FILE *in = NULL;

        if (args && *args) {
                assert_true(g_shell_parse_argv(args, NULL, &argv, NULL));
                for (char **a = argv; *a; a++)
                        if (**a == '@') {
                                g_autofree char *rel =
                                        g_strconcat("fixtures/config/", *a + 1, NULL);
                                char *path = test_srcpath(rel);

                                g_free(*a);
                                *a = path;
                        }
        }
        if (stdin_text)
                in = fmemopen((void *)stdin_text, strlen(stdin_text), "r");
        b.r = tpfw_config_build(argv ? (int)g_strv_length(argv) : 0, argv, (char *const *)env, in,
                                &b.cfg, &b.notes, &b.diag);
        if (in)
                fclose(in);
        return b;
}

static Built build_ok(const char *args, const char *const *env, const char *stdin_text)
{
        Built b = build(args, env, stdin_text);

        if (b.r != 0)
                fail_msg("build \"%s\" failed: %s:%u: %s", args, b.diag.file, b.diag.line,
                         b.diag.message);
        return b;
}

static char *list_str(const GPtrArray *a)
{
        g_autoptr(GString) s = g_string_new(NULL);

        for (guint i = 0; i < a->len; i++)
                g_string_append_printf(s, "%s%s", i ? "|" : "", (const char *)a->pdata[i]);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

#define assert_list(a, expected)                                                                   \
        do {                                                                                       \
                g_autofree char *got_ = list_str(a);                                               \
                assert_string_equal(got_, expected);                                               \
        } while (0)

static bool has_note(char **notes, const char *needle)
{
        for (char **n = notes; n && *n; n++)
                if (strstr(*n, needle))
                        return true;
        return false;
}

static void test_defaults(void **state)
{
        Built b = build_ok("", NULL, NULL);
        const TpfwConfig *c = b.cfg;

        assert_string_equal(c->kuma_dp_user, "");
        assert_false(c->ipv4_only);
        assert_true(c->inbound.enabled);
        assert_true(c->outbound.enabled);
        assert_int_equal(c->inbound.port, 15006);
        assert_int_equal(c->outbound.port, 15001);
        assert_int_equal(c->dns.port, 15053);
        assert_false(c->dns.enabled);
        assert_false(c->dns.capture_all);
        assert_string_equal(c->dns.resolv_conf, "/etc/resolv.conf");
        assert_int_equal(c->log_level, 7);
        assert_int_equal(c->inbound.exclude_ports->len, 0); /* no port 22 default */
        assert_string_equal(c->chain_outbound_redirect, "OUTBOUND_REDIRECT");
        assert_int_equal(c->assume_ipv6, CONFIG_ASSUME_DEFAULT);
        assert_false(tpfw_config_dry_run(c));
        assert_false(tpfw_config_verbose(c));
        assert_null(b.notes);
        built_clear(&b);
}

static void test_yaml_file(void **state)
{
        Built b = build_ok("--config @base.yaml", NULL, NULL);
        const TpfwConfig *c = b.cfg;

        assert_string_equal(c->kuma_dp_user, "1234");
        assert_true(c->ipv4_only); /* "IPv4": case-insensitive (section 7) */
        assert_int_equal(c->inbound.port, 16006);
        assert_int_equal(c->outbound.port, 16001);
        assert_list(c->inbound.exclude_ports, "80|81|82|83");
        assert_list(c->inbound.exclude_ips, "10.0.0.1|10.0.0.2|10.0.0.3");
        assert_list(c->outbound.exclude_ports, "9000|9001");
        assert_list(c->outbound.exclude_uids, "1|2-3:4-5|tcp:22:7");
        assert_true(c->outbound.insert);
        assert_true(c->dns.enabled);
        assert_int_equal(c->dns.port, 16053);
        assert_list(c->vnet, "docker0:172.17.0.0/16");
        assert_true(c->log_enabled);
        assert_int_equal(c->log_level, 5);
        assert_int_equal(c->wait, 10);
        assert_true(has_note(b.notes, "base.yaml:21: unknown key \"redirect.unknownDirection\""));
        assert_true(has_note(b.notes, "base.yaml:31: unknown key \"somethingElse\""));
        assert_true(has_note(b.notes, "base.yaml:26: wait: accepted for compatibility"));
        assert_true(has_note(b.notes, "iptablesExecutables: accepted for compatibility"));
        built_clear(&b);
}

static void test_precedence(void **state)
{
        const char *env[] = {"PATH=/usr/bin", "KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_PORT=18001",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=18006", NULL};
        Built b;

        /* later file over earlier file; JSON accepted; null changes nothing; lists replace */
        b = build_ok("--config @base.yaml --config @override.json", NULL, NULL);
        assert_int_equal(b.cfg->inbound.port, 17006);
        assert_int_equal(b.cfg->outbound.port, 16001);
        assert_int_equal(b.cfg->dns.port, 16053);
        assert_list(b.cfg->inbound.exclude_ports, "443");
        assert_list(b.cfg->outbound.exclude_uids, "udp:53:9");
        assert_string_equal(b.cfg->kuma_dp_user, "4321");
        assert_true(b.cfg->dns.capture_all);
        assert_true(b.cfg->dns.enabled); /* forced by captureAll */
        assert_true(tpfw_config_dry_run(b.cfg));
        built_clear(&b);

        /* the other order */
        b = build_ok("--config @override.json --config @base.yaml", NULL, NULL);
        assert_int_equal(b.cfg->inbound.port, 16006);
        assert_list(b.cfg->inbound.exclude_ports, "80|81|82|83");
        built_clear(&b);

        /* env over files, flags over env, regardless of argv position */
        b = build_ok("--redirect-inbound-port 19006 --config @base.yaml", env, NULL);
        assert_int_equal(b.cfg->inbound.port, 19006);
        assert_int_equal(b.cfg->outbound.port, 18001);
        built_clear(&b);
}

static void test_env_without_config(void **state)
{
        const char *env[] = {"KUMA_TRANSPARENT_PROXY_IP_FAMILY_MODE=ipv4",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_DNS_ENABLED=T",
                             "KUMA_TRANSPARENT_PROXY_DROP_INVALID_PACKETS=1",
                             "KUMA_TRANSPARENT_PROXY_VERBOSE=True",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_ENABLED=False",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_EXCLUDE_PORTS=1, 2,,3",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_UIDS="
                             "tcp:22:1,udp:53:2",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_VNET_NETWORKS=a:10.0.0.0/8,b:::/0",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=",
                             "KUMA_TRANSPARENT_PROXY_NOT_AN_OPTION=1",
                             NULL};
        Built b = build_ok("", env, NULL);
        const TpfwConfig *c = b.cfg;

        assert_true(c->ipv4_only);
        assert_true(c->dns.enabled);
        assert_true(c->drop_invalid_packets);
        assert_true(tpfw_config_verbose(c));
        assert_false(c->inbound.enabled);
        assert_list(c->outbound.exclude_ports, "1|2|3");
        assert_list(c->outbound.exclude_uids, "tcp:22:1|udp:53:2");
        assert_list(c->vnet, "a:10.0.0.0/8|b:::/0");
        assert_int_equal(c->inbound.port, 15006); /* empty = unset */
        assert_true(has_note(b.notes, "KUMA_TRANSPARENT_PROXY_NOT_AN_OPTION"));
        built_clear(&b);
}

static void test_stdin_config(void **state)
{
        Built b = build_ok("--config - --redirect-dns-port 1053", NULL,
                           "redirect: {dns: {captureAll: true, port: 5353}}\n");

        assert_true(b.cfg->dns.capture_all);
        assert_true(b.cfg->dns.enabled);
        assert_int_equal(b.cfg->dns.port, 1053);
        built_clear(&b);

        b = build("--config - --config -", NULL, "{}");
        assert_int_equal(b.r, -EINVAL);
        assert_non_null(strstr(b.diag.message, "only once"));
        built_clear(&b);
}

static void test_empty_documents(void **state)
{
        const char *files[] = {"@empty.yaml", "@empty-doc.yaml"};

        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
                g_autofree char *args =
                        g_strdup_printf("--config @base.yaml --config %s", files[i]);
                Built b = build_ok(args, NULL, NULL);

                assert_int_equal(b.cfg->inbound.port, 16006);
                built_clear(&b);
        }
        {
                Built b = build_ok("--config -", NULL, "");

                assert_int_equal(b.cfg->inbound.port, 15006);
                built_clear(&b);
        }
}

static void test_flag_syntax(void **state)
{
        const char *env[] = {"KUMA_TRANSPARENT_PROXY_REDIRECT_DNS_ENABLED=true",
                             "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_IPS="
                             "1.1.1.1",
                             NULL};
        Built b = build_ok("--redirect-inbound-port=1000 --redirect-dns=false "
                           "--redirect-inbound=false --iptables-logs "
                           "--exclude-inbound-ports 1,2 --exclude-inbound-ports 3 "
                           "--exclude-outbound-ports=4 --exclude-outbound-ports 5,6 "
                           "--exclude-inbound-ips 10.0.0.1,10.0.0.2 --exclude-inbound-ips=::1 "
                           "--exclude-outbound-ports-for-uids 22,80:1 "
                           "--exclude-outbound-ports-for-uids *:*:2-3 "
                           "--vnet a:10.0.0.0/8 --vnet=b:fd00::/8 --ip-family-mode DualStack "
                           "--kuma-dp-user 007",
                           env, NULL);
        const TpfwConfig *c = b.cfg;

        assert_int_equal(c->inbound.port, 1000);
        assert_false(c->dns.enabled);
        assert_false(c->inbound.enabled);
        assert_true(c->log_enabled);
        assert_list(c->inbound.exclude_ports, "3");                   /* last wins */
        assert_list(c->outbound.exclude_ports, "5|6");                /* last wins */
        assert_list(c->inbound.exclude_ips, "10.0.0.1|10.0.0.2|::1"); /* flag replaces env */
        assert_list(c->outbound.exclude_uids, "22,80:1|*:*:2-3");     /* not split, accumulate */
        assert_list(c->vnet, "a:10.0.0.0/8|b:fd00::/8");
        assert_false(c->ipv4_only);
        assert_string_equal(c->kuma_dp_user, "7");
        built_clear(&b);
}

static void test_no_effect_notes(void **state)
{
        const char *env[] = {"KUMA_TRANSPARENT_PROXY_RETRY_MAX_RETRIES=9", NULL};
        Built b = build_ok("--wait 3 --wait-interval=1 --sleep-between-retries 1m30.5s "
                           "--store-firewalld --iptables-executables "
                           "iptables:/a,iptables-save:/b,iptables-restore:/c --dry-run --verbose",
                           env, NULL);

        assert_true(has_note(b.notes, "--wait: accepted for compatibility, has no effect"));
        assert_true(has_note(b.notes, "--wait-interval:"));
        assert_true(has_note(b.notes, "--sleep-between-retries:"));
        /* --store-firewalld has an effect (false means runtime only): no note, but its origin */
        assert_false(has_note(b.notes, "--store-firewalld"));
        {
                const char *origin = NULL;

                assert_int_equal(tpfw_config_store_firewalld(b.cfg, &origin), 1);
                assert_string_equal(origin, "--store-firewalld");
        }
        assert_true(has_note(b.notes, "--iptables-executables:"));
        assert_true(has_note(b.notes, "KUMA_TRANSPARENT_PROXY_RETRY_MAX_RETRIES:"));
        assert_false(has_note(b.notes, "--dry-run"));
        assert_true(tpfw_config_dry_run(b.cfg));
        assert_true(tpfw_config_verbose(b.cfg));
        built_clear(&b);
}

/* One boolean grammar: every spelling means the same from a flag, the environment and a file. */
static void test_bool_spellings_in_every_source(void **state)
{
        static const struct {
                const char *text;
                bool value;
        } spellings[] = {
                {"1", true},      {"t", true},      {"T", true},    {"TRUE", true},
                {"true", true},   {"True", true},   {"yes", true},  {"Yes", true},
                {"YES", true},    {"on", true},     {"On", true},   {"ON", true},
                {"0", false},     {"f", false},     {"F", false},   {"FALSE", false},
                {"false", false}, {"False", false}, {"no", false},  {"No", false},
                {"NO", false},    {"off", false},   {"Off", false}, {"OFF", false},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(spellings); i++) {
                g_autofree char *flag = g_strdup_printf("--redirect-inbound=%s", spellings[i].text);
                g_autofree char *env0 = g_strdup_printf(
                        "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_ENABLED=%s", spellings[i].text);
                g_autofree char *yaml =
                        g_strdup_printf("redirect: {inbound: {enabled: %s}}\n", spellings[i].text);
                const char *env[] = {env0, NULL};
                Built b;

                b = build_ok(flag, NULL, NULL);
                assert_int_equal(b.cfg->inbound.enabled, spellings[i].value);
                built_clear(&b);
                b = build_ok("", env, NULL);
                assert_int_equal(b.cfg->inbound.enabled, spellings[i].value);
                built_clear(&b);
                b = build_ok("--config -", NULL, yaml);
                assert_int_equal(b.cfg->inbound.enabled, spellings[i].value);
                built_clear(&b);
        }
        for (size_t i = 0; i < 3; i++) {
                static const char *const bad[] = {"--redirect-inbound=y", "--redirect-inbound=2",
                                                  "--redirect-inbound=tRUE"};
                Built b = build(bad[i], NULL, NULL);

                assert_int_equal(b.r, -EINVAL);
                built_clear(&b);
        }
}

static void test_store_firewalld_origin(void **state)
{
        const char *env[] = {"KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD=false", NULL};
        const char *origin = NULL;
        Built b = build_ok("", NULL, NULL);

        assert_int_equal(tpfw_config_store_firewalld(b.cfg, &origin), -1);
        assert_null(origin);
        built_clear(&b);
        b = build_ok("", env, NULL);
        assert_int_equal(tpfw_config_store_firewalld(b.cfg, &origin), 0);
        assert_string_equal(origin, "KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD");
        assert_null(b.notes);
        built_clear(&b);
        b = build_ok("--store-firewalld", env, NULL);
        assert_int_equal(tpfw_config_store_firewalld(b.cfg, &origin), 1);
        assert_string_equal(origin, "--store-firewalld");
        built_clear(&b);
        b = build_ok("--config -", NULL, "storeFirewalld: false\n");
        assert_int_equal(tpfw_config_store_firewalld(b.cfg, &origin), 0);
        assert_string_equal(origin, "<stdin>:1: storeFirewalld");
        built_clear(&b);
}

static void test_tool_overrides(void **state)
{
        Built b = build_ok("--loopback-interface lo --resolv-conf /x/resolv.conf "
                           "--assume-ipv6 yes --assume-conntrack no --assume-docker-output yes "
                           "--assume-mangle no --disable-comments",
                           NULL, NULL);

        assert_string_equal(b.cfg->loopback_interface, "lo");
        assert_string_equal(b.cfg->dns.resolv_conf, "/x/resolv.conf");
        assert_int_equal(b.cfg->assume_ipv6, CONFIG_ASSUME_YES);
        assert_int_equal(b.cfg->assume_conntrack, CONFIG_ASSUME_NO);
        assert_int_equal(b.cfg->assume_docker_output, CONFIG_ASSUME_YES);
        assert_int_equal(b.cfg->assume_mangle, CONFIG_ASSUME_NO);
        assert_true(tpfw_config_comments_disabled(b.cfg));
        built_clear(&b);
}

static void test_file_errors(void **state)
{
        Built b = build("--config @invalid-port.yaml", NULL, NULL);

        assert_int_equal(b.r, -EINVAL);
        assert_non_null(strstr(b.diag.file, "fixtures/config/invalid-port.yaml"));
        assert_int_equal(b.diag.line, 4);
        assert_string_equal(b.diag.message, "redirect.inbound.port: invalid value \"70000\": "
                                            "expected a port number 1-65535");
        built_clear(&b);

        b = build("--config @invalid-list-item.yaml", NULL, NULL);
        assert_int_equal(b.r, -EINVAL);
        assert_int_equal(b.diag.line, 5);
        assert_non_null(strstr(b.diag.message, "redirect.outbound.excludePortsForIPs: invalid "
                                               "value \"10.0.0.999\""));
        built_clear(&b);

        b = build("--config @does-not-exist.yaml", NULL, NULL);
        assert_int_equal(b.r, -ENOENT);
        assert_non_null(strstr(b.diag.file, "does-not-exist.yaml"));
        built_clear(&b);
}

/* At least 30 invalid inputs, each with an error naming the option and the value. */
static void test_invalid_inputs(void **state)
{
        static const struct {
                const char *args;
                const char *env;
                const char *yaml;
                const char *name;  /* must appear in the message */
                const char *value; /* must appear in the message, quoted */
                unsigned line;     /* for stdin config: the expected line */
        } cases[] = {
                {"--redirect-inbound-port 0", NULL, NULL, "--redirect-inbound-port", "0", 0},
                {"--redirect-inbound-port 65536", NULL, NULL, "--redirect-inbound-port", "65536",
                 0},
                {"--redirect-outbound-port abc", NULL, NULL, "--redirect-outbound-port", "abc", 0},
                {"--redirect-dns-port -1", NULL, NULL, "--redirect-dns-port", "-1", 0},
                {"--exclude-inbound-ports 80,0", NULL, NULL, "--exclude-inbound-ports", "0", 0},
                {"--exclude-outbound-ports 80,x", NULL, NULL, "--exclude-outbound-ports", "x", 0},
                {"--exclude-outbound-ips 10.0.0.256", NULL, NULL, "--exclude-outbound-ips",
                 "10.0.0.256", 0},
                {"--exclude-outbound-ips 10.0.0.0/33", NULL, NULL, "--exclude-outbound-ips",
                 "10.0.0.0/33", 0},
                {"--exclude-inbound-ips fe80::1%eth0", NULL, NULL, "--exclude-inbound-ips",
                 "fe80::1%eth0", 0},
                {"--exclude-inbound-ips ::ffff:10.0.0.1", NULL, NULL, "--exclude-inbound-ips",
                 "::ffff:10.0.0.1", 0},
                {"--exclude-outbound-ports-for-uids 'tcp:22:*'", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "tcp:22:*", 0},
                {"--exclude-outbound-ports-for-uids sctp:22:1", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "sctp:22:1", 0},
                {"--exclude-outbound-ports-for-uids 90-80:1", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "90-80:1", 0},
                {"--exclude-outbound-ports-for-uids 0:1", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "0:1", 0},
                {"--exclude-outbound-ports-for-uids 1:70000", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "1:70000", 0},
                {"--exclude-outbound-ports-for-uids 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16:1", NULL,
                 NULL, "--exclude-outbound-ports-for-uids",
                 "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16:1", 0},
                {"--exclude-outbound-ports-for-uids a:b:c:d", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "a:b:c:d", 0},
                {"--exclude-outbound-ports-for-uids 1:2,3", NULL, NULL,
                 "--exclude-outbound-ports-for-uids", "1:2,3", 0},
                {"--vnet docker0", NULL, NULL, "--vnet", "docker0", 0},
                {"--vnet docker0:172.17.0.1", NULL, NULL, "--vnet", "docker0:172.17.0.1", 0},
                {"--vnet averyveryverylongname:10.0.0.0/8", NULL, NULL, "--vnet",
                 "averyveryverylongname:10.0.0.0/8", 0},
                {"--vnet ..:10.0.0.0/8", NULL, NULL, "--vnet", "..:10.0.0.0/8", 0},
                {"--vnet 'a\"b:10.0.0.0/8'", NULL, NULL, "--vnet", "a\\\"b:10.0.0.0/8", 0},
                {"--ip-family-mode ipv6", NULL, NULL, "--ip-family-mode", "ipv6", 0},
                {"--kuma-dp-user 4294967295", NULL, NULL, "--kuma-dp-user", "4294967295", 0},
                {"--kuma-dp-user 'bad user'", NULL, NULL, "--kuma-dp-user", "bad user", 0},
                {"--redirect-dns=maybe", NULL, NULL, "--redirect-dns", "maybe", 0},
                {"--assume-ipv6 true", NULL, NULL, "--assume-ipv6", "true", 0},
                {"--loopback-interface lo+", NULL, NULL, "--loopback-interface", "lo+", 0},
                {"--wait -5", NULL, NULL, "--wait", "-5", 0},
                {"--max-retries 1.5", NULL, NULL, "--max-retries", "1.5", 0},
                {"--sleep-between-retries 2x", NULL, NULL, "--sleep-between-retries", "2x", 0},
                {"--iptables-executables iptables:/x", NULL, NULL, "--iptables-executables",
                 "iptables:/x", 0},
                {"--iptables-executables foo:/x", NULL, NULL, "--iptables-executables", "foo:/x",
                 0},
                {"--redirect-dns --redirect-all-dns-traffic", NULL, NULL, "--redirect-dns", NULL,
                 0},
                {"--unknown-flag", NULL, NULL, "--unknown-flag", NULL, 0},
                {"--config-file x", NULL, NULL, "--config-file", NULL, 0},
                {"--kuma-dp-uid 5", NULL, NULL, "--kuma-dp-uid", NULL, 0},
                {"--redirect-inbound-port", NULL, NULL, "--redirect-inbound-port", NULL, 0},
                {"stray", NULL, NULL, "unexpected argument", "stray", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT=abc", NULL,
                 "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT", "abc", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_DNS_ENABLED=y", NULL,
                 "KUMA_TRANSPARENT_PROXY_REDIRECT_DNS_ENABLED", "y", 0},
                {"", "KUMA_TRANSPARENT_PROXY_LOG_LEVEL=8", NULL, "KUMA_TRANSPARENT_PROXY_LOG_LEVEL",
                 "8", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_CHAIN_NAME=TOO_LONG_CHAIN_NAME_X",
                 NULL, "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_CHAIN_NAME",
                 "TOO_LONG_CHAIN_NAME_X", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_CHAIN_NAME=BAD-NAME", NULL,
                 "KUMA_TRANSPARENT_PROXY_REDIRECT_OUTBOUND_CHAIN_NAME", "BAD-NAME", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS=1", NULL,
                 "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS", "1", 0},
                {"", "KUMA_TRANSPARENT_PROXY_IP_FAMILY_MODE=both", NULL,
                 "KUMA_TRANSPARENT_PROXY_IP_FAMILY_MODE", "both", 0},
                {"", "KUMA_TRANSPARENT_PROXY_REDIRECT_VNET_NETWORKS=eth0:10.0.0.0/8,eth1", NULL,
                 "KUMA_TRANSPARENT_PROXY_REDIRECT_VNET_NETWORKS", "eth1", 0},
                {"--config -", NULL, "redirect: {inbound: {port: \"x\"}}\n",
                 "redirect.inbound.port", "x", 1},
                {"--config -", NULL, "redirect:\n  dns:\n    enabled: maybe\n",
                 "redirect.dns.enabled", "maybe", 3},
                {"--config -", NULL, "redirect:\n  dns:\n    enabled: \"true\"\n",
                 "redirect.dns.enabled", "true", 3},
                {"--config -", NULL, "redirect: {outbound: {excludePortsForIPs: \"10.0.0.1\"}}",
                 "redirect.outbound.excludePortsForIPs", "10.0.0.1", 1},
                {"--config -", NULL, "redirect: 5\n", "redirect", NULL, 1},
                {"--config -", NULL, "\n[1, 2]\n", "mapping", NULL, 2},
                {"--config -", NULL, "log:\n  level: 9\n", "log.level", "9", 2},
                {"--config -", NULL, "redirect: {inbound: {excludePortsForUIDs: [1]}}",
                 "redirect.inbound.excludePortsForUIDs", "1", 1},
                {"--config -", NULL, "redirect: {vnet: {networks: [\"eth0:10.0.0.0\"]}}",
                 "redirect.vnet.networks", "eth0:10.0.0.0", 1},
                {"--config -", NULL, "a: [\n", "invalid YAML", NULL, 2},
                {"--config -", NULL, "kumaDPUser: [a]\n", "kumaDPUser", NULL, 1},
                {"--config -", NULL, "iptablesExecutables: {ip6tables: /x}\n",
                 "iptablesExecutables", "ip6tables:/x", 1},
                {"--config -", NULL, "ipFamilyMode: ipv5\n", "ipFamilyMode", "ipv5", 1},
                {"--config -", NULL, "wait: -1\n", "wait", "-1", 1},
                {"--config -", NULL, "a: 1\n---\nb: 2\n", "more than one YAML document", NULL, 2},
                {"--config -", NULL, "x: &a [*a]\nredirect: *a\n", "redirect", NULL, 2},
        };
        size_t n = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                const char *env[] = {cases[i].env, NULL};
                Built b = build(cases[i].args, env, cases[i].yaml);

                if (b.r != -EINVAL)
                        fail_msg("case %zu (%s%s): expected -EINVAL, got %d", i, cases[i].args,
                                 cases[i].env ? cases[i].env : "", b.r);
                assert_non_null(b.diag.message);
                if (!strstr(b.diag.message, cases[i].name))
                        fail_msg("case %zu: \"%s\" does not name %s", i, b.diag.message,
                                 cases[i].name);
                if (cases[i].value) {
                        g_autofree char *quoted = g_strdup_printf("\"%s\"", cases[i].value);

                        if (!strstr(b.diag.message, quoted))
                                fail_msg("case %zu: \"%s\" does not show %s", i, b.diag.message,
                                         quoted);
                }
                if (cases[i].yaml) {
                        assert_string_equal(b.diag.file, "<stdin>");
                        if (b.diag.line != cases[i].line)
                                fail_msg("case %zu: line %u, expected %u (%s)", i, b.diag.line,
                                         cases[i].line, b.diag.message);
                }
                assert_null(b.cfg);
                n++;
                built_clear(&b);
        }
        assert_true(n >= 30);
}

static void test_case_insensitive_keys(void **state)
{
        Built b = build_ok("--config -", NULL,
                           "REDIRECT:\n  Inbound:\n    PORT: 1111\n    port: 2222\n"
                           "KUMADPUSER: \"99\"\nredirect:\n  DNS:\n    CAPTUREALL: on\n");

        assert_int_equal(b.cfg->inbound.port, 2222); /* document order, last wins */
        assert_string_equal(b.cfg->kuma_dp_user, "99");
        assert_true(b.cfg->dns.capture_all);
        built_clear(&b);
}

static void test_flag_arity(void **state)
{
        assert_int_equal(tpfw_config_flag_arity("--redirect-dns"), 0);
        assert_int_equal(tpfw_config_flag_arity("--redirect-dns=false"), 0);
        assert_int_equal(tpfw_config_flag_arity("--redirect-inbound-port"), 1);
        assert_int_equal(tpfw_config_flag_arity("--redirect-inbound-port=1"), 0);
        assert_int_equal(tpfw_config_flag_arity("--config"), 1);
        assert_int_equal(tpfw_config_flag_arity("--owner"), -1);
        assert_int_equal(tpfw_config_flag_arity("-v"), -1);
        assert_int_equal(tpfw_config_flag_arity("--"), -1);
}

static void test_help(void **state)
{
        g_autofree char *help = tpfw_config_help();
        static const char *const must[] = {
                "--kuma-dp-user VALUE",
                "--redirect-dns[=true|false]",
                "--vnet VALUE",
                "--assume-ipv6 yes|no",
                "--config SOURCE",
                "--iptables-logs[=true|false]",
                "default: 15006",
                "default: dualstack",
                "KUMA_TRANSPARENT_PROXY_LOG_LEVEL",
                "key redirect.inbound.includePorts",
                "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_CHAIN_NAME",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(must); i++)
                if (!strstr(help, must[i]))
                        fail_msg("help lacks %s", must[i]);
        /* Kuma's help wrongly claims port 22 is excluded by default (section 7) */
        assert_null(strstr(help, "22"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_yaml_file),
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_env_without_config),
                cmocka_unit_test(test_stdin_config),
                cmocka_unit_test(test_empty_documents),
                cmocka_unit_test(test_flag_syntax),
                cmocka_unit_test(test_no_effect_notes),
                cmocka_unit_test(test_tool_overrides),
                cmocka_unit_test(test_bool_spellings_in_every_source),
                cmocka_unit_test(test_store_firewalld_origin),
                cmocka_unit_test(test_file_errors),
                cmocka_unit_test(test_invalid_inputs),
                cmocka_unit_test(test_case_insensitive_keys),
                cmocka_unit_test(test_flag_arity),
                cmocka_unit_test(test_help),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
