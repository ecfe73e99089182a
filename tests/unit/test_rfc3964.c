/* SPDX-License-Identifier: MIT */
/* Unit tests for rfc3964.c: firewalld.conf reading and rewriting, the state file, the owner logic.
 */
#include "testutil.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include <tproxy-firewalld/rfc3964.h>

static const char *const DEBIAN_CONF = "# firewalld config file\n"
                                       "\n"
                                       "DefaultZone=public\n"
                                       "\n"
                                       "# RFC3964_IPv4\n"
                                       "# Defaults to \"yes\".\n"
                                       "RFC3964_IPv4=yes\n"
                                       "\n"
                                       "# AllowZoneDrifting\n"
                                       "AllowZoneDrifting=no\n";

static void test_conf_parse(void **state)
{
        (void)state;
        assert_true(tpfw_rfc3964_conf_parse(NULL));
        assert_true(tpfw_rfc3964_conf_parse(""));
        assert_true(tpfw_rfc3964_conf_parse(DEBIAN_CONF));
        assert_false(tpfw_rfc3964_conf_parse("RFC3964_IPv4=no\n"));
        assert_false(tpfw_rfc3964_conf_parse("  RFC3964_IPv4 = False \r\n"));
        assert_true(tpfw_rfc3964_conf_parse("RFC3964_IPv4=TRUE"));
        /* invalid values fall back to firewalld's default */
        assert_true(tpfw_rfc3964_conf_parse("RFC3964_IPv4=off\n"));
        /* comments, malformed and empty definitions do not count; the first valid one wins */
        assert_true(tpfw_rfc3964_conf_parse("#RFC3964_IPv4=no\n;RFC3964_IPv4=no\n"));
        assert_false(tpfw_rfc3964_conf_parse("RFC3964_IPv4=a=b\nRFC3964_IPv4=\n"
                                             "RFC3964_IPv4=no\nRFC3964_IPv4=yes\n"));
        assert_true(tpfw_rfc3964_conf_parse("RFC3964_IPv4x=no\n"));
}

static void test_conf_set(void **state)
{
        g_autofree char *no = tpfw_rfc3964_conf_set(DEBIAN_CONF, false);
        g_autofree char *back = tpfw_rfc3964_conf_set(no, true);
        g_autofree char *expected = NULL;
        g_autofree char *appended = tpfw_rfc3964_conf_set("DefaultZone=public", false);
        g_autofree char *created = tpfw_rfc3964_conf_set(NULL, false);
        g_autofree char *first =
                tpfw_rfc3964_conf_set("# x\n RFC3964_IPv4 = yes \nRFC3964_IPv4=yes", false);
        (void)state;

        expected = g_strdup(DEBIAN_CONF);
        memcpy(strstr(expected, "RFC3964_IPv4=yes") + 13, "no\n", 3);
        /* "yes\n" -> "no\n": the rest shifts by one byte */
        memmove(strstr(expected, "RFC3964_IPv4=no\n") + 16,
                strstr(DEBIAN_CONF, "RFC3964_IPv4=yes\n") + 17,
                strlen(strstr(DEBIAN_CONF, "RFC3964_IPv4=yes\n") + 17) + 1);
        assert_string_equal(no, expected);
        assert_false(tpfw_rfc3964_conf_parse(no));
        assert_string_equal(back, DEBIAN_CONF);
        assert_string_equal(appended, "DefaultZone=public\nRFC3964_IPv4=no\n");
        assert_string_equal(created, "RFC3964_IPv4=no\n");
        assert_string_equal(first, "# x\nRFC3964_IPv4=no\nRFC3964_IPv4=yes");
}

typedef struct {
        char *dir;
} Fixture;

