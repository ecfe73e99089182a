/* SPDX-License-Identifier: MIT */
/* firewalld's direct entries one at a time (runtime and permanent) and its permanent copy whole. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>

#include "firewalld-private.h"
#include "util.h"

static const char *view_path(TpfwFirewalldView view)
{
        return view == TPFW_VIEW_PERMANENT ? FW_CONFIG_PATH : FW_PATH;
}

static const char *view_iface(TpfwFirewalldView view)
{
        return view == TPFW_VIEW_PERMANENT ? FW_CONFIG_DIRECT_IFACE : FW_DIRECT_IFACE;
}

int tpfw_firewalld_direct_chain(TpfwFirewalld *fw, TpfwFirewalldView view, bool add,
                                const TpfwChain *c, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg = tpfw_fw_new_call(view_path(view), view_iface(view),
                                                      add ? "addChain" : "removeChain");
        const char *ipv = tpfw_ipv_name(c->ipv);

        if (!msg ||
            !dbus_message_append_args(msg, DBUS_TYPE_STRING, &ipv, DBUS_TYPE_STRING, &c->table,
                                      DBUS_TYPE_STRING, &c->chain, DBUS_TYPE_INVALID))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, add ? "ALREADY_ENABLED" : "NOT_ENABLED", NULL, diag);
}

int tpfw_firewalld_direct_rule(TpfwFirewalld *fw, TpfwFirewalldView view, bool add,
                               const TpfwRule *rule, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg =
                tpfw_fw_new_call(view_path(view), view_iface(view), add ? "addRule" : "removeRule");
        const char *ipv = tpfw_ipv_name(rule->ipv);
        dbus_int32_t priority = rule->priority;
        char **argv = rule->argv;
        int n = argv ? (int)tpfw_strv_length((const char *const *)argv) : 0;

        if (!msg || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &ipv, DBUS_TYPE_STRING,
                                              &rule->table, DBUS_TYPE_STRING, &rule->chain,
                                              DBUS_TYPE_INT32, &priority, DBUS_TYPE_ARRAY,
                                              DBUS_TYPE_STRING, &argv, n, DBUS_TYPE_INVALID))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, add ? "ALREADY_ENABLED" : "NOT_ENABLED", NULL, diag);
}

/* ---- the permanent copy as a whole: entries compared as firewalld compares them ---- */

static void key_str(GString *s, const char *v)
{
        g_string_append_printf(s, "|%zu:%s", strlen(v ? v : ""), v ? v : "");
}

static void key_argv(GString *s, const char *const *argv)
{
        for (const char *const *a = argv; a && *a; a++)
                key_str(s, *a);
}

/* An injective text key for an entry of any kind and family. */
static char *entry_key(TpfwEntryKind kind, const char *ipv, const char *table, const char *chain,
                       int priority, const char *const *argv)
{
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "%d", (int)kind);
        key_str(s, ipv);
        if (kind != TPFW_ENTRY_PASSTHROUGH) {
                key_str(s, table);
                key_str(s, chain);
        }
        if (kind == TPFW_ENTRY_RULE)
                g_string_append_printf(s, "|%d", priority);
        if (kind != TPFW_ENTRY_CHAIN) {
                g_string_append_c(s, '#');
                key_argv(s, argv);
        }
        return g_string_free(s, FALSE);
}

/* The set of doc's entries (firewalld drops duplicates on load, so a set). Empty-argv rules and
 * passthroughs are left out: firewalld keeps them in memory but never writes them. */
static GHashTable *doc_keys(const TpfwDirect *doc)
{
        GHashTable *keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (size_t i = 0; doc && i < tpfw_direct_n_entries(doc); i++) {
                const TpfwEntry *e = tpfw_direct_entry(doc, i);

                g_hash_table_add(keys, entry_key(e->kind, e->ipv, e->table, e->chain, e->priority,
                                                 (const char *const *)e->argv));
        }
        return keys;
}

typedef struct SettingsScan {
        GHashTable *expected; /* keys not yet seen are removed as they are seen */
        bool extra;           /* firewalld holds an entry expected lacks */
} SettingsScan;

static void scan_key(SettingsScan *sc, char *key)
{
        if (!g_hash_table_remove(sc->expected, key))
                sc->extra = true;
        g_free(key);
}

