/* SPDX-License-Identifier: MIT */
/*
 * libxml2 and libdbus-1, loaded on first use. Most runs need neither (the fast parser reads the
 * files firewalld writes; --no-reload and --check never talk to D-Bus), and linking them costs
 * every run ~3 ms of dynamic loading: libxml2 pulls in ICU and libstdc++, libdbus-1 pulls in
 * libsystemd and its compressors. systemd does the same for its optional libraries
 * (dlopen_many_sym).
 *
 * A module that calls into one of them includes "lazy.h" after nothing else from that library,
 * calls tpfw_lazy_libxml() / tpfw_lazy_libdbus() / tpfw_lazy_libyaml() before the first call, and
 * otherwise writes the calls as usual: the names below are macros for the loaded pointers. A name
 * missing from the lists is a link error (the library does not link either library), never a silent
 * direct call.
 */
#pragma once

#include <dbus/dbus.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <yaml.h>

#include <glib.h>

#include <tproxy-firewalld/diag.h>

#define TPFW_LIBXML_SONAME "libxml2.so.2"
#define TPFW_LIBDBUS_SONAME "libdbus-1.so.3"
#define TPFW_LIBYAML_SONAME "libyaml-0.so.2"

#if defined(LIBXML_THREAD_ALLOC_ENABLED) || !defined(LIBXML_THREAD_ENABLED)
/* cppcheck does not read libxml2's xmlversion.h */
// cppcheck-suppress preprocessorErrorDirective
#error "lazy.h expects libxml2 built with threads and without per-thread allocators (as Debian's)"
#endif

/*
 * Every libxml2 function the library calls. xmlFree is a variable (its pointer is what dlsym()
 * returns); __xmlStructuredError and its context are what the thread-safe globals expand to.
 */
#define TPFW_LIBXML_SYMBOLS(X)                                                                     \
        X(xmlFree)                                                                                 \
        X(__xmlStructuredError)                                                                    \
        X(__xmlStructuredErrorContext)                                                             \
        X(xmlCtxtReadMemory)                                                                       \
        X(xmlDocGetRootElement)                                                                    \
        X(xmlFreeDoc)                                                                              \
        X(xmlFreeParserCtxt)                                                                       \
        X(xmlGetLineNo)                                                                            \
        X(xmlHasNsProp)                                                                            \
        X(xmlNewParserCtxt)                                                                        \
        X(xmlNodeListGetString)                                                                    \
        X(xmlRelaxNGFree)                                                                          \
        X(xmlRelaxNGFreeParserCtxt)                                                                \
        X(xmlRelaxNGFreeValidCtxt)                                                                 \
        X(xmlRelaxNGNewDocParserCtxt)                                                              \
        X(xmlRelaxNGNewValidCtxt)                                                                  \
        X(xmlRelaxNGParse)                                                                         \
        X(xmlRelaxNGSetParserStructuredErrors)                                                     \
        X(xmlRelaxNGSetValidStructuredErrors)                                                      \
        X(xmlRelaxNGValidateDoc)                                                                   \
        X(xmlSetStructuredErrorFunc)                                                               \
        X(xmlStopParser)

/* Every libdbus-1 function the library calls. */
#define TPFW_LIBDBUS_SYMBOLS(X)                                                                    \
        X(dbus_bus_get_private)                                                                    \
        X(dbus_connection_close)                                                                   \
        X(dbus_connection_flush)                                                                   \
        X(dbus_connection_send_with_reply)                                                         \
        X(dbus_connection_send_with_reply_and_block)                                               \
        X(dbus_connection_set_exit_on_disconnect)                                                  \
        X(dbus_connection_unref)                                                                   \
        X(dbus_error_free)                                                                         \
        X(dbus_error_has_name)                                                                     \
        X(dbus_message_append_args)                                                                \
        X(dbus_message_get_args)                                                                   \
        X(dbus_message_get_type)                                                                   \
        X(dbus_message_iter_abandon_container)                                                     \
        X(dbus_message_iter_append_basic)                                                          \
        X(dbus_message_iter_close_container)                                                       \
        X(dbus_message_iter_get_arg_type)                                                          \
        X(dbus_message_iter_get_basic)                                                             \
        X(dbus_message_iter_get_element_type)                                                      \
        X(dbus_message_iter_init)                                                                  \
        X(dbus_message_iter_init_append)                                                           \
        X(dbus_message_iter_next)                                                                  \
        X(dbus_message_iter_open_container)                                                        \
        X(dbus_message_iter_recurse)                                                               \
        X(dbus_message_new_method_call)                                                            \
        X(dbus_message_unref)                                                                      \
        X(dbus_pending_call_block)                                                                 \
        X(dbus_pending_call_cancel)                                                                \
        X(dbus_pending_call_steal_reply)                                                           \
        X(dbus_pending_call_unref)                                                                 \
        X(dbus_set_error_from_message)

