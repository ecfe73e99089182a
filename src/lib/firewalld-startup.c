/* SPDX-License-Identifier: MIT */
/* A firewalld that is starting but does not own its D-Bus name yet: find it, wait for it. */
#include <errno.h>
#include <glib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/firewalld.h>

#include "util.h"

/* Where firewalld writes its pid at start (/var/run is a link to /run on current systems). */
static const char *const pid_files[] = {"/run/firewalld.pid", "/var/run/firewalld.pid"};

#define POLL_USEC (50 * 1000)

/* The same directory, also when spelt differently (symlinks, trailing slashes). */
static bool same_dir(const char *a, const char *b)
{
        struct stat sa, sb;

        if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
                return strcmp(a, b) == 0;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * Process pid's argv when it runs firewalld's daemon: "firewalld ..." or "python3 [-s ...]
 * /usr/sbin/firewalld ...". NULL for anything else (firewall-cmd, an editor on firewalld.conf).
 * *ret_script is the index of the firewalld word.
 */
static char **firewalld_argv(const char *pid, size_t *ret_script)
{
        g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", pid);
        g_autofree char *data = NULL;
        _cleanup_strv_ char **argv = NULL;
        GPtrArray *words;
        gsize len = 0;

        if (!g_file_get_contents(path, &data, &len, NULL) || len == 0)
                return NULL;
        words = g_ptr_array_new();
        for (gsize off = 0; off < len; off += strlen(data + off) + 1)
                g_ptr_array_add(words, g_strdup(data + off));
        g_ptr_array_add(words, NULL);
        argv = (char **)g_ptr_array_free(words, FALSE);
        for (size_t i = 0; argv[i] && i < 3; i++) {
                g_autofree char *base = g_path_get_basename(argv[i]);

                if (strcmp(base, "firewalld") == 0) {
                        *ret_script = i;
                        return g_steal_pointer(&argv);
                }
                /* only an interpreter and its options may come before the script */
                if (i == 0 ? !g_str_has_prefix(base, "python") : argv[i][0] != '-')
                        return NULL;
        }
        return NULL;
}

/* The configuration directory firewalld reads: --system-config DIR, else /etc/firewalld. */
static const char *firewalld_config_dir(char **argv, size_t script)
{
        for (size_t i = script + 1; argv[i]; i++) {
                if (strcmp(argv[i], "--system-config") == 0 && argv[i + 1])
                        return argv[i + 1];
                if (g_str_has_prefix(argv[i], "--system-config="))
                        return argv[i] + strlen("--system-config=");
        }
        return TPFW_DEFAULT_FIREWALLD_DIR;
}

/* A live firewalld process whose configuration directory is dir. */
static bool firewalld_process_for(const char *dir)
{
        g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
        const char *name;

        if (!proc)
                return false;
        while ((name = g_dir_read_name(proc))) {
                _cleanup_strv_ char **argv = NULL;
                size_t script = 0;

                if (name[strspn(name, "0123456789")] != '\0' || atoi(name) == getpid())
                        continue;
                argv = firewalld_argv(name, &script);
                if (argv && same_dir(firewalld_config_dir(argv, script), dir))
                        return true;
        }
        return false;
}

/* firewalld's pid file names a live firewalld (only firewalld of the default dir writes it; a
 * stale file's pid may belong to another process by now). */
static bool pid_file_live(void)
{
        for (size_t i = 0; i < G_N_ELEMENTS(pid_files); i++) {
                g_autofree char *text = NULL;
                g_autofree char *pid = NULL;
                _cleanup_strv_ char **argv = NULL;
                size_t script = 0;
                long n;

                if (!g_file_get_contents(pid_files[i], &text, NULL, NULL))
                        continue;
                n = strtol(text, NULL, 10);
                if (n <= 0 || n > INT_MAX)
                        continue;
                pid = g_strdup_printf("%ld", n);
                argv = firewalld_argv(pid, &script);
                if (argv)
                        return true;
        }
        return false;
}

/* systemd's firewalld.service is "activating" (its ExecStart has not finished starting). */
static bool systemd_unit_activating(void)
{
        const char *argv[] = {"systemctl", "is-active", "firewalld.service", NULL};
        g_autofree char *out = NULL;

        if (access("/run/systemd/system", F_OK) < 0)
                return false;
        if (!g_spawn_sync(NULL, (char **)argv, NULL,
                          G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                          NULL, NULL))
                return false;
        return out && strcmp(g_strstrip(out), "activating") == 0;
}

bool tpfw_firewalld_starting(const char *firewalld_dir)
{
        const char *dir = firewalld_dir ? firewalld_dir : TPFW_DEFAULT_FIREWALLD_DIR;

        if (firewalld_process_for(dir))
                return true;
        /* the pid file and the unit belong to the system's firewalld, which reads /etc/firewalld */
        if (!same_dir(dir, TPFW_DEFAULT_FIREWALLD_DIR))
                return false;
        return pid_file_live() || systemd_unit_activating();
}

int tpfw_firewalld_wait_starting(TpfwFirewalld *fw, const char *firewalld_dir, int timeout_ms,
                                 TpfwDiag *diag)
{
        gint64 deadline;

        if (!tpfw_firewalld_starting(firewalld_dir))
                return 0;
        if (!fw)
                return tpfw_diag_set(diag, ENOTCONN, NULL, 0,
                                     "firewalld is starting but the system bus cannot be reached");
        if (timeout_ms <= 0)
                timeout_ms = 30000;
        deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
        for (;;) {
                if (tpfw_firewalld_is_running(fw))
                        return 1;
                /* it exited without owning its name (a failed start): stopped, as before */
                if (!tpfw_firewalld_starting(firewalld_dir))
                        return tpfw_firewalld_is_running(fw) ? 1 : 0;
                if (g_get_monotonic_time() >= deadline)
                        return tpfw_diag_set(diag, ETIMEDOUT, NULL, 0,
                                             "firewalld is starting but did not own its D-Bus "
                                             "name within %d ms",
                                             timeout_ms);
                g_usleep(POLL_USEC);
        }
}