static int setup(void **state)
{
        Fixture *f = g_new0(Fixture, 1);

        /* no firewalld: the file is the setting */
        setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/tpfw-unit-bus", 1);
        f->dir = g_dir_make_tmp("tpfw-rfc3964-XXXXXX", NULL);
        assert_non_null(f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

        assert_int_equal(system(cmd), 0);
        g_free(f->dir);
        g_free(f);
        return 0;
}

static char *read_in(const Fixture *f, const char *name)
{
        g_autofree char *path = g_build_filename(f->dir, name, NULL);
        char *data = NULL;

        if (!g_file_get_contents(path, &data, NULL, NULL))
                return NULL;
        return data;
}

static void write_in(const Fixture *f, const char *name, const char *text)
{
        g_autofree char *path = g_build_filename(f->dir, name, NULL);

        assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void test_state_roundtrip(void **state)
{
        Fixture *f = *state;
        TpfwRfc3964State st = TPFW_RFC3964_STATE_INIT, loaded = TPFW_RFC3964_STATE_INIT;
        char *owners[] = {"kuma", "b.2", NULL};
        TpfwDiag diag = TPFW_DIAG_INIT;
        g_autofree char *text = NULL;

        assert_int_equal(tpfw_rfc3964_state_load(f->dir, &loaded, NULL), 0);
        assert_null(loaded.owners);
        assert_int_equal(loaded.previous, -1);

        st.owners = owners;
        st.previous = 1;
        assert_int_equal(tpfw_rfc3964_state_save(f->dir, &st, NULL), 0);
        text = read_in(f, TPFW_RFC3964_STATE_FILE);
        assert_non_null(strstr(text, "\nprevious-rfc3964-ipv4=yes\nowner=kuma\nowner=b.2\n"));
        assert_int_equal(tpfw_rfc3964_state_load(f->dir, &loaded, NULL), 0);
        assert_int_equal(loaded.previous, 1);
        assert_int_equal(g_strv_length(loaded.owners), 2);
        assert_string_equal(loaded.owners[1], "b.2");
        tpfw_rfc3964_state_clear(&loaded);

        write_in(f, TPFW_RFC3964_STATE_FILE, "previous-rfc3964-ipv4=yes\nowner=Bad Name\n");
        assert_int_equal(tpfw_rfc3964_state_load(f->dir, &loaded, &diag), -EINVAL);
        assert_int_equal(diag.line, 2);
        tpfw_diag_clear(&diag);
        write_in(f, TPFW_RFC3964_STATE_FILE, "owner=kuma\n");
        assert_int_equal(tpfw_rfc3964_state_load(f->dir, &loaded, &diag), -EINVAL);
        tpfw_diag_clear(&diag);

        st.owners = NULL;
        assert_int_equal(tpfw_rfc3964_state_save(f->dir, &st, NULL), 0);
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));
}

static TpfwRfc3964Outcome run_update(const Fixture *f, const char *owner, bool ipv6, bool fix,
                                     bool check)
{
        TpfwRfc3964Request req = {.firewalld_dir = f->dir,
                                  .owner = owner,
                                  .ipv6 = ipv6,
                                  .fix = fix,
                                  .check = check,
                                  .dbus_timeout_ms = 1000};
        TpfwRfc3964Outcome o = {0};
        TpfwDiag diag = TPFW_DIAG_INIT;

        if (tpfw_rfc3964_update(&req, &o, &diag) != 0)
                fail_msg("update: %s", diag.message);
        return o;
}