/* Every libyaml function the library calls. */
#define TPFW_LIBYAML_SYMBOLS(X)                                                                    \
        X(yaml_document_delete)                                                                    \
        X(yaml_document_get_node)                                                                  \
        X(yaml_document_get_root_node)                                                             \
        X(yaml_parser_delete)                                                                      \
        X(yaml_parser_initialize)                                                                  \
        X(yaml_parser_load)                                                                        \
        X(yaml_parser_set_input_string)

#define TPFW_LAZY_POINTER(name) __typeof__(name) *name;

typedef struct TpfwLibxml {
        TPFW_LIBXML_SYMBOLS(TPFW_LAZY_POINTER)
} TpfwLibxml;

typedef struct TpfwLibdbus {
        TPFW_LIBDBUS_SYMBOLS(TPFW_LAZY_POINTER)
} TpfwLibdbus;

typedef struct TpfwLibyaml {
        TPFW_LIBYAML_SYMBOLS(TPFW_LAZY_POINTER)
} TpfwLibyaml;

/* Hidden: private to the library even though the version script exports tpfw_*. */
#define TPFW_LAZY_HIDDEN __attribute__((visibility("hidden")))
extern TPFW_LAZY_HIDDEN TpfwLibxml tpfw_libxml;
extern TPFW_LAZY_HIDDEN TpfwLibdbus tpfw_libdbus;
extern TPFW_LAZY_HIDDEN TpfwLibyaml tpfw_libyaml;

/*
 * Loads the library and all its functions, once per process (thread-safe). Returns 0, or
 * -ELIBACC with a diag naming the library and the loader's reason; the failure is remembered.
 * what says what needed it ("reading this direct.xml"), for the message.
 */
TPFW_LAZY_HIDDEN int tpfw_lazy_libxml(const char *what, TpfwDiag *diag);
TPFW_LAZY_HIDDEN int tpfw_lazy_libdbus(const char *what, TpfwDiag *diag);
TPFW_LAZY_HIDDEN int tpfw_lazy_libyaml(const char *what, TpfwDiag *diag);

#ifndef TPFW_LAZY_IMPLEMENTATION
#undef xmlFree
#define xmlFree (*tpfw_libxml.xmlFree)
#undef xmlStructuredError
#define xmlStructuredError (*(tpfw_libxml.__xmlStructuredError()))
#undef xmlStructuredErrorContext
#define xmlStructuredErrorContext (*(tpfw_libxml.__xmlStructuredErrorContext()))
#define xmlCtxtReadMemory tpfw_libxml.xmlCtxtReadMemory
#define xmlDocGetRootElement tpfw_libxml.xmlDocGetRootElement
#define xmlFreeDoc tpfw_libxml.xmlFreeDoc
#define xmlFreeParserCtxt tpfw_libxml.xmlFreeParserCtxt
#define xmlGetLineNo tpfw_libxml.xmlGetLineNo
#define xmlHasNsProp tpfw_libxml.xmlHasNsProp
#define xmlNewParserCtxt tpfw_libxml.xmlNewParserCtxt
#define xmlNodeListGetString tpfw_libxml.xmlNodeListGetString
#define xmlRelaxNGFree tpfw_libxml.xmlRelaxNGFree
#define xmlRelaxNGFreeParserCtxt tpfw_libxml.xmlRelaxNGFreeParserCtxt
#define xmlRelaxNGFreeValidCtxt tpfw_libxml.xmlRelaxNGFreeValidCtxt
#define xmlRelaxNGNewDocParserCtxt tpfw_libxml.xmlRelaxNGNewDocParserCtxt
#define xmlRelaxNGNewValidCtxt tpfw_libxml.xmlRelaxNGNewValidCtxt
#define xmlRelaxNGParse tpfw_libxml.xmlRelaxNGParse
#define xmlRelaxNGSetParserStructuredErrors tpfw_libxml.xmlRelaxNGSetParserStructuredErrors
#define xmlRelaxNGSetValidStructuredErrors tpfw_libxml.xmlRelaxNGSetValidStructuredErrors
#define xmlRelaxNGValidateDoc tpfw_libxml.xmlRelaxNGValidateDoc
#define xmlSetStructuredErrorFunc tpfw_libxml.xmlSetStructuredErrorFunc
#define xmlStopParser tpfw_libxml.xmlStopParser

