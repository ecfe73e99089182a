/* SPDX-License-Identifier: MIT */
/* firewalld's RFC3964_IPv4 setting: read it, set it for IPv6 REDIRECT, record and restore it. */
#include <string.h>

#include <tproxy-firewalld/rfc3964.h>
#include <tproxy-firewalld/store.h>

#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalld, tpfw_firewalld_free)

#define CONF_FILE "firewalld.conf"
#define CONF_KEY "RFC3964_IPv4"
#define STATE_KEY_PREVIOUS "previous-rfc3964-ipv4"
#define STATE_KEY_OWNER "owner"
#define MAX_FILE_SIZE (1024 * 1024)

bool tpfw_rfc3964_ruleset_affected(const TpfwRuleset *rs)
{
        for (size_t i = 0; rs && i < tpfw_ruleset_n_rules(rs); i++)
                if (tpfw_ruleset_rule(rs, i)->ipv == TPFW_IPV6)
                        return true;
        return false;
}

/*
 * Finds the line firewalld takes RFC3964_IPv4 from (firewalld_conf.read(): stripped lines, '#'
 * and ';' comments, exactly one '=', a non-empty value, the first definition wins). Returns
 * false when there is none; else the line's extent [*ret_start, *ret_end) without its newline
 * and the stripped value (free with g_free()).
 */
static bool find_definition(const char *text, size_t *ret_start, size_t *ret_end, char **ret_value)
{
        const char *p = text ? text : "";

        while (*p) {
                const char *eol = strchrnul(p, '\n');
                g_autofree char *line = g_strstrip(g_strndup(p, (size_t)(eol - p)));
                g_auto(GStrv) pair = NULL;

                if (line[0] && line[0] != '#' && line[0] != ';') {
                        pair = g_strsplit(line, "=", -1);
                        if (g_strv_length(pair) == 2 &&
                            strcmp(g_strstrip(pair[0]), CONF_KEY) == 0 &&
                            *g_strstrip(pair[1]) != '\0') {
                                *ret_start = (size_t)(p - text);
                                *ret_end = (size_t)(eol - text);
                                *ret_value = g_strdup(pair[1]);
                                return true;
                        }
                }
                p = *eol ? eol + 1 : eol;
        }
        return false;
}

bool tpfw_rfc3964_conf_parse(const char *text)
{
        g_autofree char *value = NULL;
        size_t start, end;

        if (!find_definition(text, &start, &end, &value))
                return true;
        /* anything but these four spellings makes firewalld fall back to its default, yes */
        return !(g_ascii_strcasecmp(value, "no") == 0 || g_ascii_strcasecmp(value, "false") == 0);
}

char *tpfw_rfc3964_conf_set(const char *text, bool enabled)
{
        const char *line = enabled ? CONF_KEY "=yes" : CONF_KEY "=no";
        g_autofree char *value = NULL;
        size_t start, end, len = text ? strlen(text) : 0;
        GString *s;

        if (!find_definition(text, &start, &end, &value)) {
                s = g_string_new_len(text ? text : "", (gssize)len);
                if (len > 0 && text[len - 1] != '\n')
                        g_string_append_c(s, '\n');
                g_string_append_printf(s, "%s\n", line);
                return g_string_free(s, FALSE);
        }
        s = g_string_new_len(text, (gssize)start);
        g_string_append(s, line);
        g_string_append(s, text + end);
        return g_string_free(s, FALSE);
}

static bool fw_running(TpfwFirewalld *fw)
{
        return fw && tpfw_firewalld_is_running(fw);
}

static int read_file(const char *path, unsigned flags, char **ret_data, size_t *ret_len,
                     bool *ret_exists, TpfwDiag *diag)
{
        return tpfw_store_read(path, flags, MAX_FILE_SIZE, ret_data, ret_len, ret_exists, diag);
}

int tpfw_rfc3964_get(const char *dir, TpfwFirewalld *fw, bool *ret_enabled, TpfwDiag *diag)
{
        g_autofree char *path = g_build_filename(dir, CONF_FILE, NULL);
        g_autofree char *data = NULL;
        size_t len = 0;
        bool exists = false;
        int r;

        /* no NameHasOwner first: a firewalld that does not run fails the call just as fast */
        if (fw) {
                TpfwDiag ignored = TPFW_DIAG_INIT;

                r = tpfw_firewalld_get_rfc3964_ipv4(fw, ret_enabled, &ignored);
                tpfw_diag_clear(&ignored);
                if (r == 0)
                        return 0;
                /* before 0.7: no setting and no filter, whatever firewalld.conf holds */
                if (r == -ENOENT)
                        return tpfw_diag_set(diag, ENOENT, NULL, 0,
                                             "firewalld has no RFC3964_IPv4 setting");
                /* e.g. not authorised to read the configuration: the file is what it loaded */
        }
        r = read_file(path, TPFW_STORE_FOLLOW_SYMLINK, &data, &len, &exists, diag);
        if (r < 0)
                return r;
        *ret_enabled = tpfw_rfc3964_conf_parse(exists ? data : NULL);
        return 0;
}

