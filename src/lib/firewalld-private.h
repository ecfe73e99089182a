/* SPDX-License-Identifier: MIT */
/* What the firewalld*.c files share: the connection, object names, one call and its errors. */
#pragma once

#include <tproxy-firewalld/firewalld.h>

#include <dbus/dbus.h>
#include <glib.h>

#pragma GCC visibility push(hidden)

#define FW_BUS_NAME "org.fedoraproject.FirewallD1"
#define FW_PATH "/org/fedoraproject/FirewallD1"
#define FW_CONFIG_PATH "/org/fedoraproject/FirewallD1/config"
#define FW_IFACE "org.fedoraproject.FirewallD1"
#define FW_DIRECT_IFACE "org.fedoraproject.FirewallD1.direct"
#define FW_CONFIG_IFACE "org.fedoraproject.FirewallD1.config"
#define FW_CONFIG_DIRECT_IFACE "org.fedoraproject.FirewallD1.config.direct"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

struct TpfwFirewalld {
        DBusConnection *conn;
        int timeout_ms;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DBusMessage, dbus_message_unref)

static inline void tpfw_fw_dbus_error_free(DBusError *e)
{
        if (e->name)
                dbus_error_free(e);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(DBusError, tpfw_fw_dbus_error_free)

/*
 * Sends msg and waits for the reply. An org.fedoraproject.FirewallD1.Exception whose code is
 * ignore_code (may be NULL) counts as success with no reply (*ret_reply = NULL).
 */
int tpfw_fw_call(TpfwFirewalld *fw, DBusMessage *msg, const char *ignore_code,
                 DBusMessage **ret_reply, TpfwDiag *diag);
DBusMessage *tpfw_fw_new_call(const char *path, const char *iface, const char *method);
/* A D-Bus error from firewalld as -errno and one diag line (ESRCH, EACCES, ETIMEDOUT, EIO...). */
int tpfw_fw_map_error(const TpfwFirewalld *fw, const DBusError *e, TpfwDiag *diag);
/* The string in a Properties.Get reply's variant, copied into *ret (free()). */
int tpfw_fw_variant_string(DBusMessage *reply, const char *prop, char **ret, TpfwDiag *diag);
/* -EBADMSG "unexpected reply from firewalld to <method>". */
int tpfw_fw_bad_reply(TpfwDiag *diag, const char *method);

#pragma GCC visibility pop
