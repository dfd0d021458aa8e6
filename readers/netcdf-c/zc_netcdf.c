/* netcdf-c adapter (protocol 2): Zarr v2 through netcdf-c's NCZarr, in C.
 *
 * Built against Debian's libnetcdf-dev (4.9.0 on bookworm); the version answered
 * in hello is nc_inq_libvers() at run time. Datasets are opened with NCZarr URLs in
 * pure-Zarr mode, `file://<root>#mode=zarr,file` (S3: `<endpoint>/<bucket>/<key>#mode=zarr,s3`,
 * HTTP through the same S3 driver). The Python adapter for netCDF4-python
 * (readers/python/zc_adapter/backends/netcdf4.py) drives a newer netcdf-c from a
 * wheel; this one gives the Debian-packaged library, so the two show two
 * versions of one library side by side. What netcdf-c 4.9.0 does, verified here:
 *
 * - Zarr v2 only: zarr v3 and N5 answer `unsupported`.
 * - S3: Debian's build has no NCZarr S3 driver: nc_open of an S3 URL answers
 *   NC_ENOTBUILT, reported as `unsupported` with the library's text (probed at
 *   run time, so a build with S3 is used as such).
 * - Codecs: NCZarr takes every codec, zlib included, from plugin libraries in
 *   HDF5_PLUGIN_PATH, and Debian's libnetcdf19 ships none. nc_inq_filter_avail
 *   then answers NC_ENOFILTER; nc_def_var_deflate & co. are nevertheless accepted
 *   and the array is written with "compressor": null, so writes with a compressor
 *   or filter answer `unsupported` after that check. When reading, the library
 *   ignores a .zarray compressor it has no codec for and returns the compressed
 *   bytes as data (nc_inq_var_filter_ids lists no filter); this adapter reports
 *   what the library returns and never fixes data up.
 * - Writing (netCDF needs named dimensions): each array gets its own dimensions
 *   dim0, dim1, ... in its group, which netcdf-c records as _ARRAY_DIMENSIONS.
 *   Types (u)int8..64, float32, float64; S<n> as an NC_STRING variable with
 *   `_nczarr_maxstrlen` n, which netcdf-c 4.9.0 fails to write (nc_close answers
 *   NC_EINVAL; reported verbatim). No bool, float16, complex, U<n>, vlen strings.
 *   Order C only; a 0-d array is written as shape [1] (unsupported); chunks
 *   larger than the dimension are refused by nc_def_var_chunking (NC_EBADCHUNK).
 * - Fill value: nc_def_var_fill, then the "_FillValue" attribute netcdf-c copies
 *   into .zattrs is deleted (fill_value stays in .zarray).
 * - dimension_separator "/": netcdf-c takes it only from the .rc key
 *   ZARR.DIMENSION_SEPARATOR, read once when the library initialises, so such a
 *   write runs in a child process of this program whose NCRCENV_RC names an .rc
 *   file with ZARR.DIMENSION_SEPARATOR=/.
 * - Attributes: integers as NC_INT64/NC_UINT64, floats as NC_DOUBLE, JSON objects
 *   as their JSON text (netcdf-c 4.9.0 stores text that is a JSON object as that
 *   JSON), lists of integers / of numbers as typed vectors. Not expressible in
 *   4.9.0 (unsupported): booleans and null (no such netCDF types), lists of strings
 *   (NC_STRING attributes fail: nc_close answers "NetCDF: NCZarr error"), other
 *   lists (JSON text starting with '[' is stored as a string), empty strings
 *   (nc_close crashes with SIGSEGV), and strings that are themselves a JSON object.
 * - Root arrays (path ""): read as the root group's only variable, the way a netCDF user
 *   would look for it; netcdf-c 4.9.0 opens a dataset whose root is an array as an empty
 *   root group, which is answered `unsupported` with what the library presented. Writing
 *   one is unsupported (netCDF variables live in groups).
 * - Reading: attributes are all of the variable's netCDF attributes; text that is
 *   a JSON object or array is decoded back to JSON (netcdf-c's convention). The
 *   fill value comes from nc_inq_var_fill (null when the variable is not
 *   pre-filled). NC_STRING is reported as S<n> when `_nczarr_maxstrlen` n is known,
 *   else as `string`; NC_CHAR as S1.
 * - Regions: nc_get_vars with start, count and stride (netCDF's strided hyperslab, which
 *   NCZarr maps onto the chunks it touches); the whole array with nc_get_var.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netcdf.h>
#include <netcdf_filter.h>
#include <openssl/crypto.h>

#include "zc_common.h"

#define NO_V3 "netcdf-c %s (NCZarr) reads and writes Zarr v2 only"
#define NO_N5 "netCDF does not read or write N5"
#define MAXDIMS 32

static char libversion[64];

static const char *version(void) {
    if (!libversion[0]) {
        /* nc_inq_libvers() is "4.9.0 of Aug  7 2022 23:41:41 $": the version is its first word. */
        snprintf(libversion, sizeof libversion, "%s", nc_inq_libvers());
        libversion[strcspn(libversion, " ")] = 0;
    }
    return libversion;
}

static int nc_error(zc_err *err, int status, const char *what) {
    return zc_fail(err, ZC_ERROR, "NetCDFError: %s (%s, status %d)", nc_strerror(status), what, status);
}

/* --- dtypes ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    nc_type type;
    int size;
    int is_float;
} dtinfo;

static const dtinfo DTYPES[] = {
    {"int8", NC_BYTE, 1, 0},    {"uint8", NC_UBYTE, 1, 0},   {"int16", NC_SHORT, 2, 0},
    {"uint16", NC_USHORT, 2, 0}, {"int32", NC_INT, 4, 0},     {"uint32", NC_UINT, 4, 0},
    {"int64", NC_INT64, 8, 0},   {"uint64", NC_UINT64, 8, 0}, {"float32", NC_FLOAT, 4, 1},
    {"float64", NC_DOUBLE, 8, 1},
};

static const dtinfo *dtype_by_name(const char *name) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof *DTYPES; i++)
        if (!strcmp(DTYPES[i].name, name)) return &DTYPES[i];
    return NULL;
}

static const dtinfo *dtype_by_type(nc_type t) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof *DTYPES; i++)
        if (DTYPES[i].type == t) return &DTYPES[i];
    return NULL;
}

/* --- probes: which NCZarr codecs and whether S3 are built ---------------------- */

typedef struct {
    unsigned id;
    const char *name;
} filter_name;

