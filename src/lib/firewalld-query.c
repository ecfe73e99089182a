/* SPDX-License-Identifier: MIT */
/* Reading firewalld's direct entries (runtime, permanent) and checking an owner's among them. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/firewalld.h>

#include "firewalld-private.h"
#include "util.h"

/* ---- reading direct entries ---- */

/* Reads a string at it and advances; NULL when the type is wrong. Valid while the reply lives. */
static const char *iter_string(DBusMessageIter *it)
{
        const char *s = NULL;

        if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_STRING)
                return NULL;
        dbus_message_iter_get_basic(it, &s);
        dbus_message_iter_next(it);
        return s;
}

/* eb and anything else firewalld may grow are outside the ruleset's reach. */
static bool ipv_of(const char *name, TpfwIpv *ret)
{
        return tpfw_ipv_from_name(name, ret) == 0;
}

/* Called for each chain of a family the ruleset knows; returns 0 or -errno. */
typedef int (*ChainFn)(TpfwIpv ipv, const char *table, const char *chain, void *userdata);
/* Called for each rule of a family the ruleset knows; returns 0 or -errno. */
typedef int (*RuleFn)(TpfwIpv ipv, const char *table, const char *chain, int priority,
                      const char *const *argv, void *userdata);

/* Enters the array of structs at it (false when it is something else). */
static bool enter_struct_array(DBusMessageIter *it, DBusMessageIter *arr)
{
        if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(it) != DBUS_TYPE_STRUCT)
                return false;
        dbus_message_iter_recurse(it, arr);
        return true;
}

/* Enters the struct at arr and reads the (ipv, table, chain) that opens chains and rules alike;
 * st is left at what follows them. */
static bool read_head(DBusMessageIter *arr, DBusMessageIter *st, const char **ipv_name,
                      const char **table, const char **chain)
{
        dbus_message_iter_recurse(arr, st);
        *ipv_name = iter_string(st);
        *table = iter_string(st);
        *chain = iter_string(st);
        return *ipv_name && *table && *chain;
}

/* Walks an a(sss) array at it (getAllChains, or the first member of getSettings). */
static int walk_chains(DBusMessageIter *it, const char *method, ChainFn fn, void *userdata,
                       TpfwDiag *diag)
{
        DBusMessageIter arr;

        if (!enter_struct_array(it, &arr))
                return tpfw_fw_bad_reply(diag, method);
        while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT) {
                DBusMessageIter st;
                const char *ipv_name, *table, *chain;
                TpfwIpv ipv;

                if (!read_head(&arr, &st, &ipv_name, &table, &chain))
                        return tpfw_fw_bad_reply(diag, method);
                if (ipv_of(ipv_name, &ipv)) {
                        int r = fn(ipv, table, chain, userdata);

                        if (r < 0)
                                return tpfw_diag_set(diag, -r, NULL, 0, "out of memory");
                }
                dbus_message_iter_next(&arr);
        }
        return 0;
}

/* Walks an a(sssias) array at it (getAllRules, or the second member of getSettings). */
static int walk_rules(DBusMessageIter *it, const char *method, RuleFn fn, void *userdata,
                      TpfwDiag *diag)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        DBusMessageIter arr;

        if (!enter_struct_array(it, &arr))
                return tpfw_fw_bad_reply(diag, method);
        while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT) {
                DBusMessageIter st, av;
                const char *ipv_name, *table, *chain;
                dbus_int32_t priority;
                TpfwIpv ipv;
                int r;

                if (!read_head(&arr, &st, &ipv_name, &table, &chain) ||
                    dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_INT32)
                        return tpfw_fw_bad_reply(diag, method);
                dbus_message_iter_get_basic(&st, &priority);
                dbus_message_iter_next(&st);
                if (dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_ARRAY ||
                    dbus_message_iter_get_element_type(&st) != DBUS_TYPE_STRING)
                        return tpfw_fw_bad_reply(diag, method);
                g_ptr_array_set_size(args, 0);
                dbus_message_iter_recurse(&st, &av);
                /* the element type was checked above, so no check per string */
                while (dbus_message_iter_get_arg_type(&av) != DBUS_TYPE_INVALID) {
                        const char *a = NULL;

                        dbus_message_iter_get_basic(&av, &a);
                        g_ptr_array_add(args, (gpointer)a);
                        dbus_message_iter_next(&av);
                }
                g_ptr_array_add(args, NULL);
                dbus_message_iter_next(&arr);
                if (ipv_of(ipv_name, &ipv)) {
                        r = fn(ipv, table, chain, priority, (const char *const *)args->pdata,
                               userdata);
                        if (r < 0)
                                return tpfw_diag_set(diag, -r, NULL, 0, "out of memory");
                }
        }
        return 0;
}

