/* The canonical code of zc_common.c on the committed vectors (canonical/vectors/vectors.json):
 * arrays in the forms nc_get_var and nc_get_var_string give them (little-endian element bytes;
 * C strings for S<n> and `string`), hashes, and fill values both ways (zc_fill_json as the
 * adapter writes it, zc_fill_from_json as its writer decodes a case's). Vectors of dtypes the
 * adapter has not (bool, float16, complex, U<n>) and strings a C string cannot hold (an
 * embedded NUL) are skipped.
 *
 *     build/zc-canonical-test VECTORS.json [REPORT]      (`make test`)
 *
 * One line per vector ("ok|skip|FAIL array|fill NAME[: why]") to REPORT or stdout; the exit
 * status is 1 when a vector failed. Also the region code (zc_parse_region, zc_check_region,
 * zc_region_count) on requests' regions, good and malformed: a line per region on stderr. */
#define _GNU_SOURCE
#include "zc_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static int failed;

static const char *HAS[] = {"int8", "uint8", "int16", "uint16", "int32", "uint32",
                            "int64", "uint64", "float32", "float64", "string"};

static int adapter_has(const char *dtype) {
    if (dtype[0] == 'S') return 1;
    for (size_t i = 0; i < sizeof HAS / sizeof *HAS; i++)
        if (!strcmp(HAS[i], dtype)) return 1;
    return 0;
}

static unsigned char *unhex(const char *h, size_t *n) {
    size_t l = strlen(h) / 2;
    unsigned char *b = malloc(l ? l : 1);
    for (size_t i = 0; i < l; i++) sscanf(h + 2 * i, "%2hhx", &b[i]);
    *n = l;
    return b;
}

static char *tohex(const unsigned char *b, size_t n) {
    char *h = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) sprintf(h + 2 * i, "%02x", b[i]);
    h[2 * n] = 0;
    return h;
}

static void line(const char *status, const char *kind, const char *name, const char *why) {
    fprintf(out, "%s %s %s%s%s\n", status, kind, name, why ? ": " : "", why ? why : "");
    if (!strcmp(status, "FAIL")) failed++;
}

/* A C string holds bytes up to the first NUL: 1 when the rest of `b` is NUL padding. */
static int c_string_holds(const unsigned char *b, size_t n) {
    size_t i = 0;
    while (i < n && b[i]) i++;
    while (i < n && !b[i]) i++;
    return i == n;
}

static int fixed_size(const char *dtype) {
    if (dtype[0] == 'S') return atoi(dtype + 1);
    if (strstr(dtype, "int8")) return 1;
    if (strstr(dtype, "16")) return 2;
    if (strstr(dtype, "32")) return 4;
    return 8;
}

static void array(json_object *v) {
    const char *name = zc_str(v, "name"), *dtype = zc_str(v, "dtype");
    if (!adapter_has(dtype)) return line("skip", "array", name, "the netcdf-c adapter has no such dtype");
    json_object *input = zc_get(v, "input"), *shape = zc_get(v, "shape");
    size_t nelem = 1;
    for (size_t i = 0; i < json_object_array_length(shape); i++)
        nelem *= (size_t)json_object_get_int64(json_object_array_get_idx(shape, i));
    unsigned char *got = NULL;
    size_t got_len = 0;
    char why[256] = "";
    if (dtype[0] == 'S' || !strcmp(dtype, "string")) {
        /* nc_get_var_string's form: one C string per element */
        char **strs = calloc(nelem ? nelem : 1, sizeof *strs);
        size_t fixed = dtype[0] == 'S' ? (size_t)atoi(dtype + 1) : 0;
        size_t raw_len = 0;
        unsigned char *raw = fixed ? unhex(zc_str(input, "hex"), &raw_len) : NULL;
        for (size_t i = 0; i < nelem && !*why; i++) {
            if (fixed) {
                if (!c_string_holds(raw + i * fixed, fixed)) snprintf(why, sizeof why, "an embedded NUL: netCDF strings are C strings");
                strs[i] = strndup((const char *)raw + i * fixed, fixed);
            } else {
                json_object *s = json_object_array_get_idx(zc_get(input, "values"), i);
                if (strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s))
                    snprintf(why, sizeof why, "an embedded NUL: netCDF strings are C strings");
                strs[i] = strdup(json_object_get_string(s));
            }
        }
        if (!*why) got = zc_canonical_strings(strs, nelem, fixed, &got_len);
        for (size_t i = 0; i < nelem; i++) free(strs[i]);
        free(strs);
        free(raw);
        if (*why) return line("skip", "array", name, why);
    } else {
        /* nc_get_var's form: the element bytes, then made canonical in place */
        got = unhex(zc_str(input, "hex"), &got_len);
        zc_canonical_fixed(dtype, got, got_len);
    }
    char *hex = tohex(got, got_len), hash[72];
    zc_sha256_hex(got, got_len, hash);
    if (strcmp(hex, zc_str(v, "canonical"))) snprintf(why, sizeof why, "canonical bytes %.180s", hex);
    else if (strcmp(hash, zc_str(v, "hash"))) snprintf(why, sizeof why, "hash %s", hash);
    line(*why ? "FAIL" : "ok", "array", name, *why ? why : NULL);
    free(hex);
    free(got);
}