static const filter_name FILTERS[] = {
    {H5Z_FILTER_DEFLATE, "deflate"}, {H5Z_FILTER_SHUFFLE, "shuffle"}, {H5Z_FILTER_FLETCHER32, "fletcher32"},
    {H5Z_FILTER_SZIP, "szip"},       {H5Z_FILTER_BZIP2, "bzip2"},     {H5Z_FILTER_ZSTD, "zstd"},
    {H5Z_FILTER_BLOSC, "blosc"},
};
#define NFILTERS (sizeof FILTERS / sizeof *FILTERS)

static int probed;
static int filter_status[NFILTERS]; /* nc_inq_filter_avail's answer */
static int s3_status;               /* nc_open's answer for an S3 URL (NC_ENOTBUILT: no S3) */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void probe(void) {
    if (probed) return;
    probed = 1;
    char dir[] = "/tmp/zc-netcdf-c-XXXXXX";
    for (size_t i = 0; i < NFILTERS; i++) filter_status[i] = NC_ENOFILTER;
    if (mkdtemp(dir)) {
        char url[PATH_MAX + 64];
        snprintf(url, sizeof url, "file://%s/probe#mode=zarr,file", dir);
        int nc;
        if (nc_create(url, NC_CLOBBER | NC_NETCDF4, &nc) == NC_NOERR) {
            for (size_t i = 0; i < NFILTERS; i++) filter_status[i] = nc_inq_filter_avail(nc, FILTERS[i].id);
            nc_abort(nc);
        }
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
    /* A closed loopback port: nothing is contacted when S3 is not built. */
    int nc;
    s3_status = nc_open("http://127.0.0.1:1/zc-probe/x#mode=zarr,s3", NC_NOWRITE, &nc);
    if (s3_status == NC_NOERR) nc_close(nc);
}

static int filter_avail(unsigned id) {
    probe();
    for (size_t i = 0; i < NFILTERS; i++)
        if (FILTERS[i].id == id) return filter_status[i];
    return NC_ENOFILTER;
}

static json_object *components(void) {
    probe();
    json_object *c = json_object_new_object();
    json_object_object_add(c, "libvers", json_object_new_string(nc_inq_libvers()));
    char codecs[256] = "";
    for (size_t i = 0; i < NFILTERS; i++) {
        if (filter_status[i] != NC_NOERR) continue;
        if (codecs[0]) strcat(codecs, ",");
        strcat(codecs, FILTERS[i].name);
    }
    json_object_object_add(c, "nczarr-codecs", json_object_new_string(codecs[0] ? codecs : "none"));
    json_object_object_add(c, "nczarr-s3", json_object_new_string(s3_status == NC_ENOTBUILT ? "no" : "yes"));
    const char *pp = getenv("HDF5_PLUGIN_PATH");
    json_object_object_add(c, "hdf5_plugin_path", json_object_new_string(pp ? pp : ""));
    json_object_object_add(c, "json-c", json_object_new_string(json_c_version()));
    json_object_object_add(c, "openssl", json_object_new_string(OpenSSL_version(OPENSSL_VERSION)));
    return c;
}

/* --- attributes: JSON -> netCDF ---------------------------------------------------- */

static int is_json_object_text(const char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s != '{') return 0;
    json_object *o = zc_json_parse(s, strlen(s));
    int yes = o && json_object_is_type(o, json_type_object);
    json_object_put(o);
    return yes;
}

/* Writes one attribute, or (ncid < 0) only checks that it can be written. */
static int put_attr(int ncid, int varid, const char *name, json_object *v, zc_err *err) {
    int s = NC_NOERR;
    char what[300];
    snprintf(what, sizeof what, "attribute %s", name);
    switch (json_object_get_type(v)) {
    case json_type_null:
        return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: netCDF has no null attribute value", name);
    case json_type_boolean:
        return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: netCDF has no boolean attribute type", name);
    case json_type_string: {
        const char *text = json_object_get_string(v);
        size_t len = (size_t)json_object_get_string_len(v);
        if (len == 0)
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: netcdf-c %s crashes (SIGSEGV in nc_close) on an "
                           "empty text attribute in NCZarr (verified)", name, version());
        if (is_json_object_text(text))
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: netcdf-c stores text that is a JSON object as that "
                           "JSON, so this string cannot be written as a string", name);
        if (ncid >= 0) s = nc_put_att_text(ncid, varid, name, len, text);
        break;
    }
    case json_type_int:
        if (zc_json_is_big_uint(v)) {
            unsigned long long u = json_object_get_uint64(v);
            if (ncid >= 0) s = nc_put_att_ulonglong(ncid, varid, name, NC_UINT64, 1, &u);
        } else {
            long long i = json_object_get_int64(v);
            if (ncid >= 0) s = nc_put_att_longlong(ncid, varid, name, NC_INT64, 1, &i);
        }
        break;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (ncid >= 0) s = nc_put_att_double(ncid, varid, name, NC_DOUBLE, 1, &d);
        break;
    }
    case json_type_object: {
        const char *text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (ncid >= 0) s = nc_put_att_text(ncid, varid, name, strlen(text), text);
        break;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        int all_int = 1, all_num = 1, any_big = 0, any_neg = 0, any_unsafe = 0;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (json_object_is_type(e, json_type_int)) {
                if (zc_json_is_big_uint(e)) any_big = 1;
                else if (json_object_get_int64(e) < 0) any_neg = 1;
                if (zc_json_is_big_uint(e) || llabs(json_object_get_int64(e)) > (1LL << 53)) any_unsafe = 1;
            } else if (json_object_is_type(e, json_type_double)) {
                all_int = 0;
            } else {
                all_int = all_num = 0;
            }
        }
        if (n < 2)
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: a list of %zu elements has no netCDF form (an "
                           "attribute of one value is a scalar)", name, n);
        if (!all_num)
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: netCDF attributes are typed vectors of numbers or "
                           "strings; NC_STRING attributes fail in netcdf-c %s NCZarr (nc_close: NetCDF: NCZarr "
                           "error, verified) and list text is stored as a string", name, version());
        if (all_int && any_big && any_neg)
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: integers span int64 and uint64", name);
        if (!all_int && any_unsafe)
            return zc_fail(err, ZC_UNSUPPORTED, "attribute %s: mixed list with integers beyond 2^53", name);
        if (ncid < 0) break;
        if (all_int && any_big) {
            unsigned long long *u = malloc(n * sizeof *u);
            for (size_t i = 0; i < n; i++) u[i] = json_object_get_uint64(json_object_array_get_idx(v, i));
            s = nc_put_att_ulonglong(ncid, varid, name, NC_UINT64, n, u);
            free(u);
        } else if (all_int) {
            long long *l = malloc(n * sizeof *l);
            for (size_t i = 0; i < n; i++) l[i] = json_object_get_int64(json_object_array_get_idx(v, i));
            s = nc_put_att_longlong(ncid, varid, name, NC_INT64, n, l);
            free(l);
        } else {
            double *d = malloc(n * sizeof *d);
            for (size_t i = 0; i < n; i++) d[i] = json_object_get_double(json_object_array_get_idx(v, i));
            s = nc_put_att_double(ncid, varid, name, NC_DOUBLE, n, d);
            free(d);
        }
        break;
    }
    }
    if (s != NC_NOERR) return nc_error(err, s, what);
    return ZC_OK;
}