int tpfw_rfc3964_set(const char *dir, TpfwFirewalld *fw, bool enabled, TpfwDiag *diag)
{
        g_autofree char *path = g_build_filename(dir, CONF_FILE, NULL);
        g_autofree char *data = NULL;
        g_autofree char *updated = NULL;
        size_t len = 0;
        bool exists = false;
        int r;

        /* A running firewalld writes its in-memory copy of firewalld.conf back at its next
         * configuration change, so it must make the change itself. */
        if (fw_running(fw)) {
                r = tpfw_firewalld_set_rfc3964_ipv4(fw, enabled, diag);
                if (r < 0)
                        tpfw_diag_prefix(diag, "cannot set RFC3964_IPv4");
                return r;
        }
        r = read_file(path, TPFW_STORE_FOLLOW_SYMLINK, &data, &len, &exists, diag);
        if (r < 0)
                return r;
        if (exists && tpfw_rfc3964_conf_parse(data) == enabled)
                return 0;
        updated = tpfw_rfc3964_conf_set(exists ? data : NULL, enabled);
        return tpfw_store_write(path, updated, strlen(updated), TPFW_STORE_FOLLOW_SYMLINK, diag);
}

void tpfw_rfc3964_state_clear(TpfwRfc3964State *state)
{
        if (!state)
                return;
        g_strfreev(state->owners);
        state->owners = NULL;
        state->previous = -1;
}

static int parse_bool(const char *value, int *ret)
{
        if (strcmp(value, "yes") == 0)
                *ret = 1;
        else if (strcmp(value, "no") == 0)
                *ret = 0;
        else
                return -EINVAL;
        return 0;
}

static int state_parse(const char *path, const char *data, TpfwRfc3964State *ret, TpfwDiag *diag)
{
        g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
        g_autoptr(GPtrArray) owners = g_ptr_array_new_with_free_func(g_free);
        int previous = -1;

        for (unsigned i = 0; lines[i]; i++) {
                char *line = g_strstrip(lines[i]);
                char *eq = strchr(line, '=');
                const char *key = line, *value;

                if (!line[0] || line[0] == '#')
                        continue;
                if (!eq)
                        return tpfw_diag_set(diag, EINVAL, path, i + 1, "expected key=value");
                *eq = '\0';
                value = eq + 1;
                if (strcmp(key, STATE_KEY_PREVIOUS) == 0) {
                        if (parse_bool(value, &previous) < 0)
                                return tpfw_diag_set(diag, EINVAL, path, i + 1,
                                                     "%s must be yes or no", key);
                } else if (strcmp(key, STATE_KEY_OWNER) == 0) {
                        if (!tpfw_owner_name_is_valid(value))
                                return tpfw_diag_set(diag, EINVAL, path, i + 1,
                                                     "invalid owner name '%s'", value);
                        if (!g_ptr_array_find_with_equal_func(owners, value, g_str_equal, NULL))
                                g_ptr_array_add(owners, g_strdup(value));
                } else {
                        return tpfw_diag_set(diag, EINVAL, path, i + 1, "unknown key '%s'", key);
                }
        }
        if (owners->len > 0 && previous < 0)
                return tpfw_diag_set(diag, EINVAL, path, 0, "owners listed without %s",
                                     STATE_KEY_PREVIOUS);
        g_ptr_array_add(owners, NULL);
        ret->owners = (char **)g_ptr_array_steal(owners, NULL);
        if (!ret->owners[0])
                g_clear_pointer(&ret->owners, g_strfreev);
        ret->previous = previous;
        return 0;
}

static char *state_path(const char *dir)
{
        return g_build_filename(dir, TPFW_RFC3964_STATE_FILE, NULL);
}

