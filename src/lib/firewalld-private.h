/* SPDX-License-Identifier: MIT */
/* What firewalld.c and firewalld-direct.c share: the connection, object names, one call. */
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

struct TpfwFirewalld {
        DBusConnection *conn;
        int timeout_ms;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DBusMessage, dbus_message_unref)

/*
 * Sends msg and waits for the reply. An org.fedoraproject.FirewallD1.Exception whose code is
 * ignore_code (may be NULL) counts as success with no reply (*ret_reply = NULL).
 */
int tpfw_fw_call(TpfwFirewalld *fw, DBusMessage *msg, const char *ignore_code,
                 DBusMessage **ret_reply, TpfwDiag *diag);
DBusMessage *tpfw_fw_new_call(const char *path, const char *iface, const char *method);
/* -EBADMSG "unexpected reply from firewalld to <method>". */
int tpfw_fw_bad_reply(TpfwDiag *diag, const char *method);

#pragma GCC visibility pop