static int put_attrs(int ncid, int varid, json_object *attrs, zc_err *err) {
    if (!attrs) return ZC_OK;
    if (!json_object_is_type(attrs, json_type_object))
        return zc_fail(err, ZC_BADREQUEST, "attributes must be a JSON object");
    json_object_object_foreach(attrs, key, val) {
        if (put_attr(ncid, varid, key, val, err) != ZC_OK) return err->status;
    }
    return ZC_OK;
}

/* --- write --------------------------------------------------------------------- */

typedef struct {
    const dtinfo *dt;  /* numeric dtype, or NULL for S<n> */
    int strlen_n;      /* n of S<n> */
    int ndims;
    size_t shape[MAXDIMS], chunks[MAXDIMS];
    size_t nelem;
    size_t itemsize;   /* canonical item size */
    /* compression */
    int shuffle;
    unsigned comp_id;  /* 0: none */
    int level;
    unsigned blosc_sub, blosc_blocksize, blosc_shuffle;
} plan;

static int json_sizes(json_object *arr, size_t *out, int *n, const char *what, zc_err *err) {
    if (!arr || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > MAXDIMS)
        return zc_fail(err, ZC_BADREQUEST, "case.%s must be a list of at most %d integers", what, MAXDIMS);
    *n = (int)json_object_array_length(arr);
    for (int i = 0; i < *n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) < 0)
            return zc_fail(err, ZC_BADREQUEST, "case.%s must hold non-negative integers", what);
        out[i] = (size_t)json_object_get_int64(e);
    }
    return ZC_OK;
}

static int compression_plan(json_object *kase, plan *p, zc_err *err) {
    json_object *filters = zc_get(kase, "filters");
    size_t nf = filters && json_object_is_type(filters, json_type_array) ? json_object_array_length(filters) : 0;
    for (size_t i = 0; i < nf; i++) {
        const char *fid = zc_str(json_object_array_get_idx(filters, i), "id");
        if (fid && !strcmp(fid, "shuffle")) {
            p->shuffle = 1;
        } else if (fid && !strcmp(fid, "fletcher32")) {
            return zc_fail(err, ZC_UNSUPPORTED, "netCDF applies fletcher32 after the compressor (NCZarr records it "
                           "as the compressor, the compressor among the filters); a fletcher32 filter before the "
                           "compressor cannot be written");
        } else {
            return zc_fail(err, ZC_UNSUPPORTED, "netCDF/NCZarr has no '%s' filter", fid ? fid : "?");
        }
    }
    json_object *comp = zc_get(kase, "compressor");
    if (!comp) {
        if (p->shuffle) return zc_fail(err, ZC_UNSUPPORTED, "netCDF writes shuffle only together with a compressor");
        return ZC_OK;
    }
    const char *cid = zc_str(comp, "id");
    cid = cid ? cid : "?";
    json_object *lv = zc_get(comp, "level");
    p->level = lv ? json_object_get_int(lv) : 1;
    if (!strcmp(cid, "zlib")) {
        p->comp_id = H5Z_FILTER_DEFLATE;
    } else if (!strcmp(cid, "bz2")) {
        p->comp_id = H5Z_FILTER_BZIP2;
    } else if (!strcmp(cid, "zstd")) {
        p->comp_id = H5Z_FILTER_ZSTD;
    } else if (!strcmp(cid, "blosc")) {
        static const struct { const char *name; unsigned code; } SUBS[] = {
            {"blosclz", BLOSC_LZ}, {"lz4", BLOSC_LZ4}, {"lz4hc", BLOSC_LZ4HC}, {"zlib", BLOSC_ZLIB}, {"zstd", BLOSC_ZSTD}};
        const char *cname = zc_str(comp, "cname");
        cname = cname ? cname : "lz4";
        int found = 0;
        for (size_t i = 0; i < sizeof SUBS / sizeof *SUBS; i++)
            if (!strcmp(SUBS[i].name, cname)) { p->blosc_sub = SUBS[i].code; found = 1; }
        if (!found) return zc_fail(err, ZC_UNSUPPORTED, "netCDF has no blosc compressor '%s'", cname);
        p->comp_id = H5Z_FILTER_BLOSC;
        json_object *cl = zc_get(comp, "clevel"), *sh = zc_get(comp, "shuffle"), *bs = zc_get(comp, "blocksize");
        p->level = cl ? json_object_get_int(cl) : 5;
        p->blosc_shuffle = sh ? (unsigned)json_object_get_int(sh) : 1;
        p->blosc_blocksize = bs ? (unsigned)json_object_get_int(bs) : 0;
    } else {
        return zc_fail(err, ZC_UNSUPPORTED, "netCDF/NCZarr has no '%s' compressor (it writes zlib, bz2, zstd, blosc)",
                       cid);
    }
    unsigned need[2] = {p->comp_id, p->shuffle ? H5Z_FILTER_SHUFFLE : 0};
    for (int i = 0; i < 2; i++) {
        if (!need[i]) continue;
        int s = filter_avail(need[i]);
        if (s != NC_NOERR) {
            const char *pp = getenv("HDF5_PLUGIN_PATH");
            return zc_fail(err, ZC_UNSUPPORTED,
                           "netcdf-c %s has no NCZarr codec for filter %u (nc_inq_filter_avail: %s): NCZarr loads "
                           "codecs from plugin libraries in HDF5_PLUGIN_PATH (%s) and none provides it; without "
                           "one the array would be written with \"compressor\": null (verified)",
                           version(), need[i], nc_strerror(s), pp && *pp ? pp : "unset");
        }
    }
    return ZC_OK;
}