/* Equal as protocol JSON: floats by value with the sign of zero, integers exactly. */
static int same_json(json_object *got, json_object *want, int floats) {
    if (!want || !got) return !want && !got;
    json_type tw = json_object_get_type(want), tg = json_object_get_type(got);
    if (tw == json_type_array) {
        if (tg != json_type_array || json_object_array_length(got) != json_object_array_length(want)) return 0;
        for (size_t i = 0; i < json_object_array_length(want); i++)
            if (!same_json(json_object_array_get_idx(got, i), json_object_array_get_idx(want, i), floats)) return 0;
        return 1;
    }
    if (tw == json_type_string)
        return tg == json_type_string && json_object_get_string_len(got) == json_object_get_string_len(want) &&
               !memcmp(json_object_get_string(got), json_object_get_string(want), (size_t)json_object_get_string_len(want));
    if (tw == json_type_boolean) return tg == json_type_boolean && json_object_get_boolean(got) == json_object_get_boolean(want);
    if (floats) {
        if (tg != json_type_double && tg != json_type_int) return 0;
        double a = json_object_get_double(got), b = json_object_get_double(want);
        return a == b && signbit(a) == signbit(b);
    }
    if (tg != json_type_int || tw != json_type_int) return 0;
    if (zc_json_is_big_uint(want) || zc_json_is_big_uint(got))
        return zc_json_is_big_uint(got) && json_object_get_uint64(got) == json_object_get_uint64(want);
    return json_object_get_int64(got) == json_object_get_int64(want);
}

static int is_nan_bits(const unsigned char *b, int width) {
    if (width == 4) { float f; memcpy(&f, b, 4); return isnan(f); }
    double d; memcpy(&d, b, 8); return isnan(d);
}

static void fill(json_object *v) {
    const char *name = zc_str(v, "name"), *dtype = zc_str(v, "dtype");
    if (!adapter_has(dtype)) return line("skip", "fill", name, "the netcdf-c adapter has no such dtype");
    int decode_only = json_object_get_boolean(zc_get(v, "decode_only"));
    /* A decode-only spelling: the value it decodes to is written as canonical_json. */
    json_object *value = zc_get(v, decode_only ? "decoded" : "value");
    json_object *want = zc_get(v, decode_only ? "canonical_json" : "json");
    char why[512] = "";
    /* the fill value as netcdf-c gives it: element bytes, or a C string (S<n>, string) */
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (value && zc_get(value, "text")) {
        json_object *t = zc_get(value, "text");
        raw_len = (size_t)json_object_get_string_len(t);
        raw = (unsigned char *)strndup(json_object_get_string(t), raw_len);
        if (strlen((char *)raw) != raw_len) snprintf(why, sizeof why, "an embedded NUL: netCDF strings are C strings");
    } else if (value) {
        raw = unhex(zc_str(value, "hex"), &raw_len);
        if (dtype[0] == 'S') {
            if (!c_string_holds(raw, raw_len)) snprintf(why, sizeof why, "an embedded NUL: netCDF strings are C strings");
            raw_len = strnlen((char *)raw, raw_len);
        }
    }
    if (*why) {
        free(raw);
        return line("skip", "fill", name, why);
    }
    int floats = !strcmp(dtype, "float32") || !strcmp(dtype, "float64");
    json_object *got = zc_fill_json(dtype, raw, raw_len);
    /* as the adapter writes responses, read back */
    const char *text = got ? json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "null";
    char *line_text = malloc(strlen(text) + 2);
    sprintf(line_text, "%s\n", text); /* a response line: a bare number needs its end */
    json_object *back = zc_json_parse(line_text, strlen(line_text));
    free(line_text);
    if (!same_json(back, want, floats))
        snprintf(why, sizeof why, "zc_fill_json wrote %s, expected %s", text, want ? json_object_to_json_string(want) : "null");
    json_object_put(back);
    json_object_put(got);
    free(raw);
    if (!*why) {
        json_object *decoded = zc_get(v, "decoded");
        unsigned char buf[256];
        size_t len = 0;
        int rc = zc_fill_from_json(zc_get(v, "json"), dtype, buf, sizeof buf, &len);
        if (!decoded) {
            if (rc != 1) snprintf(why, sizeof why, "JSON null did not decode as no fill value (%d)", rc);
        } else if (rc) {
            snprintf(why, sizeof why, "zc_fill_from_json refused it (%d)", rc);
        } else {
            size_t wn = 0;
            unsigned char *w = zc_get(decoded, "text")
                ? (unsigned char *)strdup(json_object_get_string(zc_get(decoded, "text")))
                : unhex(zc_str(decoded, "hex"), &wn);
            if (zc_get(decoded, "text")) wn = (size_t)json_object_get_string_len(zc_get(decoded, "text"));
            int ok;
            if (dtype[0] == 'S') {
                unsigned char padded[256] = {0};
                memcpy(padded, buf, len);
                ok = len <= wn && !memcmp(padded, w, wn); /* NUL-padded to n */
            } else if (floats) {
                int width = fixed_size(dtype);
                ok = len == wn && (is_nan_bits(w, width) ? is_nan_bits(buf, width) : !memcmp(buf, w, wn));
            } else {
                ok = len == wn && !memcmp(buf, w, wn);
            }
            if (!ok) {
                char *h = tohex(buf, len);
                snprintf(why, sizeof why, "decoded to %s", h);
                free(h);
            }
            free(w);
        }
    }
    line(*why ? "FAIL" : "ok", "fill", name, *why ? why : NULL);
}