static void test_update_owners(void **state)
{
        Fixture *f = *state;
        TpfwRfc3964Outcome o;
        g_autofree char *conf = NULL;
        g_autofree char *st = NULL;

        write_in(f, "firewalld.conf", DEBIAN_CONF);

        /* IPv6 rules without the fix: a warning, nothing written */
        o = run_update(f, "a", true, false, false);
        assert_int_equal(o.before, TPFW_RFC3964_YES);
        assert_int_equal(o.after, TPFW_RFC3964_YES);
        assert_true(o.warning);
        assert_false(tpfw_rfc3964_outcome_changed(&o));
        tpfw_rfc3964_outcome_clear(&o);
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));

        /* check mode reports and writes nothing */
        o = run_update(f, "a", true, true, true);
        assert_int_equal(o.after, TPFW_RFC3964_NO);
        assert_true(tpfw_rfc3964_outcome_changed(&o));
        tpfw_rfc3964_outcome_clear(&o);
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));

        /* IPv4-only rules: nothing to look at */
        o = run_update(f, "a", false, true, false);
        assert_int_equal(o.before, TPFW_RFC3964_UNKNOWN);
        tpfw_rfc3964_outcome_clear(&o);

        /* a asks, b asks: one change, two records */
        o = run_update(f, "a", true, true, false);
        assert_true(tpfw_rfc3964_outcome_changed(&o));
        assert_false(o.warning);
        assert_true(o.claimed);
        assert_false(o.via_dbus);
        tpfw_rfc3964_outcome_clear(&o);
        conf = read_in(f, "firewalld.conf");
        assert_false(tpfw_rfc3964_conf_parse(conf));
        o = run_update(f, "b", true, true, false);
        assert_false(tpfw_rfc3964_outcome_changed(&o));
        tpfw_rfc3964_outcome_clear(&o);

        /* a reinstalls without the flag: its record stays */
        o = run_update(f, "a", true, false, false);
        assert_true(o.claimed);
        assert_false(o.state_changed);
        tpfw_rfc3964_outcome_clear(&o);
        st = read_in(f, TPFW_RFC3964_STATE_FILE);
        assert_non_null(strstr(st, "owner=a\nowner=b\n"));

        /* a goes: b still needs it */
        o = run_update(f, "a", false, false, false);
        assert_false(tpfw_rfc3964_outcome_changed(&o));
        assert_true(o.state_changed);
        tpfw_rfc3964_outcome_clear(&o);
        g_free(conf);
        conf = read_in(f, "firewalld.conf");
        assert_false(tpfw_rfc3964_conf_parse(conf));

        /* b, the last, goes: the previous value and the file's bytes come back */
        o = run_update(f, "b", false, false, false);
        assert_int_equal(o.before, TPFW_RFC3964_NO);
        assert_int_equal(o.after, TPFW_RFC3964_YES);
        tpfw_rfc3964_outcome_clear(&o);
        g_free(conf);
        conf = read_in(f, "firewalld.conf");
        assert_string_equal(conf, DEBIAN_CONF);
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));
}

static void test_update_previous_no_and_undo(void **state)
{
        Fixture *f = *state;
        TpfwRfc3964Request req = {.firewalld_dir = f->dir, .owner = "a", .ipv6 = true, .fix = true};
        TpfwRfc3964Outcome o = {0};
        g_autofree char *conf = NULL;
        g_autofree char *conf2 = NULL;

        /* no firewalld.conf: firewalld's default is yes; the fix creates the file */
        assert_int_equal(tpfw_rfc3964_update(&req, &o, NULL), 0);
        assert_int_equal(o.before, TPFW_RFC3964_YES);
        conf = read_in(f, "firewalld.conf");
        assert_string_equal(conf, "RFC3964_IPv4=no\n");
        /* rollback: setting and record as they were */
        assert_int_equal(tpfw_rfc3964_undo(&req, &o, NULL), 0);
        tpfw_rfc3964_outcome_clear(&o);
        conf2 = read_in(f, "firewalld.conf");
        assert_true(tpfw_rfc3964_conf_parse(conf2));
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));

        /* an administrator's "no" stays "no" after the last uninstall */
        write_in(f, "firewalld.conf", "RFC3964_IPv4=no\n");
        o = run_update(f, "a", true, true, false);
        assert_false(tpfw_rfc3964_outcome_changed(&o));
        tpfw_rfc3964_outcome_clear(&o);
        o = run_update(f, "a", false, false, false);
        assert_int_equal(o.after, TPFW_RFC3964_NO);
        tpfw_rfc3964_outcome_clear(&o);
        assert_null(read_in(f, TPFW_RFC3964_STATE_FILE));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_conf_parse),
                cmocka_unit_test(test_conf_set),
                cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_owners, setup, teardown),
                cmocka_unit_test_setup_teardown(test_update_previous_no_and_undo, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
