/* Protocol plumbing for the netcdf-c adapter (protocol 2: reads of a region): the
 * JSON-lines loop, the one-shot CLI, regions, the canonical forms, hashing and dumps. The library part lives in
 * zc_netcdf.c. See docs/protocol.md; the canonical code is tested on
 * canonical/vectors by test_canonical.c (`make test`). */
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

#define ZC_MAXDIMS 64

/* A read's region: one start:stop:step (a Python slice, stop exclusive) per axis, in the
 * protocol's view of the array. */
typedef struct {
    int ndims;
    size_t start[ZC_MAXDIMS], stop[ZC_MAXDIMS], step[ZC_MAXDIMS];
} zc_region;

/* The request's "region" (NULL: absent or null, the whole array) into *out; ZC_BADREQUEST
 * (err set) when it is no list of [start, stop, step] with 0 <= start < stop and step >= 1. */
int zc_parse_region(json_object *v, zc_region *out, zc_err *err);
/* ZC_BADREQUEST when the region has not one slice per axis of `shape` or goes beyond it
 * (a backend calls it once the array is open); ZC_OK for NULL (the whole array). */
int zc_check_region(const zc_region *r, int ndims, const size_t *shape, zc_err *err);
/* Elements the region selects along `axis`: ceil((stop - start) / step). */
size_t zc_region_count(const zc_region *r, int axis);

/* An array (or the region of it) as read: canonical bytes plus what the response reports. */
typedef struct {
    int ndims;
    size_t shape[ZC_MAXDIMS]; /* of what was read: the region's when there is one */
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
    /* region NULL: the whole array; else only the region, through the library's own selection */
    int (*read)(json_object *target, const char *path, const char *format, const zc_region *region,
                zc_read_result *res, zc_err *err);
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
int zc_json_is_big_uint(json_object *v);                       /* an integer beyond INT64_MAX */
char *zc_base64(const unsigned char *data, size_t len);        /* malloc'd */
unsigned char *zc_unbase64(const char *text, size_t *len);     /* malloc'd; NULL if invalid */
double zc_now_ms(void);

/* What the library is doing, for the message printed to stderr when it crashes
 * (the crash itself is left to happen: the harness records it as such). */
void zc_set_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void zc_put_u32le(unsigned char *p, uint32_t v);

/* --- canonical forms (docs/protocol.md), by canonical dtype name ---------- */

/* Width of the float parts of a float/complex dtype, 0 for any other dtype. */
int zc_float_width(const char *dtype);
/* Every NaN of `count` little-endian floats of `width` bytes becomes the canonical quiet NaN. */
void zc_canonical_nan(unsigned char *data, size_t count, int width);
/* Fixed-size elements of `dtype` (`len` bytes, little-endian) made canonical in place. */
void zc_canonical_fixed(const char *dtype, unsigned char *data, size_t len);
/* Canonical bytes of n C strings (NULL is ""): S<fixed> elements cut or NUL-padded to
 * `fixed` bytes, or (fixed == 0) `string` elements, each a 4-byte little-endian length
 * then the bytes. malloc'd; *len gets the size. */
unsigned char *zc_canonical_strings(char *const *strs, size_t n, size_t fixed, size_t *len);
/* "sha256:" and the hex SHA-256 of `len` bytes. */
void zc_sha256_hex(const unsigned char *data, size_t len, char out[72]);
/* The protocol's JSON form of a fill value: the element bytes of a numeric dtype (int8..
 * uint64, float32, float64), the `len` bytes of an S<n> (base64 without the trailing NULs)
 * or the UTF-8 text of a `string`. NULL (JSON null) when value is NULL, the format's "no fill
 * value", and for a dtype this adapter has not. Also the JSON of numeric attributes. */
json_object *zc_fill_json(const char *dtype, const void *value, size_t len);
/* The fill value of JSON `v` for a writer: numeric element bytes, S<n> bytes without the
 * trailing NULs, `string` UTF-8 bytes; at most `cap` bytes into `out`, their count into *len.
 * 0 on success, 1 for JSON null (no fill value), -1 for JSON that is no fill value of dtype. */
int zc_fill_from_json(json_object *v, const char *dtype, unsigned char *out, size_t cap, size_t *len);

#endif
