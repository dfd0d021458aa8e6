/* Protocol plumbing (protocol 2): JSON-lines loop, one-shot CLI, regions, canonical forms,
 * SHA-256 (OpenSSL libcrypto), dumps, JSON helpers (json-c). Nothing here knows netCDF. */
#define _GNU_SOURCE
#include "zc_common.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "this adapter assumes a little-endian host (canonical bytes are little-endian)"
#endif

#define PROTOCOL 2 /* 2: reads of a region (docs/protocol.md) */

static FILE *proto_out; /* the real stdout; fd 1 is redirected to stderr */

int zc_fail(zc_err *err, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

json_object *zc_get(json_object *obj, const char *key) {
    json_object *v = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object)) return NULL;
    if (!json_object_object_get_ex(obj, key, &v)) return NULL;
    return v; /* JSON null is a NULL json_object in json-c */
}

const char *zc_str(json_object *obj, const char *key) {
    json_object *v = zc_get(obj, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void zc_shortest_double(double d, char *buf, size_t n) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", n - strlen(buf) - 1); /* keep it a float in JSON: -0.0, 1.0 */
}

json_object *zc_json_double(double d) {
    if (isnan(d)) return json_object_new_string("NaN");
    if (isinf(d)) return json_object_new_string(d > 0 ? "Infinity" : "-Infinity");
    char buf[64];
    zc_shortest_double(d, buf, sizeof buf);
    return json_object_new_double_s(d, buf);
}

int zc_float_from_json(json_object *v, double *out) {
    if (!v) return -1;
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        if (!strcmp(s, "NaN")) *out = NAN;
        else if (!strcmp(s, "Infinity")) *out = INFINITY;
        else if (!strcmp(s, "-Infinity")) *out = -INFINITY;
        else return -1;
        return 0;
    }
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        *out = json_object_get_double(v);
        return 0;
    }
    return -1;
}

unsigned char *zc_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(buf); buf = NULL; }
            else buf = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); errno = EIO; return NULL; }
    *len = n;
    return buf;
}

json_object *zc_json_parse(const char *text, size_t len) {
    json_tokener *tok = json_tokener_new();
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    if (obj && e == json_tokener_success && json_tokener_get_parse_end(tok) < len) {
        /* trailing text: accept only whitespace */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
            if (!strchr(" \t\r\n", text[i])) { json_object_put(obj); obj = NULL; break; }
    }
    if (e != json_tokener_success && obj) { json_object_put(obj); obj = NULL; }
    json_tokener_free(tok);
    return obj;
}

/* json-c keeps integers beyond INT64_MAX as uint64: get_int64 then saturates. */
int zc_json_is_big_uint(json_object *v) {
    return json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX;
}

char *zc_base64(const unsigned char *data, size_t len) {
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

unsigned char *zc_unbase64(const char *text, size_t *len) {
    size_t n = strlen(text);
    if (n % 4) return NULL;
    unsigned char *out = malloc(3 * (n / 4) + 1);
    int got = n ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)n) : 0;
    if (got < 0) { free(out); return NULL; }
    size_t pad = 0; /* EVP_DecodeBlock counts padding as output bytes */
    if (n >= 1 && text[n - 1] == '=') pad++;
    if (n >= 2 && text[n - 2] == '=') pad++;
    *len = (size_t)got - pad;
    return out;
}

double zc_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void zc_put_u32le(unsigned char *p, uint32_t v) {
    p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = (v >> 24) & 0xff;
}

/* --- regions --------------------------------------------------------------------- */