static int make_plan(json_object *kase, plan *p, zc_err *err) {
    memset(p, 0, sizeof *p);
    const char *dtype = zc_str(kase, "dtype");
    if (!dtype) return zc_fail(err, ZC_BADREQUEST, "case.dtype missing");
    if (json_sizes(zc_get(kase, "shape"), p->shape, &p->ndims, "shape", err)) return err->status;
    int nch;
    if (json_sizes(zc_get(kase, "chunks"), p->chunks, &nch, "chunks", err)) return err->status;
    if (nch != p->ndims) return zc_fail(err, ZC_BADREQUEST, "case.chunks and case.shape differ in length");
    if (!strcmp(dtype, "bool"))
        return zc_fail(err, ZC_UNSUPPORTED, "netCDF has no boolean type (NCZarr writes no '|b1' arrays)");
    if (!strcmp(dtype, "float16")) return zc_fail(err, ZC_UNSUPPORTED, "netCDF has no 16-bit float type");
    if (!strncmp(dtype, "complex", 7))
        return zc_fail(err, ZC_UNSUPPORTED, "NCZarr has no complex type (netCDF's would be a compound type, and "
                       "NCZarr supports no user-defined types)");
    if (dtype[0] == 'U')
        return zc_fail(err, ZC_UNSUPPORTED, "NCZarr writes strings as fixed-length bytes '|S<n>' only, never '<U<n>'");
    if (!strcmp(dtype, "string"))
        return zc_fail(err, ZC_UNSUPPORTED, "NCZarr has no variable-length string encoding (vlen-utf8): NC_STRING "
                       "is written as fixed-length '|S<n>'");
    if (dtype[0] == 'S') {
        p->strlen_n = atoi(dtype + 1);
        if (p->strlen_n <= 0) return zc_fail(err, ZC_BADREQUEST, "bad dtype %s", dtype);
        p->itemsize = (size_t)p->strlen_n;
    } else {
        p->dt = dtype_by_name(dtype);
        if (!p->dt) return zc_fail(err, ZC_BADREQUEST, "unknown dtype %s", dtype);
        p->itemsize = (size_t)p->dt->size;
    }
    const char *order = zc_str(kase, "order");
    if (order && strcmp(order, "C")) return zc_fail(err, ZC_UNSUPPORTED, "NCZarr writes order C only");
    const char *apath = zc_str(kase, "path");
    if (apath && !*apath)
        return zc_fail(err, ZC_UNSUPPORTED, "netCDF variables live in groups: NCZarr writes the dataset root as a "
                       "group (.zgroup) and every array below it, never an array at the root");
    if (p->ndims == 0)
        return zc_fail(err, ZC_UNSUPPORTED, "NCZarr records a netCDF scalar variable as a Zarr array of shape [1], "
                       "not [] (verified)");
    p->nelem = 1;
    for (int i = 0; i < p->ndims; i++) p->nelem *= p->shape[i];
    if (compression_plan(kase, p, err)) return err->status;
    /* attributes, checked before anything is created */
    if (put_attrs(-1, NC_GLOBAL, zc_get(kase, "attributes"), err)) return err->status;
    json_object *groups = zc_get(kase, "groups");
    if (groups && json_object_is_type(groups, json_type_object)) {
        json_object_object_foreach(groups, gname, gattrs) {
            (void)gname;
            if (put_attrs(-1, NC_GLOBAL, gattrs, err)) return err->status;
        }
    }
    return ZC_OK;
}

/* A group below `parent`, created when absent. */
static int ensure_group(int parent, const char *name, int *out, zc_err *err) {
    int s = nc_inq_grp_ncid(parent, name, out);
    if (s == NC_NOERR) return ZC_OK;
    s = nc_def_grp(parent, name, out);
    if (s != NC_NOERR) {
        char what[300];
        snprintf(what, sizeof what, "nc_def_grp %s", name);
        return nc_error(err, s, what);
    }
    return ZC_OK;
}

static int ensure_group_path(int root, const char *path, int *out, zc_err *err) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int g = root;
    for (char *save = NULL, *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save))
        if (ensure_group(g, part, &g, err)) return err->status;
    *out = g;
    return ZC_OK;
}

static int depth_cmp(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int dx = 0, dy = 0;
    for (const char *p = x; *p; p++) dx += *p == '/';
    for (const char *p = y; *p; p++) dy += *p == '/';
    return dx != dy ? dx - dy : strcmp(x, y);
}

/* Copies the region [start, start+count) of a C-order array into a contiguous buffer. */
static void copy_region(const unsigned char *src, unsigned char *dst, int nd, const size_t *shape,
                        const size_t *start, const size_t *count, size_t item) {
    size_t idx[MAXDIMS] = {0};
    size_t run = count[nd - 1] * item;
    for (;;) {
        size_t off = 0;
        for (int d = 0; d < nd; d++) off = off * shape[d] + start[d] + (d < nd - 1 ? idx[d] : 0);
        memcpy(dst, src + off * item, run);
        dst += run;
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == count[d]) idx[d--] = 0;
        if (d < 0) break;
    }
}

static int fill_bytes(json_object *fill, const plan *p, unsigned char *out, zc_err *err) {
    size_t len;
    if (zc_fill_from_json(fill, p->dt->name, out, 8, &len))
        return zc_fail(err, ZC_BADREQUEST, "bad fill_value for %s", p->dt->name);
    return ZC_OK;
}