int tpfw_rfc3964_state_load(const char *dir, TpfwRfc3964State *ret, TpfwDiag *diag)
{
        g_autofree char *path = state_path(dir);
        g_autofree char *data = NULL;
        size_t len = 0;
        bool exists = false;
        int r;

        ret->owners = NULL;
        ret->previous = -1;
        r = read_file(path, 0, &data, &len, &exists, diag);
        if (r < 0 || !exists)
                return r;
        return state_parse(path, data, ret, diag);
}

static char *state_format(const TpfwRfc3964State *state)
{
        GString *s = g_string_new(
                "# tproxy-firewalld: RFC3964_IPv4 was set to no for IPv6 redirection\n"
                "# (--fix-ipv6-redirect). The uninstall of the last owner below puts back the\n"
                "# previous value. Do not edit.\n");

        g_string_append_printf(s, "%s=%s\n", STATE_KEY_PREVIOUS, state->previous ? "yes" : "no");
        for (char **o = state->owners; o && *o; o++)
                g_string_append_printf(s, "%s=%s\n", STATE_KEY_OWNER, *o);
        return g_string_free(s, FALSE);
}

int tpfw_rfc3964_state_save(const char *dir, const TpfwRfc3964State *state, TpfwDiag *diag)
{
        g_autofree char *path = state_path(dir);
        g_autofree char *data = NULL;

        if (!state->owners || !state->owners[0])
                return tpfw_store_restore(path, false, NULL, 0, diag);
        data = state_format(state);
        /* restore = an atomic replace without the ".old" copy, which this file does not want */
        return tpfw_store_restore(path, true, data, strlen(data), diag);
}

const char *tpfw_rfc3964_value_name(TpfwRfc3964Value v)
{
        return v == TPFW_RFC3964_YES ? "yes" : v == TPFW_RFC3964_NO ? "no" : NULL;
}

static TpfwRfc3964Value value_of(bool enabled)
{
        return enabled ? TPFW_RFC3964_YES : TPFW_RFC3964_NO;
}

bool tpfw_rfc3964_outcome_changed(const TpfwRfc3964Outcome *o)
{
        return o->before != TPFW_RFC3964_UNKNOWN && o->after != TPFW_RFC3964_UNKNOWN &&
               o->before != o->after;
}

void tpfw_rfc3964_outcome_clear(TpfwRfc3964Outcome *o)
{
        if (!o)
                return;
        g_free(o->state_data);
        memset(o, 0, sizeof(*o));
}

/* A private connection when firewalld runs, else NULL (the file is the setting). */
static TpfwFirewalld *connect_if_running(int timeout_ms)
{
        TpfwFirewalld *fw = NULL;

        if (tpfw_firewalld_connect(timeout_ms, &fw, NULL) < 0)
                return NULL;
        if (!tpfw_firewalld_is_running(fw))
                return tpfw_firewalld_free(fw);
        return fw;
}

/*
 * firewalld has no RFC3964_IPv4 (before 0.7), so no filter: nothing to warn about or fix, and
 * nothing to put back. A record of an earlier fix (made offline, before this firewalld ran)
 * goes with the owner, without touching the setting, so it never blocks an uninstall.
 */
static int forget_absent(const TpfwRfc3964Request *req, const TpfwRfc3964State *state, bool claimed,
                         TpfwRfc3964Outcome *ret, TpfwDiag *diag)
{
        g_autofree char *path = state_path(req->firewalld_dir);
        g_autoptr(GPtrArray) owners = g_ptr_array_new();
        TpfwRfc3964State next;
        size_t len = 0;
        int r;

        ret->absent = true;
        if (!claimed || req->check)
                return 0;
        for (char **o = state->owners; o && *o; o++)
                if (strcmp(*o, req->owner) != 0)
                        g_ptr_array_add(owners, *o);
        g_ptr_array_add(owners, NULL);
        r = read_file(path, 0, &ret->state_data, &len, &ret->state_existed, diag);
        ret->state_len = len;
        if (r < 0)
                return r;
        next.owners = (char **)owners->pdata;
        next.previous = state->previous;
        r = tpfw_rfc3964_state_save(req->firewalld_dir, &next, diag);
        ret->state_changed = r == 0;
        /* the last record goes: firewalld.conf gets back the value it had (firewalld ignores it,
         * an upgraded one will not) */
        if (r == 0 && owners->len == 1 && state->previous >= 0)
                r = tpfw_rfc3964_set(req->firewalld_dir, NULL, state->previous == 1, diag);
        return r;
}