int zc_parse_region(json_object *v, zc_region *out, zc_err *err) {
    out->ndims = 0;
    int ok = v && json_object_is_type(v, json_type_array) && json_object_array_length(v) <= ZC_MAXDIMS;
    for (size_t i = 0; ok && i < json_object_array_length(v); i++) {
        json_object *axis = json_object_array_get_idx(v, i);
        ok = json_object_is_type(axis, json_type_array) && json_object_array_length(axis) == 3;
        int64_t x[3] = {0, 0, 0};
        for (size_t k = 0; ok && k < 3; k++) {
            json_object *e = json_object_array_get_idx(axis, k);
            ok = json_object_is_type(e, json_type_int);
            if (ok) x[k] = json_object_get_int64(e); /* saturates beyond INT64_MAX: beyond every shape */
        }
        ok = ok && 0 <= x[0] && x[0] < x[1] && x[2] >= 1;
        if (ok) {
            out->start[i] = (size_t)x[0];
            out->stop[i] = (size_t)x[1];
            out->step[i] = (size_t)x[2];
            out->ndims = (int)i + 1;
        }
    }
    if (ok) return ZC_OK;
    return zc_fail(err, ZC_BADREQUEST, "a region is a list of at most %d [start, stop, step] with 0 <= start < stop "
                   "and step >= 1: %s", ZC_MAXDIMS, v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null");
}

int zc_check_region(const zc_region *r, int ndims, const size_t *shape, zc_err *err) {
    if (!r) return ZC_OK;
    int ok = r->ndims == ndims;
    for (int i = 0; ok && i < ndims; i++) ok = r->stop[i] <= shape[i];
    if (ok) return ZC_OK;
    char reg[2048] = "", shp[1024] = "";
    size_t n = 0, m = 0;
    for (int i = 0; i < r->ndims && n < sizeof reg; i++)
        n += (size_t)snprintf(reg + n, sizeof reg - n, "%s[%zu, %zu, %zu]", i ? ", " : "", r->start[i], r->stop[i], r->step[i]);
    for (int i = 0; i < ndims && m < sizeof shp; i++)
        m += (size_t)snprintf(shp + m, sizeof shp - m, "%s%zu", i ? ", " : "", shape[i]);
    return zc_fail(err, ZC_BADREQUEST, "region [%s] does not fit shape [%s]", reg, shp);
}

size_t zc_region_count(const zc_region *r, int axis) {
    return (r->stop[axis] - r->start[axis] - 1) / r->step[axis] + 1; /* start < stop */
}

/* --- canonical forms ------------------------------------------------------------ */

int zc_float_width(const char *dtype) {
    if (!strcmp(dtype, "float16")) return 2;
    if (!strcmp(dtype, "float32") || !strcmp(dtype, "complex64")) return 4;
    if (!strcmp(dtype, "float64") || !strcmp(dtype, "complex128")) return 8;
    return 0;
}

void zc_canonical_nan(unsigned char *data, size_t count, int width) {
    for (size_t i = 0; i < count; i++) {
        unsigned char *p = data + i * (size_t)width;
        if (width == 2) {
            uint16_t b; memcpy(&b, p, 2);
            if ((b & 0x7c00) == 0x7c00 && (b & 0x03ff)) { b = 0x7e00; memcpy(p, &b, 2); }
        } else if (width == 4) {
            float f; memcpy(&f, p, 4);
            if (isnan(f)) { uint32_t b = 0x7fc00000u; memcpy(p, &b, 4); }
        } else if (width == 8) {
            double f; memcpy(&f, p, 8);
            if (isnan(f)) { uint64_t b = 0x7ff8000000000000ull; memcpy(p, &b, 8); }
        }
    }
}

void zc_canonical_fixed(const char *dtype, unsigned char *data, size_t len) {
    int w = zc_float_width(dtype);
    if (w) zc_canonical_nan(data, len / (size_t)w, w);
}

unsigned char *zc_canonical_strings(char *const *strs, size_t n, size_t fixed, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += fixed ? fixed : 4 + (strs[i] ? strlen(strs[i]) : 0);
    unsigned char *out = calloc(total ? total : 1, 1), *q = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = strs[i] ? strs[i] : "";
        size_t l = strlen(s);
        if (fixed) {
            memcpy(q, s, l < fixed ? l : fixed); /* the rest stays NUL */
            q += fixed;
        } else {
            zc_put_u32le(q, (uint32_t)l);
            memcpy(q + 4, s, l);
            q += 4 + l;
        }
    }
    *len = total;
    return out;
}

