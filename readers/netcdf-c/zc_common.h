/* Protocol v1 plumbing for the netcdf-c adapter: the JSON-lines loop, the
 * one-shot CLI, hashing and dumps. The library part lives in zc_netcdf.c.
 * See docs/protocol.md; canonical forms follow readers/python/zc_adapter/canonical.py. */
#ifndef ZC_COMMON_H
#define ZC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum { ZC_OK = 0, ZC_ERROR = 1, ZC_UNSUPPORTED = 2, ZC_BADREQUEST = 3 };

/* Outcome of a request that did not succeed: status and "Type: message" text. */
typedef struct {
    int status;
    char msg[4096];
} zc_err;

/* Sets err and returns its status (so `return zc_fail(...)` reads naturally). */
int zc_fail(zc_err *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A whole array as read: canonical bytes plus what the response reports. */
typedef struct {
    int ndims;
    size_t shape[64];
    char dtype[32];          /* canonical dtype name */
    unsigned char *canon;    /* canonical bytes (malloc'd) */
    size_t canon_len;
    json_object *fill;       /* protocol JSON of the fill value (NULL means null) */
    json_object *attributes; /* object */
    double elapsed_ms;
} zc_read_result;

typedef struct {
    const char *impl;
    const char *language;
    const char *(*version)(void);
    json_object *(*components)(void);
    int (*write)(json_object *kase, const char *data_path, json_object *target, zc_err *err);
    int (*read)(json_object *target, const char *path, const char *format, zc_read_result *res, zc_err *err);
} zc_backend;

int zc_main(int argc, char **argv, const zc_backend *backend);

/* --- helpers shared with the backend ------------------------------------ */
const char *zc_str(json_object *obj, const char *key);         /* NULL if absent or not a string */
json_object *zc_get(json_object *obj, const char *key);        /* NULL if absent or JSON null */
json_object *zc_json_double(double d);                         /* number, or "NaN"/"Infinity"/"-Infinity" */
int zc_float_from_json(json_object *v, double *out);           /* number or those strings; 0 on success */
void zc_shortest_double(double d, char *buf, size_t n);        /* shortest repr that round-trips */
unsigned char *zc_read_file(const char *path, size_t *len);    /* NULL on failure (errno set) */
json_object *zc_json_parse(const char *text, size_t len);      /* NULL on failure */
char *zc_base64(const unsigned char *data, size_t len);        /* malloc'd */
unsigned char *zc_unbase64(const char *text, size_t *len);     /* malloc'd; NULL if invalid */
double zc_now_ms(void);

/* What the library is doing, for the message printed to stderr when it crashes
 * (the crash itself is left to happen: the harness records it as such). */
void zc_set_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Canonical NaN handling: in-place on little-endian float data. */
void zc_canonical_nan(unsigned char *data, size_t count, int width);
void zc_put_u32le(unsigned char *p, uint32_t v);

#endif