/* Walks a getSettings reply: one struct (a(sss)a(sssias)a(sas)); the passthroughs are not ours. */
static int walk_settings(DBusMessage *reply, ChainFn chain_fn, RuleFn rule_fn, void *userdata,
                         TpfwDiag *diag)
{
        DBusMessageIter it, st;
        int r;

        if (!dbus_message_iter_init(reply, &it) ||
            dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRUCT)
                return tpfw_fw_bad_reply(diag, "getSettings");
        dbus_message_iter_recurse(&it, &st);
        r = walk_chains(&st, "getSettings", chain_fn, userdata, diag);
        if (r < 0)
                return r;
        dbus_message_iter_next(&st);
        return walk_rules(&st, "getSettings", rule_fn, userdata, diag);
}

static int add_chain_to(TpfwIpv ipv, const char *table, const char *chain, void *userdata)
{
        int r = tpfw_ruleset_add_chain(userdata, ipv, table, chain);

        return r == -EEXIST ? 0 : r;
}

static int add_rule_to(TpfwIpv ipv, const char *table, const char *chain, int priority,
                       const char *const *argv, void *userdata)
{
        int r = tpfw_ruleset_add_rule(userdata, ipv, table, chain, priority, argv, TPFW_RULE_APPEND,
                                      0);

        return r == -EEXIST ? 0 : r;
}

/* Calls a method without arguments; *reply is the caller's. */
static int call_no_args(TpfwFirewalld *fw, const char *path, const char *iface, const char *method,
                        DBusMessage **reply, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg = tpfw_fw_new_call(path, iface, method);

        if (!msg)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, NULL, reply, diag);
}

static int get_runtime(TpfwFirewalld *fw, TpfwRuleset *rs, TpfwDiag *diag)
{
        static const char *const methods[] = {"getAllChains", "getAllRules"};

        for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
                g_autoptr(DBusMessage) reply = NULL;
                DBusMessageIter it;
                int r = call_no_args(fw, FW_PATH, FW_DIRECT_IFACE, methods[i], &reply, diag);

                if (r < 0)
                        return r;
                if (!dbus_message_iter_init(reply, &it))
                        return tpfw_fw_bad_reply(diag, methods[i]);
                r = i == 0 ? walk_chains(&it, methods[i], add_chain_to, rs, diag)
                           : walk_rules(&it, methods[i], add_rule_to, rs, diag);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_permanent(TpfwFirewalld *fw, TpfwRuleset *rs, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) reply = NULL;
        int r = call_no_args(fw, FW_CONFIG_PATH, FW_CONFIG_DIRECT_IFACE, "getSettings", &reply,
                             diag);

        if (r < 0)
                return r;
        return walk_settings(reply, add_chain_to, add_rule_to, rs, diag);
}

int tpfw_firewalld_get_direct(TpfwFirewalld *fw, TpfwFirewalldView view, TpfwRuleset **ret,
                              TpfwDiag *diag)
{
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        int r;

        if (!rs)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        r = view == TPFW_VIEW_PERMANENT ? get_permanent(fw, rs, diag) : get_runtime(fw, rs, diag);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&rs);
        return 0;
}

/* ---- verification ---- */

/* An injective text key for a rule's identity (ipv, table, chain, priority, argv). */
static char *rule_key(TpfwIpv ipv, const char *table, const char *chain, int priority,
                      const char *const *argv)
{
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "%d|%zu:%s|%zu:%s|%d", (int)ipv, strlen(table), table,
                               strlen(chain), chain, priority);
        for (const char *const *a = argv; a && *a; a++)
                g_string_append_printf(s, "|%zu:%s", strlen(*a), *a);
        return g_string_free(s, FALSE);
}

static char *chain_key(TpfwIpv ipv, const char *table, const char *chain)
{
        return g_strdup_printf("%d|%zu:%s|%s", (int)ipv, strlen(table), table, chain);
}

