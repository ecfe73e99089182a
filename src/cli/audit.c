/* SPDX-License-Identifier: MIT */
/* The audit trail: one syslog record per change to the firewall (the library never logs). */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"

/*
 * LOG_AUTHPRIV: a change to the firewall is a privileged act, like sudo's records; the facility
 * keeps it out of world-readable logs, and journald records it like any other.
 */
void cli_audit(const CliAuditRecord *rec)
{
        g_autofree char *file = g_strescape(rec->file ? rec->file : "", NULL);
        g_autofree char *error = rec->error ? g_strescape(rec->error, NULL) : NULL;
        g_autofree char *sudo = NULL;
        const char *sudo_uid = getenv("SUDO_UID");

        /* digits only: the variable comes from the caller, the record must not be forgeable */
        if (sudo_uid && *sudo_uid && strspn(sudo_uid, "0123456789") == strlen(sudo_uid) &&
            strlen(sudo_uid) <= 10)
                sudo = g_strdup_printf(" sudo_uid=%s", sudo_uid);
        openlog("tproxy-firewalld", LOG_PID, LOG_AUTHPRIV);
        syslog(error ? LOG_ERR : LOG_NOTICE,
               "%s: owner=%s file=\"%s\" added=%zu removed=%zu applied=%s result=%s uid=%u%s%s%s%s",
               rec->command, rec->owner, file, rec->added, rec->removed, rec->applied, rec->result,
               (unsigned)getuid(), sudo ? sudo : "", error ? " error=\"" : "", error ? error : "",
               error ? "\"" : "");
        closelog();
}