/* A request's region: parsed (or refused as malformed), checked against a shape (or refused as
 * not fitting), and the counts of what it selects. */
static const struct {
    const char *json;
    int ndims;
    size_t shape[3];
    const char *want; /* "parse": malformed, "fit": does not fit the shape, else the counts */
} REGIONS[] = {
    {"[[3, 17, 1], [5, 29, 4]]", 2, {20, 30}, "14 6"},
    {"[[0, 20, 7], [29, 30, 1]]", 2, {20, 30}, "3 1"},
    {"[[19, 20, 3]]", 1, {20}, "1"},
    {"[[0, 5, 5], [0, 6, 5], [1, 2, 9]]", 3, {5, 6, 2}, "1 2 1"},
    {"[]", 0, {0}, ""},
    {"[[0, 21, 1]]", 1, {20}, "fit"},
    {"[[0, 1, 1], [0, 1, 1]]", 1, {20}, "fit"},
    {"[[0, 1, 1]]", 2, {20, 30}, "fit"},
    {"[[0, 1]]", 1, {20}, "parse"},
    {"[[0, 1, 1, 1]]", 1, {20}, "parse"},
    {"[[1, 1, 1]]", 1, {20}, "parse"},
    {"[[2, 1, 1]]", 1, {20}, "parse"},
    {"[[0, 2, 0]]", 1, {20}, "parse"},
    {"[[-1, 2, 1]]", 1, {20}, "parse"},
    {"[[0, 2.0, 1]]", 1, {20}, "parse"},
    {"[[true, 2, 1]]", 1, {20}, "parse"},
    {"[[0, \"2\", 1]]", 1, {20}, "parse"},
    {"[0, 2, 1]", 1, {20}, "parse"},
    {"{\"start\": 0}", 1, {20}, "parse"},
    {"\"0:2\"", 1, {20}, "parse"},
};

static void regions(void) {
    int bad = 0;
    for (size_t i = 0; i < sizeof REGIONS / sizeof *REGIONS; i++) {
        json_object *v = zc_json_parse(REGIONS[i].json, strlen(REGIONS[i].json));
        zc_region r;
        zc_err err = {ZC_OK, ""};
        char got[256] = "";
        if (zc_parse_region(v, &r, &err) != ZC_OK) snprintf(got, sizeof got, "parse");
        else if (zc_check_region(&r, REGIONS[i].ndims, REGIONS[i].shape, &err) != ZC_OK) snprintf(got, sizeof got, "fit");
        else
            for (int a = 0; a < r.ndims; a++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", a ? " " : "", zc_region_count(&r, a));
        int ok = !strcmp(got, REGIONS[i].want) && (err.status == ZC_OK || (err.status == ZC_BADREQUEST && err.msg[0]));
        fprintf(stderr, "%s region %s: %s%s%s\n", ok ? "ok" : "FAIL", REGIONS[i].json, got, err.msg[0] ? " | " : "",
                err.msg);
        bad += !ok;
        json_object_put(v);
    }
    failed += bad;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTORS.json [REPORT]\n", argv[0]);
        return 2;
    }
    size_t len;
    unsigned char *text = zc_read_file(argv[1], &len);
    json_object *doc = text ? zc_json_parse((char *)text, len) : NULL;
    if (!doc) {
        fprintf(stderr, "cannot read the vectors %s\n", argv[1]);
        return 2;
    }
    out = argc > 2 ? fopen(argv[2], "w") : stdout;
    if (!out) {
        perror(argv[2]);
        return 2;
    }
    json_object *arrays = zc_get(doc, "arrays"), *fills = zc_get(doc, "fill_values");
    for (size_t i = 0; i < json_object_array_length(arrays); i++) array(json_object_array_get_idx(arrays, i));
    for (size_t i = 0; i < json_object_array_length(fills); i++) fill(json_object_array_get_idx(fills, i));
    regions();
    fclose(out);
    json_object_put(doc);
    free(text);
    return failed ? 1 : 0;
}