/* "ipv4 nat OUTPUT 1 -m comment ..." for diagnostics. */
static char *rule_describe(TpfwIpv ipv, const char *table, const char *chain, int priority,
                           const char *const *argv)
{
        g_autofree char *args = tpfw_args_join(argv);

        return g_strdup_printf("%s %s %s %d %s", tpfw_ipv_name(ipv), table, chain, priority,
                               args ? args : "");
}

static const char *view_name(TpfwFirewalldView view)
{
        return view == TPFW_VIEW_PERMANENT ? "permanent configuration" : "runtime";
}

enum { Q_STATE, Q_PERMANENT, Q_RUNTIME_CHAINS, Q_RUNTIME_RULES, Q_N };
G_STATIC_ASSERT(TPFW_QUERY_STATE == 1 << Q_STATE);
G_STATIC_ASSERT(TPFW_QUERY_PERMANENT == 1 << Q_PERMANENT);
G_STATIC_ASSERT(TPFW_QUERY_RUNTIME_CHAINS == 1 << Q_RUNTIME_CHAINS);
G_STATIC_ASSERT(TPFW_QUERY_RUNTIME_RULES == 1 << Q_RUNTIME_RULES);

static const char *const query_method[Q_N] = {"state", "getSettings", "getAllChains",
                                              "getAllRules"};

struct TpfwFirewalldQuery {
        TpfwFirewalld *fw;
        DBusPendingCall *pending[Q_N]; /* sent, reply not yet taken */
        DBusMessage *reply[Q_N];
};
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalldQuery, tpfw_firewalld_query_free)

static DBusMessage *query_message(int q)
{
        const char *iface = FW_IFACE, *prop = "state";
        DBusMessage *msg;

        switch (q) {
        case Q_STATE:
                msg = tpfw_fw_new_call(FW_PATH, PROPERTIES_IFACE, "Get");
                if (msg && !dbus_message_append_args(msg, DBUS_TYPE_STRING, &iface,
                                                     DBUS_TYPE_STRING, &prop, DBUS_TYPE_INVALID)) {
                        dbus_message_unref(msg);
                        msg = NULL;
                }
                return msg;
        case Q_PERMANENT:
                return tpfw_fw_new_call(FW_CONFIG_PATH, FW_CONFIG_DIRECT_IFACE, "getSettings");
        case Q_RUNTIME_CHAINS:
                return tpfw_fw_new_call(FW_PATH, FW_DIRECT_IFACE, "getAllChains");
        default:
                return tpfw_fw_new_call(FW_PATH, FW_DIRECT_IFACE, "getAllRules");
        }
}

int tpfw_firewalld_query_send(TpfwFirewalld *fw, unsigned what, TpfwFirewalldQuery **ret,
                              TpfwDiag *diag)
{
        g_autoptr(TpfwFirewalldQuery) q = g_new0(TpfwFirewalldQuery, 1);

        q->fw = fw;
        for (int i = 0; i < Q_N; i++) {
                g_autoptr(DBusMessage) msg = NULL;

                if (!(what & (1u << i)))
                        continue;
                msg = query_message(i);
                if (!msg ||
                    !dbus_connection_send_with_reply(fw->conn, msg, &q->pending[i], fw->timeout_ms))
                        return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
                if (!q->pending[i])
                        return tpfw_diag_set(diag, ECONNRESET, NULL, 0,
                                             "lost the connection to the system bus");
        }
        /* all of them on the wire before waiting for the first answer */
        dbus_connection_flush(fw->conn);
        *ret = g_steal_pointer(&q);
        return 0;
}

TpfwFirewalldQuery *tpfw_firewalld_query_free(TpfwFirewalldQuery *q)
{
        if (!q)
                return NULL;
        for (int i = 0; i < Q_N; i++) {
                if (q->pending[i]) {
                        dbus_pending_call_cancel(q->pending[i]);
                        dbus_pending_call_unref(q->pending[i]);
                }
                if (q->reply[i])
                        dbus_message_unref(q->reply[i]);
        }
        g_free(q);
        return NULL;
}