static int write_here(json_object *kase, const plan *p, const unsigned char *data, const char *root, zc_err *err) {
    char url[2 * PATH_MAX + 64];
    snprintf(url, sizeof url, "file://%s#mode=zarr,file", root);
    int nc, s;
    zc_set_context("netcdf-c %s writing %s", version(), url);
    if ((s = nc_create(url, NC_CLOBBER | NC_NETCDF4, &nc)) != NC_NOERR) return nc_error(err, s, "nc_create");
    int rc = ZC_OK;
    char **strs = NULL;
    unsigned char *tmp = NULL;
#define FAIL_NC(call, what) do { if ((s = (call)) != NC_NOERR) { rc = nc_error(err, s, what); goto fail; } } while (0)
    /* groups: the root's attributes, then every listed group, shallowest first */
    json_object *groups = zc_get(kase, "groups");
    if (groups && json_object_is_type(groups, json_type_object)) {
        size_t n = 0;
        const char *names[256];
        json_object_object_foreach(groups, gname, gattrs) {
            (void)gattrs;
            if (*gname && n < 256) names[n++] = gname;
        }
        if ((rc = put_attrs(nc, NC_GLOBAL, zc_get(groups, ""), err))) goto fail;
        qsort(names, n, sizeof *names, depth_cmp);
        for (size_t i = 0; i < n; i++) {
            int g;
            if ((rc = ensure_group_path(nc, names[i], &g, err))) goto fail;
            if ((rc = put_attrs(g, NC_GLOBAL, zc_get(groups, names[i]), err))) goto fail;
        }
    }
    /* the array's group and variable */
    const char *path = zc_str(kase, "path");
    char gpath[PATH_MAX], vname[NC_MAX_NAME + 1];
    snprintf(gpath, sizeof gpath, "%s", path ? path : "array");
    char *slash = strrchr(gpath, '/');
    snprintf(vname, sizeof vname, "%.256s", slash ? slash + 1 : gpath);
    if (slash) *slash = 0; else gpath[0] = 0;
    int grp = nc;
    if ((rc = ensure_group_path(nc, gpath, &grp, err))) goto fail;
    int dims[MAXDIMS], var;
    for (int i = 0; i < p->ndims; i++) {
        char dname[32];
        snprintf(dname, sizeof dname, "dim%d", i);
        FAIL_NC(nc_def_dim(grp, dname, p->shape[i], &dims[i]), "nc_def_dim");
    }
    FAIL_NC(nc_def_var(grp, vname, p->dt ? p->dt->type : NC_STRING, p->ndims, dims, &var), "nc_def_var");
    s = nc_def_var_chunking(grp, var, NC_CHUNKED, p->chunks);
    if (s == NC_EBADCHUNK) {
        int bigger = 0;
        for (int i = 0; i < p->ndims; i++) bigger |= p->chunks[i] > p->shape[i];
        if (bigger) {
            rc = zc_fail(err, ZC_UNSUPPORTED, "netCDF refuses chunk sizes larger than the dimension "
                         "(nc_def_var_chunking: %s)", nc_strerror(s));
            goto fail;
        }
    }
    if (s != NC_NOERR) { rc = nc_error(err, s, "nc_def_var_chunking"); goto fail; }
    if (p->comp_id == H5Z_FILTER_DEFLATE || p->shuffle)
        FAIL_NC(nc_def_var_deflate(grp, var, p->shuffle, p->comp_id == H5Z_FILTER_DEFLATE, p->level),
                "nc_def_var_deflate");
    if (p->comp_id == H5Z_FILTER_BZIP2) FAIL_NC(nc_def_var_bzip2(grp, var, p->level), "nc_def_var_bzip2");
    if (p->comp_id == H5Z_FILTER_ZSTD) FAIL_NC(nc_def_var_zstandard(grp, var, p->level), "nc_def_var_zstandard");
    if (p->comp_id == H5Z_FILTER_BLOSC)
        FAIL_NC(nc_def_var_blosc(grp, var, p->blosc_sub, (unsigned)p->level, p->blosc_blocksize, p->blosc_shuffle),
                "nc_def_var_blosc");
    /* fill value */
    json_object *fill = zc_get(kase, "fill_value");
    if (!fill) {
        FAIL_NC(nc_def_var_fill(grp, var, NC_NOFILL, NULL), "nc_def_var_fill");
    } else {
        if (p->dt) {
            unsigned char fb[8];
            if ((rc = fill_bytes(fill, p, fb, err))) goto fail;
            FAIL_NC(nc_def_var_fill(grp, var, NC_FILL, fb), "nc_def_var_fill");
        } else {
            char sdt[16];
            size_t n = 0;
            snprintf(sdt, sizeof sdt, "S%d", p->strlen_n);
            unsigned char *raw = calloc((size_t)p->strlen_n + 1, 1);
            if (zc_fill_from_json(fill, sdt, raw, (size_t)p->strlen_n, &n)) {
                free(raw);
                rc = zc_fail(err, ZC_BADREQUEST, "bad fill_value for %s", sdt);
                goto fail;
            }
            const char *fs = (const char *)raw; /* NUL-terminated: calloc'd one longer */
            s = nc_def_var_fill(grp, var, NC_FILL, &fs);
            free(raw);
            if (s != NC_NOERR) { rc = nc_error(err, s, "nc_def_var_fill"); goto fail; }
        }
        /* netcdf-c copies the fill value into .zattrs as "_FillValue"; .zarray keeps it. */
        s = nc_del_att(grp, var, "_FillValue");
        if (s != NC_NOERR && s != NC_ENOTATT) { rc = nc_error(err, s, "nc_del_att _FillValue"); goto fail; }
    }
    if (!p->dt) {
        int n = p->strlen_n;
        FAIL_NC(nc_put_att_int(grp, var, "_nczarr_maxstrlen", NC_INT, 1, &n), "attribute _nczarr_maxstrlen");
    }
    if ((rc = put_attrs(grp, var, zc_get(kase, "attributes"), err))) goto fail;
    FAIL_NC(nc_enddef(nc), "nc_enddef");

    /* data: the whole array, or chunk by chunk leaving out the missing ones */
    const unsigned char *src = data;
    size_t item = p->itemsize;
    if (!p->dt) { /* S<n>: one NUL-terminated string per element (trailing NULs dropped) */
        strs = calloc(p->nelem, sizeof *strs);
        for (size_t i = 0; i < p->nelem; i++) {
            strs[i] = calloc((size_t)p->strlen_n + 1, 1);
            memcpy(strs[i], data + i * item, item);
        }
        src = (const unsigned char *)strs;
        item = sizeof(char *);
    }
    json_object *missing = zc_get(kase, "missing_chunks");
    size_t nmissing = missing && json_object_is_type(missing, json_type_array) ? json_object_array_length(missing) : 0;
    if (nmissing == 0) {
        if (p->nelem) FAIL_NC(nc_put_var(grp, var, src), "nc_put_var");
    } else {
        size_t grid[MAXDIMS], idx[MAXDIMS] = {0};
        size_t maxchunk = item;
        for (int d = 0; d < p->ndims; d++) {
            grid[d] = p->chunks[d] ? (p->shape[d] + p->chunks[d] - 1) / p->chunks[d] : 0;
            maxchunk *= p->chunks[d];
            if (!grid[d]) goto written;
        }
        tmp = malloc(maxchunk ? maxchunk : 1);
        for (;;) {
            int skip = 0;
            for (size_t m = 0; m < nmissing && !skip; m++) {
                json_object *mc = json_object_array_get_idx(missing, m);
                int same = (int)json_object_array_length(mc) == p->ndims;
                for (int d = 0; d < p->ndims && same; d++)
                    same = (size_t)json_object_get_int64(json_object_array_get_idx(mc, d)) == idx[d];
                skip = same;
            }
            if (!skip) {
                size_t start[MAXDIMS], count[MAXDIMS];
                for (int d = 0; d < p->ndims; d++) {
                    start[d] = idx[d] * p->chunks[d];
                    count[d] = p->shape[d] - start[d] < p->chunks[d] ? p->shape[d] - start[d] : p->chunks[d];
                }
                copy_region(src, tmp, p->ndims, p->shape, start, count, item);
                FAIL_NC(nc_put_vara(grp, var, start, count, tmp), "nc_put_vara");
            }
            int d = p->ndims - 1;
            while (d >= 0 && ++idx[d] == grid[d]) idx[d--] = 0;
            if (d < 0) break;
        }
    }
written:
    s = nc_close(nc);
    nc = -1;
    if (s != NC_NOERR) { rc = nc_error(err, s, "nc_close"); goto fail; }
    rc = ZC_OK;
fail:
    if (nc >= 0 && rc != ZC_OK) nc_abort(nc);
    if (strs) {
        for (size_t i = 0; i < p->nelem; i++) free(strs[i]);
        free(strs);
    }
    free(tmp);
    return rc;
#undef FAIL_NC
}

