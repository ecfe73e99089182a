/* SPDX-License-Identifier: MIT */
/* Unit tests for the start-up check of the libxml2 loaded against the one of the build. */
#include <errno.h>
#include <libxml/xmlversion.h>
#include <string.h>

#include <tproxy-firewalld/libraries.h>

#include "libraries-private.h"
#include "testutil.h"

/* The libxml2 this test runs with is the one it was built with. */
static void test_loaded_libxml2_fits(void **state)
{
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(tpfw_libraries_check(&diag), 0);
        assert_null(diag.message);
}

static void test_same_or_newer_minor_fits(void **state)
{
        assert_int_equal(libxml_version_compatible(20914, 20914, NULL), 0);
        assert_int_equal(libxml_version_compatible(20914, 20900, NULL), 0); /* older micro */
        assert_int_equal(libxml_version_compatible(20914, 21004, NULL), 0);
        assert_int_equal(libxml_version_compatible(20900, 21400, NULL), 0);
}

static void test_other_major_or_older_minor_is_refused(void **state)
{
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(libxml_version_compatible(20914, 20814, &diag), -ELIBBAD);
        assert_string_equal(diag.message,
                            "libxml2 2.8.14 is loaded, but this build needs 2.9 or a "
                            "later 2.x (reinstall tproxy-firewalld for this libxml2)");
        assert_int_equal(libxml_version_compatible(21400, 30000, &diag), -ELIBBAD);
        assert_non_null(strstr(diag.message, "libxml2 3.0.0 is loaded"));
        assert_int_equal(libxml_version_compatible(20914, 10912, NULL), -ELIBBAD);
        /* an unreadable version string (atoi gives 0) is not taken as compatible */
        assert_int_equal(libxml_version_compatible(20914, 0, NULL), -ELIBBAD);
        tpfw_diag_clear(&diag);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loaded_libxml2_fits),
                cmocka_unit_test(test_same_or_newer_minor_fits),
                cmocka_unit_test(test_other_major_or_older_minor_is_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
