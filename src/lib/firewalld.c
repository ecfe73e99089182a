/* SPDX-License-Identifier: MIT */
/* firewalld over D-Bus (libdbus-1): the connection, one call and its errors, reload, state,
 * properties. */
#include <dbus/dbus.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/firewalld.h>

#include "firewalld-private.h"
#include "util.h"

#define FW_EXCEPTION "org.fedoraproject.FirewallD1.Exception"
#define FW_NOT_AUTHORIZED "org.fedoraproject.FirewallD1.NotAuthorizedException"
#define FW_SLIP_NOT_AUTHORIZED "org.fedoraproject.slip.dbus.service.PolKit.NotAuthorizedException"

#define FW_DEFAULT_TIMEOUT_MS 30000

/* D-Bus error texts may span lines (iptables-restore output); a diag is one line. */
static char *one_line(const char *text)
{
        GString *s = g_string_new(NULL);
        const char *p = text ? text : "";

        while (*p) {
                if (*p == '\n' || *p == '\r') {
                        /* Fold the break and the whitespace around it into one space. */
                        while (s->len > 0 &&
                               (s->str[s->len - 1] == ' ' || s->str[s->len - 1] == '\t'))
                                g_string_truncate(s, s->len - 1);
                        while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
                                p++;
                        if (s->len > 0 && *p)
                                g_string_append_c(s, ' ');
                        continue;
                }
                g_string_append_c(s, *p++);
        }
        while (s->len > 0 && (s->str[s->len - 1] == ' ' || s->str[s->len - 1] == '\t'))
                g_string_truncate(s, s->len - 1);
        return g_string_free(s, FALSE);
}

/* True when firewalld's exception message carries code ("CODE" or "CODE: ..."). */
static bool exception_has_code(const DBusError *e, const char *code)
{
        size_t n = strlen(code);

        return dbus_error_has_name(e, FW_EXCEPTION) && e->message &&
               strncmp(e->message, code, n) == 0 && (e->message[n] == ':' || e->message[n] == '\0');
}