int tpfw_rfc3964_update(const TpfwRfc3964Request *req, TpfwRfc3964Outcome *ret, TpfwDiag *diag)
{
        TpfwRfc3964State state = TPFW_RFC3964_STATE_INIT;
        g_autoptr(TpfwFirewalld) fw = NULL; /* ours, when the caller gave none */
        TpfwFirewalld *live;
        g_autoptr(GPtrArray) owners = g_ptr_array_new();
        g_autofree char *path = state_path(req->firewalld_dir);
        TpfwRfc3964State next;
        bool claimed = false, need, current;
        int target, previous, r;

        tpfw_rfc3964_outcome_clear(ret);
        r = tpfw_rfc3964_state_load(req->firewalld_dir, &state, diag);
        if (r < 0)
                return r;
        for (char **o = state.owners; o && *o; o++) {
                if (strcmp(*o, req->owner) == 0)
                        claimed = true;
                else
                        g_ptr_array_add(owners, *o);
        }
        need = req->ipv6 && (req->fix || claimed);
        if (!req->ipv6 && !claimed) {
                tpfw_rfc3964_state_clear(&state);
                return 0; /* nothing of ours depends on the setting */
        }

        /* with --no-reload firewalld.conf is the truth: firewalld reads it at its next reload */
        if (!req->offline && !req->fw)
                fw = connect_if_running(req->dbus_timeout_ms);
        live = req->offline ? NULL : req->fw ? req->fw : fw;
        r = tpfw_rfc3964_get(req->firewalld_dir, live, &current, diag);
        if (r == -ENOENT) {
                tpfw_diag_clear(diag);
                r = forget_absent(req, &state, claimed, ret, diag);
                tpfw_rfc3964_state_clear(&state);
                return r;
        }
        if (r < 0) {
                tpfw_rfc3964_state_clear(&state);
                return r;
        }
        ret->before = value_of(current);
        previous = state.previous >= 0 ? state.previous : current;
        if (need) {
                target = 0;
                g_ptr_array_add(owners, (char *)req->owner);
        } else if (owners->len == 0 && claimed && previous == 1 && !current) {
                target = 1; /* the last owner that needed it goes: put back firewalld's filter */
        } else {
                target = current;
        }
        ret->after = value_of(target);
        ret->claimed = need;
        ret->warning = req->ipv6 && target == 1;
        ret->state_changed = need != claimed;
        if (req->check || (!ret->state_changed && target == current)) {
                tpfw_rfc3964_state_clear(&state);
                return 0;
        }

        if (ret->state_changed) {
                size_t len = 0;

                r = read_file(path, 0, &ret->state_data, &len, &ret->state_existed, diag);
                ret->state_len = len;
                g_ptr_array_add(owners, NULL);
                next.owners = (char **)owners->pdata;
                next.previous = previous;
                if (r == 0)
                        r = tpfw_rfc3964_state_save(req->firewalld_dir, &next, diag);
                g_ptr_array_remove_index(owners, owners->len - 1);
                if (r < 0) {
                        ret->after = ret->before;
                        ret->state_changed = false;
                        tpfw_rfc3964_state_clear(&state);
                        return r;
                }
        }
        tpfw_rfc3964_state_clear(&state);
        if (target == current)
                return 0;
        if (live && !tpfw_firewalld_is_running(live))
                live = NULL;
        ret->via_dbus = live != NULL;
        r = tpfw_rfc3964_set(req->firewalld_dir, live, target, diag);
        if (r < 0) {
                TpfwRfc3964Outcome undo = *ret;

                undo.after = undo.before; /* the setting did not change: the record only */
                (void)tpfw_rfc3964_undo(req, &undo, NULL);
                ret->after = ret->before;
                return r;
        }
        return 0;
}

int tpfw_rfc3964_undo(const TpfwRfc3964Request *req, const TpfwRfc3964Outcome *outcome,
                      TpfwDiag *diag)
{
        g_autofree char *path = state_path(req->firewalld_dir);
        int r = 0;

        if (tpfw_rfc3964_outcome_changed(outcome)) {
                /* undo the way it was done: over D-Bus, or in firewalld.conf */
                g_autoptr(TpfwFirewalld) fw =
                        outcome->via_dbus ? connect_if_running(req->dbus_timeout_ms) : NULL;

                r = tpfw_rfc3964_set(req->firewalld_dir, fw, outcome->before == TPFW_RFC3964_YES,
                                     diag);
                if (r < 0)
                        return r;
        }
        if (outcome->state_changed)
                r = tpfw_store_restore(path, outcome->state_existed, outcome->state_data,
                                       outcome->state_len, diag);
        return r;
}