void zc_sha256_hex(const unsigned char *data, size_t len, char out[72]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (unsigned i = 0; i < mdlen && i < 32; i++) sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

json_object *zc_fill_json(const char *dtype, const void *value, size_t len) {
    if (!value) return NULL;
    const unsigned char *p = value;
    if (dtype[0] == 'S') {
        while (len > 0 && p[len - 1] == 0) len--; /* trailing NULs are padding */
        char *b64 = zc_base64(p, len);
        json_object *o = json_object_new_string(b64);
        free(b64);
        return o;
    }
    if (!strcmp(dtype, "string")) return json_object_new_string_len((const char *)p, (int)len);
    if (!strcmp(dtype, "float32")) { float f; memcpy(&f, p, 4); return zc_json_double(f); }
    if (!strcmp(dtype, "float64")) { double d; memcpy(&d, p, 8); return zc_json_double(d); }
    if (!strcmp(dtype, "uint64")) { uint64_t u; memcpy(&u, p, 8); return json_object_new_uint64(u); }
    static const struct { const char *name; int size, is_signed; } INTS[] = {
        {"int8", 1, 1}, {"uint8", 1, 0}, {"int16", 2, 1}, {"uint16", 2, 0},
        {"int32", 4, 1}, {"uint32", 4, 0}, {"int64", 8, 1},
    };
    for (size_t i = 0; i < sizeof INTS / sizeof *INTS; i++) {
        if (strcmp(dtype, INTS[i].name)) continue;
        uint64_t u = 0;
        memcpy(&u, p, (size_t)INTS[i].size); /* little-endian: the low bytes */
        int bits = 8 * INTS[i].size;
        int64_t x = (int64_t)u;
        if (INTS[i].is_signed && bits < 64 && (u >> (bits - 1)) & 1) x = (int64_t)(u | (~0ull << bits));
        return json_object_new_int64(x);
    }
    return NULL;
}

int zc_fill_from_json(json_object *v, const char *dtype, unsigned char *out, size_t cap, size_t *len) {
    if (!v) return 1;
    if (dtype[0] == 'S') {
        if (!json_object_is_type(v, json_type_string)) return -1;
        size_t n = 0;
        unsigned char *raw = zc_unbase64(json_object_get_string(v), &n);
        if (!raw) return -1;
        while (n > 0 && raw[n - 1] == 0) n--; /* trailing NULs are padding */
        int ok = n <= cap;
        if (ok) memcpy(out, raw, n);
        free(raw);
        *len = n;
        return ok ? 0 : -1;
    }
    if (!strcmp(dtype, "string")) {
        if (!json_object_is_type(v, json_type_string)) return -1;
        size_t n = (size_t)json_object_get_string_len(v);
        if (n > cap) return -1;
        memcpy(out, json_object_get_string(v), n);
        *len = n;
        return 0;
    }
    if (!strcmp(dtype, "float32") || !strcmp(dtype, "float64")) {
        double d;
        if (zc_float_from_json(v, &d)) return -1;
        *len = dtype[5] == '3' ? 4 : 8;
        if (cap < *len) return -1;
        if (*len == 4) { float f = (float)d; memcpy(out, &f, 4); }
        else memcpy(out, &d, 8);
        return 0;
    }
    size_t size = !strcmp(dtype, "int8") || !strcmp(dtype, "uint8") ? 1
                  : !strcmp(dtype, "int16") || !strcmp(dtype, "uint16") ? 2
                  : !strcmp(dtype, "int32") || !strcmp(dtype, "uint32") ? 4
                  : !strcmp(dtype, "int64") || !strcmp(dtype, "uint64") ? 8 : 0;
    if (!size || size > cap || !json_object_is_type(v, json_type_int)) return -1;
    uint64_t u = zc_json_is_big_uint(v) ? json_object_get_uint64(v) : (uint64_t)json_object_get_int64(v);
    memcpy(out, &u, size); /* little-endian: the low bytes are the value */
    *len = size;
    return 0;
}

static char crash_context[1024];

void zc_set_context(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(crash_context, sizeof crash_context, fmt, ap);
    va_end(ap);
}

static void on_crash(int sig) {
    /* async-signal-safe: write(2) only, then die of the same signal */
    static const char head[] = "zc-adapter: the process crashed (signal ";
    char num[8];
    int n = 0, s = sig;
    do { num[n++] = (char)('0' + s % 10); s /= 10; } while (s && n < 7);
    (void)!write(2, head, sizeof head - 1);
    while (n) (void)!write(2, &num[--n], 1);
    (void)!write(2, ") during ", 9);
    (void)!write(2, crash_context, strlen(crash_context));
    (void)!write(2, "\n", 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --- requests --------------------------------------------------------------- */

static json_object *hello(const zc_backend *b) {
    json_object *r = json_object_new_object();
    json_object_object_add(r, "ok", json_object_new_boolean(1));
    json_object_object_add(r, "impl", json_object_new_string(b->impl));
    json_object_object_add(r, "version", json_object_new_string(b->version()));
    json_object_object_add(r, "language", json_object_new_string(b->language));
    json_object *verbs = json_object_new_array();
    json_object_array_add(verbs, json_object_new_string("read"));
    json_object_array_add(verbs, json_object_new_string("write"));
    json_object_object_add(r, "verbs", verbs);
    json_object_object_add(r, "protocol", json_object_new_int(PROTOCOL));
    json_object_object_add(r, "components", b->components());
    return r;
}

static json_object *status_resp(json_object *id, const zc_err *err) {
    json_object *r = json_object_new_object();
    json_object_object_add(r, "id", id ? json_object_get(id) : NULL);
    static const char *names[] = {"ok", "error", "unsupported", "error"};
    json_object_object_add(r, "status", json_object_new_string(names[err->status]));
    if (err->status != ZC_OK) {
        if (err->status == ZC_BADREQUEST) {
            char buf[4200];
            snprintf(buf, sizeof buf, "BadRequest: %s", err->msg);
            json_object_object_add(r, "error", json_object_new_string(buf));
        } else {
            json_object_object_add(r, "error", json_object_new_string(err->msg));
        }
    }
    return r;
}

static json_object *do_read(const zc_backend *b, json_object *req, zc_err *err) {
    json_object *target = zc_get(req, "target");
    const char *path = zc_str(req, "path");
    const char *format = zc_str(req, "format");
    const char *dump = zc_str(req, "dump");
    zc_region region;
    json_object *rv = zc_get(req, "region");
    if (rv && zc_parse_region(rv, &region, err) != ZC_OK) return NULL;
    zc_read_result res;
    memset(&res, 0, sizeof res);
    if (b->read(target, path ? path : "", format, rv ? &region : NULL, &res, err) != ZC_OK) {
        free(res.canon);
        json_object_put(res.fill);
        json_object_put(res.attributes);
        return NULL;
    }
    char hex[72];
    zc_sha256_hex(res.canon, res.canon_len, hex);
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(res.canon, 1, res.canon_len, f) != res.canon_len || fclose(f) != 0) {
            zc_fail(err, ZC_ERROR, "OSError: cannot write dump %s: %s", dump, strerror(errno));
            free(res.canon); json_object_put(res.fill); json_object_put(res.attributes);
            return NULL;
        }
    }
    json_object *r = json_object_new_object();
    json_object_object_add(r, "status", json_object_new_string("ok"));
    json_object *shape = json_object_new_array();
    for (int i = 0; i < res.ndims; i++) json_object_array_add(shape, json_object_new_int64((int64_t)res.shape[i]));
    json_object_object_add(r, "shape", shape);
    json_object_object_add(r, "dtype", json_object_new_string(res.dtype));
    json_object_object_add(r, "hash", json_object_new_string(hex));
    json_object_object_add(r, "fill_value", res.fill);
    json_object_object_add(r, "attributes", res.attributes ? res.attributes : json_object_new_object());
    char ms[32];
    snprintf(ms, sizeof ms, "%.3f", res.elapsed_ms);
    json_object_object_add(r, "elapsed_ms", json_object_new_double_s(res.elapsed_ms, ms));
    free(res.canon);
    return r;
}

static json_object *handle(const zc_backend *b, json_object *req) {
    const char *op = zc_str(req, "op");
    json_object *id = zc_get(req, "id");
    zc_err err = {ZC_OK, ""};
    if (op && !strcmp(op, "hello")) return hello(b);
    if (!op || (strcmp(op, "read") && strcmp(op, "write"))) {
        const char *shown = op ? op : json_object_to_json_string(zc_get(req, "op"));
        zc_fail(&err, ZC_BADREQUEST, "unknown op %s", shown);
        return status_resp(id, &err);
    }
    if (!strcmp(op, "write")) {
        json_object *kase = zc_get(req, "case"), *target = zc_get(req, "target");
        const char *data = zc_str(req, "data");
        if (!kase || !target || !data) {
            zc_fail(&err, ZC_BADREQUEST, "missing%s%s%s", kase ? "" : " case", data ? "" : " data",
                    target ? "" : " target");
            return status_resp(id, &err);
        }
        if (!json_object_is_type(kase, json_type_object) || !json_object_is_type(target, json_type_object)) {
            zc_fail(&err, ZC_BADREQUEST, "case and target are JSON objects");
            return status_resp(id, &err);
        }
        b->write(kase, data, target, &err);
        return status_resp(id, &err);
    }
    json_object *target = zc_get(req, "target");
    if (!target || !json_object_is_type(target, json_type_object)) {
        zc_fail(&err, ZC_BADREQUEST, "missing target");
        return status_resp(id, &err);
    }
    json_object *r = do_read(b, req, &err);
    if (!r) return status_resp(id, &err);
    json_object_object_add(r, "id", id ? json_object_get(id) : NULL);
    return r;
}

static void emit(json_object *resp, int flags) {
    fputs(json_object_to_json_string_ext(resp, flags | JSON_C_TO_STRING_NOSLASHESCAPE), proto_out);
    fputc('\n', proto_out);
    fflush(proto_out);
}

static int serve(const zc_backend *b) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && strchr(" \t\r\n", line[n - 1])) line[--n] = 0;
        if (n == 0) continue;
        json_object *req = zc_json_parse(line, (size_t)n);
        json_object *resp;
        if (!req || !json_object_is_type(req, json_type_object)) {
            zc_err err;
            zc_fail(&err, ZC_BADREQUEST, req ? "a request is a JSON object" : "invalid JSON");
            resp = status_resp(NULL, &err);
        } else {
            const char *op = zc_str(req, "op");
            if (op && !strcmp(op, "bye")) { json_object_put(req); break; }
            resp = handle(b, req);
        }
        emit(resp, JSON_C_TO_STRING_PLAIN);
        json_object_put(resp);
        json_object_put(req);
    }
    free(line);
    return 0;
}