static int mkdirs(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

/* Runs this write in a child process of this program whose netcdf-c reads an .rc
 * file naming the dimension separator (netcdf-c reads ZARR.DIMENSION_SEPARATOR only
 * when it initialises). The child answers through the one-shot CLI on a pipe. */
static int write_in_child(json_object *kase, const char *data_path, json_object *target, const char *sep,
                          zc_err *err) {
    char dir[] = "/tmp/zc-netcdf-c-XXXXXX";
    if (!mkdtemp(dir)) return zc_fail(err, ZC_ERROR, "OSError: mkdtemp: %s", strerror(errno));
    char rc_path[PATH_MAX], case_path[PATH_MAX], case_arg[PATH_MAX + 1];
    snprintf(rc_path, sizeof rc_path, "%s/ncrc", dir);
    snprintf(case_path, sizeof case_path, "%s/case.json", dir);
    snprintf(case_arg, sizeof case_arg, "@%s", case_path);
    FILE *f = fopen(rc_path, "w");
    if (f) { fprintf(f, "ZARR.DIMENSION_SEPARATOR=%s\n", sep); fclose(f); }
    json_object_to_file_ext(case_path, kase, JSON_C_TO_STRING_PLAIN);
    const char *target_text = json_object_to_json_string_ext(target, JSON_C_TO_STRING_PLAIN);
    int pfd[2];
    if (pipe(pfd)) return zc_fail(err, ZC_ERROR, "OSError: pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        setenv("NCRCENV_RC", rc_path, 1);
        setenv("ZC_NETCDF_C_CHILD", "1", 1);
        execl("/proc/self/exe", "zc-netcdf-c", "write", "--case-json", case_arg, "--data", data_path,
              "--target-json", target_text, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char *out = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) { cap = cap ? cap * 2 : 8192; out = realloc(out, cap); }
        ssize_t n = read(pfd[0], out + len, cap - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(pfd[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    remove(rc_path);
    remove(case_path);
    rmdir(dir);
    json_object *resp = out ? zc_json_parse(out, len) : NULL;
    free(out);
    if (!resp) {
        if (WIFSIGNALED(wstatus))
            return zc_fail(err, ZC_ERROR, "ChildCrashed: the netCDF write in a child process (for "
                           "dimension_separator '%s') died of signal %d", sep, WTERMSIG(wstatus));
        return zc_fail(err, ZC_ERROR, "ChildFailed: the netCDF write in a child process (for dimension_separator "
                       "'%s') exited with status %d and no answer", sep, WEXITSTATUS(wstatus));
    }
    const char *st = zc_str(resp, "status"), *msg = zc_str(resp, "error");
    int status = st && !strcmp(st, "ok") ? ZC_OK : st && !strcmp(st, "unsupported") ? ZC_UNSUPPORTED : ZC_ERROR;
    if (status != ZC_OK) zc_fail(err, status, "%s", msg ? msg : "no error text");
    json_object_put(resp);
    return status;
}

static int nc_write(json_object *kase, const char *data_path, json_object *target, zc_err *err) {
    const char *kind = zc_str(target, "kind");
    if (!kind || strcmp(kind, "local")) return zc_fail(err, ZC_UNSUPPORTED, "this adapter writes to local stores only");
    const char *fmt = zc_str(kase, "format");
    if (fmt && !strcmp(fmt, "zarr3")) return zc_fail(err, ZC_UNSUPPORTED, NO_V3, version());
    if (!fmt || strcmp(fmt, "zarr2")) return zc_fail(err, ZC_UNSUPPORTED, NO_N5);
    plan p;
    if (make_plan(kase, &p, err)) return err->status;
    const char *sep = zc_str(kase, "dimension_separator");
    if (sep && strcmp(sep, ".") && !getenv("ZC_NETCDF_C_CHILD")) return write_in_child(kase, data_path, target, sep, err);

    size_t len = 0;
    unsigned char *data = zc_read_file(data_path, &len);
    if (!data) return zc_fail(err, ZC_ERROR, "OSError: cannot read %s: %s", data_path, strerror(errno));
    if (len != p.nelem * p.itemsize) {
        free(data);
        return zc_fail(err, ZC_BADREQUEST, "data holds %zu bytes, the case needs %zu", len, p.nelem * p.itemsize);
    }
    const char *tpath = zc_str(target, "path");
    if (!tpath) { free(data); return zc_fail(err, ZC_BADREQUEST, "target.path missing"); }
    char root[2 * PATH_MAX + 2];
    if (tpath[0] == '/') snprintf(root, sizeof root, "%s", tpath);
    else {
        char cwd[PATH_MAX];
        snprintf(root, sizeof root, "%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", tpath);
    }
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/') root[--rl] = 0;
    if (mkdirs(root)) {
        free(data);
        return zc_fail(err, ZC_ERROR, "OSError: cannot create the parent of %s: %s", root, strerror(errno));
    }
    int rc = write_here(kase, &p, data, root, err);
    free(data);
    return rc;
}

/* --- read ---------------------------------------------------------------------- */

static json_object *text_to_json(const char *text, size_t len) {
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i])) i++;
    if (i < len && (text[i] == '[' || text[i] == '{')) {
        json_object *o = zc_json_parse(text, len);
        if (o && (json_object_is_type(o, json_type_object) || json_object_is_type(o, json_type_array))) return o;
        json_object_put(o);
    }
    return json_object_new_string_len(text, (int)len);
}

/* JSON of one numeric value (a fill value or an attribute element); NULL for other types. */
static json_object *num_json(nc_type t, const void *p) {
    const dtinfo *dt = dtype_by_type(t);
    return dt ? zc_fill_json(dt->name, p, (size_t)dt->size) : NULL;
}

static int attr_json(int ncid, int varid, const char *name, json_object **out, zc_err *err) {
    nc_type t;
    size_t len;
    int s = nc_inq_att(ncid, varid, name, &t, &len);
    char what[300];
    snprintf(what, sizeof what, "attribute %s", name);
    if (s != NC_NOERR) return nc_error(err, s, what);
    if (t == NC_CHAR) {
        char *text = calloc(len + 1, 1);
        s = nc_get_att_text(ncid, varid, name, text);
        if (s == NC_NOERR) *out = text_to_json(text, len);
        free(text);
    } else if (t == NC_STRING) {
        char **strs = calloc(len ? len : 1, sizeof *strs);
        s = nc_get_att_string(ncid, varid, name, strs);
        if (s == NC_NOERR) {
            if (len == 1) *out = json_object_new_string(strs[0] ? strs[0] : "");
            else {
                *out = json_object_new_array();
                for (size_t i = 0; i < len; i++) json_object_array_add(*out, json_object_new_string(strs[i] ? strs[i] : ""));
            }
            nc_free_string(len, strs);
        }
        free(strs);
    } else {
        size_t size;
        if ((s = nc_inq_type(ncid, t, NULL, &size)) != NC_NOERR) return nc_error(err, s, what);
        unsigned char *buf = calloc(len ? len : 1, size);
        s = nc_get_att(ncid, varid, name, buf);
        if (s == NC_NOERR) {
            if (!num_json(t, buf)) {
                free(buf);
                return zc_fail(err, ZC_UNSUPPORTED, "attribute %s has netCDF type %d, which this adapter does not "
                               "translate to JSON", name, t);
            }
            if (len == 1) *out = num_json(t, buf);
            else {
                *out = json_object_new_array();
                for (size_t i = 0; i < len; i++) json_object_array_add(*out, num_json(t, buf + i * size));
            }
        }
        free(buf);
    }
    if (s != NC_NOERR) return nc_error(err, s, what);
    return ZC_OK;
}

static void setenv_saved(const char *key, const char *val, char **saved) {
    const char *old = getenv(key);
    *saved = old ? strdup(old) : NULL;
    if (val) setenv(key, val, 1);
    else unsetenv(key);
}

static void restore_env(const char *key, char *saved) {
    if (saved) setenv(key, saved, 1);
    else unsetenv(key);
    free(saved);
}

/* The values of the whole variable (nc_get_var), or of the region only: nc_get_vars, the strided
 * hyperslab netCDF's users read a region with. `buf` holds the elements in the variable's own type
 * (a char * per element for NC_STRING). */
static int get_values(int grp, int var, const zc_region *region, void *buf) {
    if (!region) return nc_get_var(grp, var, buf);
    size_t start[ZC_MAXDIMS], count[ZC_MAXDIMS];
    ptrdiff_t stride[ZC_MAXDIMS];
    for (int i = 0; i < region->ndims; i++) {
        start[i] = region->start[i];
        count[i] = zc_region_count(region, i);
        stride[i] = (ptrdiff_t)region->step[i];
    }
    return nc_get_vars(grp, var, start, count, stride, buf);
}

static int nc_read(json_object *target, const char *path, const char *format, const zc_region *region,
                   zc_read_result *res, zc_err *err) {
    if (format && !strcmp(format, "zarr3")) return zc_fail(err, ZC_UNSUPPORTED, NO_V3, version());
    if (!format || strcmp(format, "zarr2")) return zc_fail(err, ZC_UNSUPPORTED, NO_N5);
    const char *kind = zc_str(target, "kind");
    char url[PATH_MAX + 256];
    static const char *AWS_KEYS[] = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    char *saved[3];
    int env_set = 0;
    if (kind && !strcmp(kind, "local")) {
        const char *p = zc_str(target, "path");
        if (!p) return zc_fail(err, ZC_BADREQUEST, "target.path missing");
        char abs[PATH_MAX];
        if (!realpath(p, abs)) snprintf(abs, sizeof abs, "%s", p);
        snprintf(url, sizeof url, "file://%s#mode=zarr,file", abs);
    } else if (kind && !strcmp(kind, "s3")) {
        const char *ep = zc_str(target, "endpoint"), *bucket = zc_str(target, "bucket"), *key = zc_str(target, "key");
        const char *region = zc_str(target, "region");
        char def_ep[128];
        if (!ep) { snprintf(def_ep, sizeof def_ep, "https://s3.%s.amazonaws.com", region ? region : "us-east-1"); ep = def_ep; }
        size_t el = strlen(ep);
        while (el && ep[el - 1] == '/') el--;
        while (key && *key == '/') key++;
        snprintf(url, sizeof url, "%.*s/%s/%s#mode=zarr,s3", (int)el, ep, bucket ? bucket : "", key ? key : "");
        /* netcdf-c's S3 code takes credentials from the AWS environment variables. */
        int anon = zc_get(target, "anonymous") && json_object_get_boolean(zc_get(target, "anonymous"));
        setenv_saved(AWS_KEYS[0], region ? region : "us-east-1", &saved[0]);
        setenv_saved(AWS_KEYS[1], anon ? NULL : zc_str(target, "access_key_id"), &saved[1]);
        setenv_saved(AWS_KEYS[2], anon ? NULL : zc_str(target, "secret_access_key"), &saved[2]);
        env_set = 1;
    } else if (kind && !strcmp(kind, "http")) {
        /* NCZarr reaches remote stores only through its S3 storage driver. */
        const char *u = zc_str(target, "url");
        if (!u) return zc_fail(err, ZC_BADREQUEST, "target.url missing");
        size_t ul = strlen(u);
        while (ul && u[ul - 1] == '/') ul--;
        snprintf(url, sizeof url, "%.*s#mode=zarr,s3", (int)ul, u);
    } else {
        return zc_fail(err, ZC_UNSUPPORTED, "store kind '%s' is not known to this adapter", kind ? kind : "?");
    }

    double t0 = zc_now_ms();
    zc_set_context("netcdf-c %s nc_open(\"%s\")", version(), url);
    int nc, s = nc_open(url, NC_NOWRITE, &nc);
    zc_set_context("netcdf-c %s reading %s from %s", version(), path, url);
    if (env_set)
        for (int i = 0; i < 3; i++) restore_env(AWS_KEYS[i], saved[i]);
    if (s == NC_ENOTBUILT) {
        return zc_fail(err, ZC_UNSUPPORTED, "netcdf-c %s was built without NCZarr S3 support%s: nc_open: %s",
                       version(), strcmp(kind, "s3") ? " (NCZarr reaches remote stores only through its S3 driver)" : "",
                       nc_strerror(s));
    }
    if (s != NC_NOERR) return nc_error(err, s, "nc_open");

    int rc = ZC_OK;
    void *buf = NULL;
    char pathbuf[PATH_MAX];
    snprintf(pathbuf, sizeof pathbuf, "%s", path);
    int grp = nc;
    char *parts[256];
    int nparts = 0;
    for (char *save = NULL, *part = strtok_r(pathbuf, "/", &save); part && nparts < 256;
         part = strtok_r(NULL, "/", &save))
        parts[nparts++] = part;
    int var;
    if (nparts == 0) {
        /* An array at the dataset root: a netCDF user would look for the root group's only
         * variable. netcdf-c 4.9.0 opens such a dataset as an empty root group. */
        int nvars = 0;
        if ((s = nc_inq_nvars(nc, &nvars)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_nvars"); goto done; }
        if (nvars != 1) {
            rc = zc_fail(err, ZC_UNSUPPORTED, "netcdf-c %s opens a dataset whose root is an array (.zarray at the "
                         "top, no group) as a root group with %d variables: NCZarr reads arrays only as "
                         "variables inside groups", version(), nvars);
            goto done;
        }
        var = 0;
        parts[nparts++] = "(root)";
        goto have_var;
    }
    for (int i = 0; i < nparts - 1; i++) {
        if ((s = nc_inq_grp_ncid(grp, parts[i], &grp)) != NC_NOERR) {
            char what[300];
            snprintf(what, sizeof what, "nc_inq_grp_ncid %s", parts[i]);
            rc = nc_error(err, s, what);
            goto done;
        }
    }
    if ((s = nc_inq_varid(grp, parts[nparts - 1], &var)) != NC_NOERR) {
        char what[300];
        snprintf(what, sizeof what, "nc_inq_varid %s", parts[nparts - 1]);
        rc = nc_error(err, s, what);
        goto done;
    }
have_var:;
    nc_type t;
    int nd, dimids[NC_MAX_VAR_DIMS], natts;
    if ((s = nc_inq_var(grp, var, NULL, &t, &nd, dimids, &natts)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_var"); goto done; }
    if (nd > ZC_MAXDIMS) { rc = zc_fail(err, ZC_UNSUPPORTED, "%d dimensions", nd); goto done; }
    size_t nelem = 1;
    res->ndims = nd;
    for (int i = 0; i < nd; i++)
        if ((s = nc_inq_dimlen(grp, dimids[i], &res->shape[i])) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_dimlen"); goto done; }
    if ((rc = zc_check_region(region, nd, res->shape, err))) goto done;
    for (int i = 0; i < nd; i++) {
        if (region) res->shape[i] = zc_region_count(region, i); /* what is read: the region's shape */
        nelem *= res->shape[i];
    }
    /* attributes (all of the variable's netCDF attributes) */
    res->attributes = json_object_new_object();
    int maxstrlen = 0;
    for (int i = 0; i < natts; i++) {
        char aname[NC_MAX_NAME + 1];
        if ((s = nc_inq_attname(grp, var, i, aname)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_attname"); goto done; }
        json_object *val = NULL;
        if ((rc = attr_json(grp, var, aname, &val, err))) goto done;
        json_object_object_add(res->attributes, aname, val);
        if (!strcmp(aname, "_nczarr_maxstrlen") && json_object_is_type(val, json_type_int))
            maxstrlen = json_object_get_int(val);
    }
    const char *get_what = region ? "nc_get_vars" : "nc_get_var";
    const dtinfo *dt = dtype_by_type(t);
    if (dt) {
        snprintf(res->dtype, sizeof res->dtype, "%s", dt->name);
        res->canon_len = nelem * (size_t)dt->size;
        res->canon = malloc(res->canon_len ? res->canon_len : 1);
        if (nelem && (s = get_values(grp, var, region, res->canon)) != NC_NOERR) { rc = nc_error(err, s, get_what); goto done; }
        zc_canonical_fixed(dt->name, res->canon, res->canon_len);
        int no_fill = 0;
        unsigned char fb[8] = {0};
        if ((s = nc_inq_var_fill(grp, var, &no_fill, fb)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_var_fill"); goto done; }
        res->fill = no_fill ? NULL : num_json(t, fb);
    } else if (t == NC_CHAR) {
        snprintf(res->dtype, sizeof res->dtype, "S1");
        res->canon_len = nelem;
        res->canon = malloc(nelem ? nelem : 1);
        if (nelem && (s = get_values(grp, var, region, res->canon)) != NC_NOERR) { rc = nc_error(err, s, get_what); goto done; }
        int no_fill = 0;
        char fc = 0;
        if ((s = nc_inq_var_fill(grp, var, &no_fill, &fc)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_var_fill"); goto done; }
        if (!no_fill) res->fill = zc_fill_json("S1", &fc, 1);
    } else if (t == NC_STRING) {
        char **strs = calloc(nelem ? nelem : 1, sizeof *strs);
        buf = strs;
        if (nelem && (s = get_values(grp, var, region, strs)) != NC_NOERR) { rc = nc_error(err, s, get_what); goto done; }
        /* S<n>: the UTF-8 bytes, cut or NUL-padded to n; else `string` */
        if (maxstrlen > 0) snprintf(res->dtype, sizeof res->dtype, "S%d", maxstrlen);
        else snprintf(res->dtype, sizeof res->dtype, "string");
        res->canon = zc_canonical_strings(strs, nelem, maxstrlen > 0 ? (size_t)maxstrlen : 0, &res->canon_len);
        if (nelem) nc_free_string(nelem, strs);
        int no_fill = 0;
        char *fs = NULL;
        if ((s = nc_inq_var_fill(grp, var, &no_fill, &fs)) != NC_NOERR) { rc = nc_error(err, s, "nc_inq_var_fill"); goto done; }
        if (!no_fill) res->fill = zc_fill_json(res->dtype, fs ? fs : "", fs ? strlen(fs) : 0);
        if (fs) nc_free_string(1, &fs);
    } else {
        rc = zc_fail(err, ZC_UNSUPPORTED, "netCDF type %d of variable %s has no canonical dtype in this adapter", t,
                     parts[nparts - 1]);
        goto done;
    }
    res->elapsed_ms = zc_now_ms() - t0;
done:
    free(buf);
    nc_close(nc);
    return rc;
}

static const zc_backend BACKEND = {
    .impl = "netcdf-c",
    .language = "c",
    .version = version,
    .components = components,
    .write = nc_write,
    .read = nc_read,
};

int main(int argc, char **argv) { return zc_main(argc, argv, &BACKEND); }