int tpfw_fw_map_error(const TpfwFirewalld *fw, const DBusError *e, TpfwDiag *diag)
{
        g_autofree char *msg = one_line(e->message);

        if (dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN) ||
            dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER))
                return tpfw_diag_set(diag, ESRCH, NULL, 0, "firewalld is not running");
        /* firewalld before 1.0 refuses through python-slip, whose error name carries the
         * interface: org.fedoraproject.slip.dbus.service.PolKit.NotAuthorizedException.IFACE */
        if (dbus_error_has_name(e, FW_NOT_AUTHORIZED) ||
            g_str_has_prefix(e->name, FW_SLIP_NOT_AUTHORIZED) ||
            dbus_error_has_name(e, DBUS_ERROR_ACCESS_DENIED) ||
            dbus_error_has_name(e, DBUS_ERROR_AUTH_FAILED) ||
            dbus_error_has_name(e, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"))
                return tpfw_diag_set(diag, EACCES, NULL, 0,
                                     "not authorised to talk to firewalld (run as root)");
        if (dbus_error_has_name(e, DBUS_ERROR_NO_REPLY) ||
            dbus_error_has_name(e, DBUS_ERROR_TIMEOUT) ||
            dbus_error_has_name(e, DBUS_ERROR_TIMED_OUT))
                return tpfw_diag_set(diag, ETIMEDOUT, NULL, 0,
                                     "firewalld did not answer within %d ms", fw->timeout_ms);
        if (dbus_error_has_name(e, FW_EXCEPTION))
                return tpfw_diag_set(diag, EIO, NULL, 0, "%s", msg);
        if (dbus_error_has_name(e, DBUS_ERROR_NO_MEMORY))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        if (dbus_error_has_name(e, DBUS_ERROR_DISCONNECTED) ||
            dbus_error_has_name(e, DBUS_ERROR_NO_SERVER))
                return tpfw_diag_set(diag, ECONNRESET, NULL, 0,
                                     "lost the connection to the system bus: %s", msg);
        return tpfw_diag_set(diag, EIO, NULL, 0, "firewalld: %s: %s", e->name, msg);
}

int tpfw_fw_call(TpfwFirewalld *fw, DBusMessage *msg, const char *ignore_code,
                 DBusMessage **ret_reply, TpfwDiag *diag)
{
        g_auto(DBusError) e = DBUS_ERROR_INIT;
        DBusMessage *reply;

        reply = dbus_connection_send_with_reply_and_block(fw->conn, msg, fw->timeout_ms, &e);
        if (!reply) {
                if (ignore_code && exception_has_code(&e, ignore_code)) {
                        if (ret_reply)
                                *ret_reply = NULL;
                        return 0;
                }
                return tpfw_fw_map_error(fw, &e, diag);
        }
        if (ret_reply)
                *ret_reply = reply;
        else
                dbus_message_unref(reply);
        return 0;
}

DBusMessage *tpfw_fw_new_call(const char *path, const char *iface, const char *method)
{
        return dbus_message_new_method_call(FW_BUS_NAME, path, iface, method);
}

int tpfw_fw_bad_reply(TpfwDiag *diag, const char *method)
{
        return tpfw_diag_set(diag, EBADMSG, NULL, 0, "unexpected reply from firewalld to %s",
                             method);
}

int tpfw_firewalld_connect(int timeout_ms, TpfwFirewalld **ret, TpfwDiag *diag)
{
        g_auto(DBusError) e = DBUS_ERROR_INIT;
        TpfwFirewalld *fw;
        DBusConnection *conn;

        conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e);
        if (!conn) {
                g_autofree char *msg = one_line(e.message);
                int err = ECONNREFUSED;

                if (dbus_error_has_name(&e, DBUS_ERROR_NO_MEMORY))
                        err = ENOMEM;
                else if (dbus_error_has_name(&e, DBUS_ERROR_FILE_NOT_FOUND))
                        err = ENOENT;
                else if (dbus_error_has_name(&e, DBUS_ERROR_ACCESS_DENIED))
                        err = EACCES;
                return tpfw_diag_set(diag, err, NULL, 0, "cannot connect to the system bus: %s",
                                     msg);
        }
        /* A library must not exit its caller when the bus goes away. */
        dbus_connection_set_exit_on_disconnect(conn, FALSE);

        fw = calloc(1, sizeof(*fw));
        if (!fw) {
                dbus_connection_close(conn);
                dbus_connection_unref(conn);
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        }
        fw->conn = conn;
        fw->timeout_ms = timeout_ms > 0 ? timeout_ms : FW_DEFAULT_TIMEOUT_MS;
        *ret = fw;
        return 0;
}

TpfwFirewalld *tpfw_firewalld_free(TpfwFirewalld *fw)
{
        if (!fw)
                return NULL;
        if (fw->conn) {
                dbus_connection_close(fw->conn);
                dbus_connection_unref(fw->conn);
        }
        free(fw);
        return NULL;
}

bool tpfw_firewalld_is_running(TpfwFirewalld *fw)
{
        g_autoptr(DBusMessage) msg = NULL;
        g_autoptr(DBusMessage) reply = NULL;
        g_auto(DBusError) e = DBUS_ERROR_INIT;
        const char *name = FW_BUS_NAME;
        dbus_bool_t has_owner = FALSE;

        if (!fw)
                return false;
        msg = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                           "NameHasOwner");
        if (!msg || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
                return false;
        reply = dbus_connection_send_with_reply_and_block(fw->conn, msg, fw->timeout_ms, &e);
        if (!reply)
                return false;
        if (!dbus_message_get_args(reply, &e, DBUS_TYPE_BOOLEAN, &has_owner, DBUS_TYPE_INVALID))
                return false;
        return has_owner;
}

int tpfw_firewalld_reload(TpfwFirewalld *fw, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg = tpfw_fw_new_call(FW_PATH, FW_IFACE, "reload");
        int r;

        if (!msg)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        r = tpfw_fw_call(fw, msg, NULL, NULL, diag);
        if (r < 0)
                return r;
        /* firewalld has reloaded; the caller has not yet looked at the result */
        r = tpfw_fault("reload-done");
        if (r < 0)
                return tpfw_diag_set(diag, -r, NULL, 0, "reload failed (fault injected)");
        return 0;
}