/* Walks getSettings' (a(sss)a(sssias)a(sas)), all families, into sc. */
static int scan_settings(DBusMessage *reply, SettingsScan *sc, TpfwDiag *diag)
{
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        DBusMessageIter it, st, arr;

        if (!dbus_message_iter_init(reply, &it) ||
            dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRUCT)
                return tpfw_fw_bad_reply(diag, "getSettings");
        dbus_message_iter_recurse(&it, &st);
        for (int member = 0; member < 3; member++, dbus_message_iter_next(&st)) {
                if (dbus_message_iter_get_arg_type(&st) != DBUS_TYPE_ARRAY)
                        return tpfw_fw_bad_reply(diag, "getSettings");
                dbus_message_iter_recurse(&st, &arr);
                while (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRUCT) {
                        const char *s[3] = {NULL, NULL, NULL};
                        dbus_int32_t priority = 0;
                        DBusMessageIter e, av;
                        int ns = member == 2 ? 1 : 3;

                        dbus_message_iter_recurse(&arr, &e);
                        for (int k = 0; k < ns; k++) {
                                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_STRING)
                                        return tpfw_fw_bad_reply(diag, "getSettings");
                                dbus_message_iter_get_basic(&e, &s[k]);
                                dbus_message_iter_next(&e);
                        }
                        if (member == 1) {
                                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_INT32)
                                        return tpfw_fw_bad_reply(diag, "getSettings");
                                dbus_message_iter_get_basic(&e, &priority);
                                dbus_message_iter_next(&e);
                        }
                        g_ptr_array_set_size(args, 0);
                        if (member > 0) {
                                if (dbus_message_iter_get_arg_type(&e) != DBUS_TYPE_ARRAY)
                                        return tpfw_fw_bad_reply(diag, "getSettings");
                                dbus_message_iter_recurse(&e, &av);
                                while (dbus_message_iter_get_arg_type(&av) == DBUS_TYPE_STRING) {
                                        const char *a = NULL;

                                        dbus_message_iter_get_basic(&av, &a);
                                        g_ptr_array_add(args, (gpointer)a);
                                        dbus_message_iter_next(&av);
                                }
                        }
                        g_ptr_array_add(args, NULL);
                        /* firewalld never writes entries without arguments */
                        if (member == 0 || args->len > 1)
                                scan_key(sc, entry_key(member == 0   ? TPFW_ENTRY_CHAIN
                                                       : member == 1 ? TPFW_ENTRY_RULE
                                                                     : TPFW_ENTRY_PASSTHROUGH,
                                                       s[0], s[1], s[2], priority,
                                                       (const char *const *)args->pdata));
                        dbus_message_iter_next(&arr);
                }
        }
        return 0;
}

static int get_settings(TpfwFirewalld *fw, DBusMessage **ret, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg =
                tpfw_fw_new_call(FW_CONFIG_PATH, FW_CONFIG_DIRECT_IFACE, "getSettings");

        if (!msg)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, NULL, ret, diag);
}

int tpfw_firewalld_permanent_matches(TpfwFirewalld *fw, const TpfwDirect *doc, bool *ret_equal,
                                     TpfwDiag *diag)
{
        g_autoptr(DBusMessage) reply = NULL;
        SettingsScan sc = {.expected = doc_keys(doc)};
        int r;

        r = get_settings(fw, &reply, diag);
        if (r == 0)
                r = scan_settings(reply, &sc, diag);
        if (r == 0)
                *ret_equal = !sc.extra && g_hash_table_size(sc.expected) == 0;
        g_hash_table_unref(sc.expected);
        return r;
}

static bool append_strv(DBusMessageIter *it, char **argv)
{
        DBusMessageIter av;

        if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "s", &av))
                return false;
        for (char **a = argv; a && *a; a++)
                if (!dbus_message_iter_append_basic(&av, DBUS_TYPE_STRING, a)) {
                        dbus_message_iter_abandon_container(it, &av);
                        return false;
                }
        return dbus_message_iter_close_container(it, &av);
}

/* One struct of member kind (0 chain, 1 rule, 2 passthrough) for entry e. */
static bool append_entry(DBusMessageIter *arr, int kind, const TpfwEntry *e)
{
        DBusMessageIter st;
        dbus_int32_t priority = e->priority;
        bool ok;

        if (!dbus_message_iter_open_container(arr, DBUS_TYPE_STRUCT, NULL, &st))
                return false;
        ok = dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &e->ipv);
        if (ok && kind != 2)
                ok = dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &e->table) &&
                     dbus_message_iter_append_basic(&st, DBUS_TYPE_STRING, &e->chain);
        if (ok && kind == 1)
                ok = dbus_message_iter_append_basic(&st, DBUS_TYPE_INT32, &priority);
        if (ok && kind != 0)
                ok = append_strv(&st, e->argv);
        if (!ok) {
                dbus_message_iter_abandon_container(arr, &st);
                return false;
        }
        return dbus_message_iter_close_container(arr, &st);
}