/* Waits for the answer to query i; an error answer becomes the call's error. */
static int query_reply(TpfwFirewalldQuery *q, int i, DBusMessage **ret, TpfwDiag *diag)
{
        if (!q->reply[i]) {
                if (!q->pending[i])
                        return tpfw_diag_set(diag, EINVAL, NULL, 0, "%s was not queried",
                                             query_method[i]);
                dbus_pending_call_block(q->pending[i]);
                q->reply[i] = dbus_pending_call_steal_reply(q->pending[i]);
                dbus_pending_call_unref(q->pending[i]);
                q->pending[i] = NULL;
                if (!q->reply[i])
                        return tpfw_diag_set(diag, ECONNRESET, NULL, 0,
                                             "lost the connection to the system bus");
        }
        if (dbus_message_get_type(q->reply[i]) == DBUS_MESSAGE_TYPE_ERROR) {
                g_auto(DBusError) e = DBUS_ERROR_INIT;

                dbus_set_error_from_message(&e, q->reply[i]);
                return tpfw_fw_map_error(q->fw, &e, diag);
        }
        *ret = q->reply[i];
        return 0;
}

int tpfw_firewalld_query_state(TpfwFirewalldQuery *q, char **ret_state, TpfwDiag *diag)
{
        DBusMessage *reply = NULL;
        int r;

        r = query_reply(q, Q_STATE, &reply, diag);
        if (r < 0)
                return r;
        return tpfw_fw_variant_string(reply, "state", ret_state, diag);
}

/*
 * One view compared with the expected entries as its reply is read, without a ruleset of what
 * firewalld holds: foreign rules (most of a large file) cost a tag check and nothing more.
 */
typedef struct VerifyScan {
        const char *owner;
        GHashTable *chains; /* chain key -> expected chain index + 1 */
        GHashTable *rules;  /* rule key -> expected rule index + 1 */
        bool *chain_seen;
        bool *rule_seen;
        bool untagged;    /* an expected rule without the owner's tag: every rule needs a key */
        char *unexpected; /* the first owner's rule not expected, described */
} VerifyScan;

static void verify_scan_init(VerifyScan *v, const char *owner, const TpfwRuleset *expected)
{
        size_t nc = tpfw_ruleset_n_chains(expected), nr = tpfw_ruleset_n_rules(expected);

        memset(v, 0, sizeof(*v));
        v->owner = owner;
        v->chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        v->rules = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        v->chain_seen = g_new0(bool, nc + 1);
        v->rule_seen = g_new0(bool, nr + 1);
        for (size_t i = 0; i < nc; i++) {
                const TpfwChain *c = tpfw_ruleset_chain(expected, i);

                g_hash_table_insert(v->chains, chain_key(c->ipv, c->table, c->chain),
                                    GSIZE_TO_POINTER(i + 1));
        }
        for (size_t i = 0; i < nr; i++) {
                const TpfwRule *rule = tpfw_ruleset_rule(expected, i);
                const char *const *argv = (const char *const *)rule->argv;

                if (!tpfw_argv_has_owner(argv, owner))
                        v->untagged = true;
                g_hash_table_insert(
                        v->rules,
                        rule_key(rule->ipv, rule->table, rule->chain, rule->priority, argv),
                        GSIZE_TO_POINTER(i + 1));
        }
}

static void verify_scan_clear(VerifyScan *v)
{
        g_hash_table_unref(v->chains);
        g_hash_table_unref(v->rules);
        g_free(v->chain_seen);
        g_free(v->rule_seen);
        g_free(v->unexpected);
}

static int tick_chain(TpfwIpv ipv, const char *table, const char *chain, void *userdata)
{
        VerifyScan *v = userdata;

        if (g_hash_table_size(v->chains) > 0) {
                g_autofree char *key = chain_key(ipv, table, chain);
                gsize i = GPOINTER_TO_SIZE(g_hash_table_lookup(v->chains, key));

                if (i)
                        v->chain_seen[i - 1] = true;
        }
        return 0;
}

static int tick_rule(TpfwIpv ipv, const char *table, const char *chain, int priority,
                     const char *const *argv, void *userdata)
{
        VerifyScan *v = userdata;
        bool tagged = tpfw_argv_has_owner(argv, v->owner);

        if (tagged || v->untagged) {
                g_autofree char *key = rule_key(ipv, table, chain, priority, argv);
                gsize i = GPOINTER_TO_SIZE(g_hash_table_lookup(v->rules, key));

                if (i)
                        v->rule_seen[i - 1] = true;
                else if (tagged && !v->unexpected)
                        v->unexpected = rule_describe(ipv, table, chain, priority, argv);
        }
        return 0;
}

