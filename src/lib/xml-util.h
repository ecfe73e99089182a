/* SPDX-License-Identifier: MIT */
/* libxml2 for the library modules: its headers and the cleanup functions, defined once. */
#pragma once

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <glib.h>

/* xmlFree is a variable (a function pointer), not a function: wrap it for cleanups. */
static inline void tpfw_xml_free(void *p)
{
        if (p)
                xmlFree(p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)