int tpfw_firewalld_permanent_update(TpfwFirewalld *fw, const TpfwDirect *doc, TpfwDiag *diag)
{
        static const char *const sig[3] = {"(sss)", "(sssias)", "(sas)"};
        static const TpfwEntryKind kinds[3] = {TPFW_ENTRY_CHAIN, TPFW_ENTRY_RULE,
                                               TPFW_ENTRY_PASSTHROUGH};
        g_autoptr(DBusMessage) msg =
                tpfw_fw_new_call(FW_CONFIG_PATH, FW_CONFIG_DIRECT_IFACE, "update");
        DBusMessageIter it, st;

        if (!msg)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        dbus_message_iter_init_append(msg, &it);
        if (!dbus_message_iter_open_container(&it, DBUS_TYPE_STRUCT, NULL, &st))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        for (int k = 0; k < 3; k++) {
                DBusMessageIter arr;

                if (!dbus_message_iter_open_container(&st, DBUS_TYPE_ARRAY, sig[k], &arr))
                        return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
                /* the file's order: a reload of the file would load them so */
                for (size_t i = 0; doc && i < tpfw_direct_n_entries(doc); i++) {
                        const TpfwEntry *e = tpfw_direct_entry(doc, i);

                        if (e->kind != kinds[k])
                                continue;
                        if (k != 0 && (!e->argv || !e->argv[0]))
                                continue;
                        if (!append_entry(&arr, k, e))
                                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
                }
                if (!dbus_message_iter_close_container(&st, &arr))
                        return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        }
        if (!dbus_message_iter_close_container(&it, &st))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, NULL, NULL, diag);
}

int tpfw_firewalld_permanent_rewrite(TpfwFirewalld *fw, TpfwDiag *diag)
{
        /* Two calls that each change firewalld's copy atomically and write it out: what anyone
         * else added meanwhile stays, unlike a getSettings/update pair. */
        const TpfwChain tmp = {.ipv = TPFW_IPV4, .table = "filter", .chain = "TPFW_RESYNC"};
        int r;

        r = tpfw_firewalld_direct_chain(fw, TPFW_VIEW_PERMANENT, true, &tmp, diag);
        if (r == 0)
                r = tpfw_firewalld_direct_chain(fw, TPFW_VIEW_PERMANENT, false, &tmp, diag);
        return r;
}

int tpfw_firewalld_runtime_add(TpfwFirewalld *fw, const TpfwRuleset *rs, TpfwDiag *diag)
{
        g_autofree const TpfwRule **order = NULL;
        size_t n = tpfw_ruleset_n_rules(rs);
        int r;

        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                r = tpfw_firewalld_direct_chain(fw, TPFW_VIEW_RUNTIME, true,
                                                tpfw_ruleset_chain(rs, i), diag);
                if (r < 0)
                        return r;
        }
        /* The file's order, so equal priorities end up as a reload of the file would place them. */
        order = n ? tpfw_ruleset_direct_order(rs) : NULL;
        if (n && !order)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        for (size_t i = 0; i < n; i++) {
                r = tpfw_firewalld_direct_rule(fw, TPFW_VIEW_RUNTIME, true, order[i], diag);
                if (r < 0)
                        return r;
        }
        return 0;
}

int tpfw_firewalld_runtime_remove(TpfwFirewalld *fw, const TpfwRuleset *rs, TpfwDiag *diag)
{
        int r;

        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                r = tpfw_firewalld_direct_rule(fw, TPFW_VIEW_RUNTIME, false,
                                               tpfw_ruleset_rule(rs, i), diag);
                if (r < 0)
                        return r;
        }
        for (size_t i = tpfw_ruleset_n_chains(rs); i > 0; i--) {
                r = tpfw_firewalld_direct_chain(fw, TPFW_VIEW_RUNTIME, false,
                                                tpfw_ruleset_chain(rs, i - 1), diag);
                if (r < 0)
                        return r;
        }
        return 0;
}