/* The string in a Properties.Get reply (a variant). */
int tpfw_fw_variant_string(DBusMessage *reply, const char *prop, char **ret, TpfwDiag *diag)
{
        DBusMessageIter it, var;
        const char *value = NULL;
        char *copy;

        if (!dbus_message_iter_init(reply, &it) ||
            dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT)
                return tpfw_fw_bad_reply(diag, prop);
        dbus_message_iter_recurse(&it, &var);
        if (dbus_message_iter_get_arg_type(&var) != DBUS_TYPE_STRING)
                return tpfw_fw_bad_reply(diag, prop);
        dbus_message_iter_get_basic(&var, &value);
        /* The string lives in the reply, which the caller releases. */
        copy = strdup(value);
        if (!copy)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        *ret = copy;
        return 0;
}

/* Reads a string property through org.freedesktop.DBus.Properties.Get. */
static int get_string_property(TpfwFirewalld *fw, const char *path, const char *iface,
                               const char *prop, char **ret, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg = tpfw_fw_new_call(path, PROPERTIES_IFACE, "Get");
        g_autoptr(DBusMessage) reply = NULL;
        int r;

        if (!msg || !dbus_message_append_args(msg, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING,
                                              &prop, DBUS_TYPE_INVALID))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        r = tpfw_fw_call(fw, msg, NULL, &reply, diag);
        if (r < 0)
                return r;
        return tpfw_fw_variant_string(reply, prop, ret, diag);
}

int tpfw_firewalld_get_state(TpfwFirewalld *fw, char **ret_state, TpfwDiag *diag)
{
        return get_string_property(fw, FW_PATH, FW_IFACE, "state", ret_state, diag);
}

int tpfw_firewalld_get_rfc3964_ipv4(TpfwFirewalld *fw, bool *ret_enabled, TpfwDiag *diag)
{
        g_autofree char *value = NULL;
        int r;

        r = get_string_property(fw, FW_CONFIG_PATH, FW_CONFIG_IFACE, "RFC3964_IPv4", &value, diag);
        /* firewalld before 0.7 has no such setting (nor filter); it says so only in the text */
        if (r == -EIO && diag && diag->message && strstr(diag->message, "does not exist")) {
                tpfw_diag_clear(diag);
                return tpfw_diag_set(diag, ENOENT, NULL, 0,
                                     "firewalld has no RFC3964_IPv4 setting");
        }
        if (r < 0)
                return r;
        /* firewalld accepts these four spellings in firewalld.conf, case-insensitively. */
        if (g_ascii_strcasecmp(value, "yes") == 0 || g_ascii_strcasecmp(value, "true") == 0)
                *ret_enabled = true;
        else if (g_ascii_strcasecmp(value, "no") == 0 || g_ascii_strcasecmp(value, "false") == 0)
                *ret_enabled = false;
        else
                return tpfw_diag_set(diag, EBADMSG, NULL, 0,
                                     "firewalld reports RFC3964_IPv4=%s, expected yes or no",
                                     value);
        return 0;
}

int tpfw_firewalld_set_rfc3964_ipv4(TpfwFirewalld *fw, bool enabled, TpfwDiag *diag)
{
        g_autoptr(DBusMessage) msg = tpfw_fw_new_call(FW_CONFIG_PATH, PROPERTIES_IFACE, "Set");
        const char *iface = FW_CONFIG_IFACE, *prop = "RFC3964_IPv4";
        const char *value = enabled ? "yes" : "no";
        DBusMessageIter it, var;

        if (!msg)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        dbus_message_iter_init_append(msg, &it);
        if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface) ||
            !dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &prop) ||
            !dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, "s", &var))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        if (!dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &value)) {
                dbus_message_iter_abandon_container(&it, &var);
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        }
        if (!dbus_message_iter_close_container(&it, &var))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return tpfw_fw_call(fw, msg, NULL, NULL, diag);
}
