/* SPDX-License-Identifier: MIT */
/* Start-up check of the libxml2 loaded at run time against the one the library was built with. */
#include <stdlib.h>

#include <tproxy-firewalld/libraries.h>

#include "libraries-private.h"
#include "util.h"
#include "xml-util.h"

int libxml_version_compatible(int compiled, int running, TpfwDiag *diag)
{
        int c_major = compiled / 10000, c_minor = compiled / 100 % 100;
        int r_major = running / 10000, r_minor = running / 100 % 100;

        if (running > 0 && r_major == c_major && r_minor >= c_minor)
                return 0;
        return tpfw_diag_set(diag, ELIBBAD, NULL, 0,
                             "libxml2 %d.%d.%d is loaded, but this build needs %d.%d or a later "
                             "%d.x (reinstall tproxy-firewalld for this libxml2)",
                             r_major, r_minor, running % 100, c_major, c_minor, c_major);
}

int tpfw_libraries_check(TpfwDiag *diag)
{
        int running = atoi(xmlParserVersion);

        if (tpfw_fault("libxml-version") < 0)
                running = (LIBXML_VERSION / 10000 + 1) * 10000;
        return libxml_version_compatible(LIBXML_VERSION, running, diag);
}