#define dbus_bus_get_private tpfw_libdbus.dbus_bus_get_private
#define dbus_connection_close tpfw_libdbus.dbus_connection_close
#define dbus_connection_flush tpfw_libdbus.dbus_connection_flush
#define dbus_connection_send_with_reply tpfw_libdbus.dbus_connection_send_with_reply
#define dbus_connection_send_with_reply_and_block                                                  \
        tpfw_libdbus.dbus_connection_send_with_reply_and_block
#define dbus_connection_set_exit_on_disconnect tpfw_libdbus.dbus_connection_set_exit_on_disconnect
#define dbus_connection_unref tpfw_libdbus.dbus_connection_unref
#define dbus_error_free tpfw_libdbus.dbus_error_free
#define dbus_error_has_name tpfw_libdbus.dbus_error_has_name
#define dbus_message_append_args tpfw_libdbus.dbus_message_append_args
#define dbus_message_get_args tpfw_libdbus.dbus_message_get_args
#define dbus_message_get_type tpfw_libdbus.dbus_message_get_type
#define dbus_message_iter_abandon_container tpfw_libdbus.dbus_message_iter_abandon_container
#define dbus_message_iter_append_basic tpfw_libdbus.dbus_message_iter_append_basic
#define dbus_message_iter_close_container tpfw_libdbus.dbus_message_iter_close_container
#define dbus_message_iter_get_arg_type tpfw_libdbus.dbus_message_iter_get_arg_type
#define dbus_message_iter_get_basic tpfw_libdbus.dbus_message_iter_get_basic
#define dbus_message_iter_get_element_type tpfw_libdbus.dbus_message_iter_get_element_type
#define dbus_message_iter_init tpfw_libdbus.dbus_message_iter_init
#define dbus_message_iter_init_append tpfw_libdbus.dbus_message_iter_init_append
#define dbus_message_iter_next tpfw_libdbus.dbus_message_iter_next
#define dbus_message_iter_open_container tpfw_libdbus.dbus_message_iter_open_container
#define dbus_message_iter_recurse tpfw_libdbus.dbus_message_iter_recurse
#define dbus_message_new_method_call tpfw_libdbus.dbus_message_new_method_call
#define dbus_message_unref tpfw_libdbus.dbus_message_unref
#define dbus_pending_call_block tpfw_libdbus.dbus_pending_call_block
#define dbus_pending_call_cancel tpfw_libdbus.dbus_pending_call_cancel
#define dbus_pending_call_steal_reply tpfw_libdbus.dbus_pending_call_steal_reply
#define dbus_pending_call_unref tpfw_libdbus.dbus_pending_call_unref
#define dbus_set_error_from_message tpfw_libdbus.dbus_set_error_from_message

#define yaml_document_delete tpfw_libyaml.yaml_document_delete
#define yaml_document_get_node tpfw_libyaml.yaml_document_get_node
#define yaml_document_get_root_node tpfw_libyaml.yaml_document_get_root_node
#define yaml_parser_delete tpfw_libyaml.yaml_parser_delete
#define yaml_parser_initialize tpfw_libyaml.yaml_parser_initialize
#define yaml_parser_load tpfw_libyaml.yaml_parser_load
#define yaml_parser_set_input_string tpfw_libyaml.yaml_parser_set_input_string

/* libxml2: xmlFree is a variable, so wrap it once. */
static inline void tpfw_xml_free(void *p)
{
        if (p)
                xmlFree(p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)
#endif