/* The first missing chain, else the first missing rule, else the first unexpected rule. */
static int verify_scan_report(const VerifyScan *v, TpfwFirewalldView view,
                              const TpfwRuleset *expected, TpfwDiag *diag)
{
        for (size_t i = 0; i < tpfw_ruleset_n_chains(expected); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(expected, i);

                if (!v->chain_seen[i])
                        return tpfw_diag_set(diag, EPROTO, NULL, 0, "%s is missing chain %s %s %s",
                                             view_name(view), tpfw_ipv_name(c->ipv), c->table,
                                             c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(expected); i++) {
                const TpfwRule *rule = tpfw_ruleset_rule(expected, i);

                if (!v->rule_seen[i]) {
                        g_autofree char *what =
                                rule_describe(rule->ipv, rule->table, rule->chain, rule->priority,
                                              (const char *const *)rule->argv);

                        return tpfw_diag_set(diag, EPROTO, NULL, 0, "%s is missing rule %s",
                                             view_name(view), what);
                }
        }
        if (v->unexpected)
                return tpfw_diag_set(diag, EPROTO, NULL, 0, "%s has unexpected rule %s",
                                     view_name(view), v->unexpected);
        return 0;
}

static int scan_view(TpfwFirewalldQuery *q, TpfwFirewalldView view, VerifyScan *v, TpfwDiag *diag)
{
        DBusMessage *reply = NULL;
        DBusMessageIter it;
        int r;

        if (view == TPFW_VIEW_PERMANENT) {
                r = query_reply(q, Q_PERMANENT, &reply, diag);
                if (r < 0)
                        return r;
                return walk_settings(reply, tick_chain, tick_rule, v, diag);
        }
        /* without expected chains there is nothing to look for in getAllChains */
        if (g_hash_table_size(v->chains) > 0 || q->pending[Q_RUNTIME_CHAINS] ||
            q->reply[Q_RUNTIME_CHAINS]) {
                r = query_reply(q, Q_RUNTIME_CHAINS, &reply, diag);
                if (r < 0)
                        return r;
                if (!dbus_message_iter_init(reply, &it))
                        return tpfw_fw_bad_reply(diag, "getAllChains");
                r = walk_chains(&it, "getAllChains", tick_chain, v, diag);
                if (r < 0)
                        return r;
        }
        r = query_reply(q, Q_RUNTIME_RULES, &reply, diag);
        if (r < 0)
                return r;
        if (!dbus_message_iter_init(reply, &it))
                return tpfw_fw_bad_reply(diag, "getAllRules");
        return walk_rules(&it, "getAllRules", tick_rule, v, diag);
}

int tpfw_firewalld_query_verify_owner(TpfwFirewalldQuery *q, TpfwFirewalldView view,
                                      const char *owner, const TpfwRuleset *expected,
                                      TpfwDiag *diag)
{
        VerifyScan v;
        int r;

        verify_scan_init(&v, owner, expected);
        r = scan_view(q, view, &v, diag);
        if (r == 0)
                r = verify_scan_report(&v, view, expected, diag);
        verify_scan_clear(&v);
        return r;
}

unsigned tpfw_firewalld_query_for(TpfwFirewalldView view, const TpfwRuleset *expected)
{
        if (view == TPFW_VIEW_PERMANENT)
                return TPFW_QUERY_PERMANENT;
        return TPFW_QUERY_RUNTIME_RULES |
               (tpfw_ruleset_n_chains(expected) > 0 ? TPFW_QUERY_RUNTIME_CHAINS : 0u);
}

int tpfw_firewalld_verify_owner(TpfwFirewalld *fw, TpfwFirewalldView view, const char *owner,
                                const TpfwRuleset *expected, TpfwDiag *diag)
{
        g_autoptr(TpfwFirewalldQuery) q = NULL;
        int r;

        r = tpfw_firewalld_query_send(fw, tpfw_firewalld_query_for(view, expected), &q, diag);
        if (r < 0)
                return r;
        return tpfw_firewalld_query_verify_owner(q, view, owner, expected, diag);
}