static json_object *arg_json(const char *text) {
    if (text[0] == '@') {
        size_t len;
        unsigned char *buf = zc_read_file(text + 1, &len);
        if (!buf) { fprintf(stderr, "cannot read %s: %s\n", text + 1, strerror(errno)); exit(2); }
        json_object *o = zc_json_parse((char *)buf, len);
        free(buf);
        if (!o) { fprintf(stderr, "%s is not JSON\n", text + 1); exit(2); }
        return o;
    }
    json_object *o = zc_json_parse(text, strlen(text));
    if (!o) { fprintf(stderr, "not JSON: %s\n", text); exit(2); }
    return o;
}

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [serve]\n"
            "       %s hello\n"
            "       %s read --target-json J --path P --format F [--dump D] [--region-json R]\n"
            "       %s write --case-json J|@file --data F --target-json J\n",
            prog, prog, prog, prog);
    exit(2);
}

int zc_main(int argc, char **argv, const zc_backend *b) {
    /* Protocol output only on stdout: whatever the library prints goes to stderr. */
    int fd = dup(1);
    proto_out = fdopen(fd, "w");
    dup2(2, 1);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGFPE, on_crash);
    if (argc < 2 || !strcmp(argv[1], "serve")) return serve(b);

    const char *cmd = argv[1];
    const char *target = NULL, *path = "", *format = NULL, *dump = NULL, *kase = NULL, *data = NULL, *region = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage(argv[0]);
        if (!strcmp(a, "--target-json")) target = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--format")) format = v;
        else if (!strcmp(a, "--dump")) dump = v;
        else if (!strcmp(a, "--region-json")) region = v;
        else if (!strcmp(a, "--case-json")) kase = v;
        else if (!strcmp(a, "--data")) data = v;
        else usage(argv[0]);
        i++;
    }
    json_object *req = json_object_new_object();
    if (!strcmp(cmd, "hello")) {
        json_object_object_add(req, "op", json_object_new_string("hello"));
    } else if (!strcmp(cmd, "read")) {
        if (!target) usage(argv[0]);
        json_object_object_add(req, "op", json_object_new_string("read"));
        json_object_object_add(req, "id", json_object_new_string("cli"));
        json_object_object_add(req, "target", arg_json(target));
        json_object_object_add(req, "path", json_object_new_string(path));
        json_object_object_add(req, "format", format ? json_object_new_string(format) : NULL);
        json_object_object_add(req, "dump", dump ? json_object_new_string(dump) : NULL);
        json_object_object_add(req, "region", region ? arg_json(region) : NULL);
    } else if (!strcmp(cmd, "write")) {
        if (!target || !kase || !data) usage(argv[0]);
        json_object_object_add(req, "op", json_object_new_string("write"));
        json_object_object_add(req, "id", json_object_new_string("cli"));
        json_object_object_add(req, "case", arg_json(kase));
        json_object_object_add(req, "data", json_object_new_string(data));
        json_object_object_add(req, "target", arg_json(target));
    } else {
        usage(argv[0]);
    }
    json_object *resp = handle(b, req);
    emit(resp, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    const char *st = zc_str(resp, "status");
    int ok = zc_get(resp, "ok") != NULL || (st && !strcmp(st, "ok"));
    json_object_put(resp);
    json_object_put(req);
    return ok ? 0 : 1;
}
