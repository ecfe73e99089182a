/* SPDX-License-Identifier: MIT */
/* Loads libxml2 and libdbus-1 on first use (see lazy.h for why). */
#define TPFW_LAZY_IMPLEMENTATION
#include "lazy.h"

#include <dlfcn.h>
#include <errno.h>
#include <glib.h>

TpfwLibxml tpfw_libxml;
TpfwLibdbus tpfw_libdbus;
TpfwLibyaml tpfw_libyaml;

typedef struct Lazy {
        const char *soname;
        int (*resolve)(void *handle, const char **ret_missing);
        gsize state; /* 0 not tried, LOADED or FAILED (g_once_init_*) */
        char *error; /* why it failed, kept for every later caller */
} Lazy;

enum { LOADED = 1, FAILED = 2 };

#define TPFW_LAZY_RESOLVE(api, name)                                                               \
        api.name = (__typeof__(api.name))dlsym(handle, #name);                                     \
        if (!api.name) {                                                                           \
                *ret_missing = #name;                                                              \
                return -1;                                                                         \
        }
#define TPFW_LAZY_RESOLVE_XML(name) TPFW_LAZY_RESOLVE(tpfw_libxml, name)
#define TPFW_LAZY_RESOLVE_DBUS(name) TPFW_LAZY_RESOLVE(tpfw_libdbus, name)
#define TPFW_LAZY_RESOLVE_YAML(name) TPFW_LAZY_RESOLVE(tpfw_libyaml, name)

static int resolve_libxml(void *handle, const char **ret_missing)
{
        TPFW_LIBXML_SYMBOLS(TPFW_LAZY_RESOLVE_XML)
        return 0;
}

static int resolve_libdbus(void *handle, const char **ret_missing)
{
        TPFW_LIBDBUS_SYMBOLS(TPFW_LAZY_RESOLVE_DBUS)
        return 0;
}

static int resolve_libyaml(void *handle, const char **ret_missing)
{
        TPFW_LIBYAML_SYMBOLS(TPFW_LAZY_RESOLVE_YAML)
        return 0;
}

static Lazy libxml = {TPFW_LIBXML_SONAME, resolve_libxml, 0, NULL};
static Lazy libdbus = {TPFW_LIBDBUS_SONAME, resolve_libdbus, 0, NULL};
static Lazy libyaml = {TPFW_LIBYAML_SONAME, resolve_libyaml, 0, NULL};

static char *try_load(const Lazy *l)
{
        const char *missing = NULL;
        void *handle;

        /* never closed: the pointers stay valid for the life of the process */
        handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                const char *why = dlerror();

                return g_strdup(why ? why : "unknown error");
        }
        if (l->resolve(handle, &missing) < 0)
                return g_strdup_printf("%s has no symbol %s", l->soname, missing);
        return NULL;
}

static int lazy_load(Lazy *l, const char *what, TpfwDiag *diag)
{
        if (g_once_init_enter(&l->state)) {
                l->error = try_load(l);
                g_once_init_leave(&l->state, l->error ? FAILED : LOADED);
        }
        if (l->state == LOADED)
                return 0;
        return tpfw_diag_set(diag, ELIBACC, NULL, 0, "cannot load %s, needed for %s: %s", l->soname,
                             what, l->error);
}

int tpfw_lazy_libxml(const char *what, TpfwDiag *diag)
{
        return lazy_load(&libxml, what, diag);
}

int tpfw_lazy_libdbus(const char *what, TpfwDiag *diag)
{
        return lazy_load(&libdbus, what, diag);
}

int tpfw_lazy_libyaml(const char *what, TpfwDiag *diag)
{
        return lazy_load(&libyaml, what, diag);
}
