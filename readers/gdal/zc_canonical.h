// Canonical forms of the protocol (docs/protocol.md) for the GDAL adapter: canonical bytes
// and hash of what GDALMDArray::Read gives, the JSON of fill values (and numeric attributes)
// both ways, the dtype <-> GDAL data type table, and the regions of protocol 2. No GDAL
// calls, only its type enum, so that test_canonical.cpp (`make test`) runs this code on
// canonical/vectors (and on regions) without GDAL.
#ifndef ZC_CANONICAL_H
#define ZC_CANONICAL_H

#include <gdal.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace zc {

using json = nlohmann::json;

struct BadRequest : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct NumType {
    const char *name;
    GDALDataType gdt;
    int size;
};

// A read's region (protocol 2): one start:stop:step per axis (a Python slice, stop exclusive),
// in the protocol's view of the array.
struct Slice {
    uint64_t start, stop, step;
    uint64_t count() const { return (stop - start - 1) / step + 1; }  // elements selected (start < stop)
};
using Region = std::vector<Slice>;
// The request's "region": nullopt for null (the whole array); BadRequest when it is no list of
// [start, stop, step] with 0 <= start < stop and step >= 1.
std::optional<Region> parse_region(const json &v);
// BadRequest when the region has not one slice per axis of `shape` or goes beyond it.
void check_region(const Region &r, const std::vector<uint64_t> &shape);

// Canonical dtype <-> GDAL data type (GDAL 3.6 has no Int8, Float16 or boolean).
const std::vector<NumType> &num_types();
const NumType *num_by_name(const std::string &n);
const NumType *num_by_gdt(GDALDataType g);

json json_double(double d);             // number, or "NaN"/"Infinity"/"-Infinity"
double float_from_json(const json &v);  // the inverse; BadRequest for anything else
std::string base64(const std::string &raw);
std::string unbase64(const std::string &text);

// Every NaN of `count` little-endian floats of `width` bytes becomes the canonical quiet NaN.
void canonical_nan(unsigned char *p, size_t count, int width);
// Elements of a numeric type as GDAL read them, made canonical in place.
void canonical_fixed(const NumType &t, std::string &data);
// Canonical bytes of strings: S<maxlen> elements cut or NUL-padded to maxlen, or (maxlen 0)
// `string` elements, each a 4-byte little-endian length then the bytes.
std::string canonical_strings(const std::vector<std::string> &vals, size_t maxlen);
std::string sha256_hex(const std::string &data);  // "sha256:" and the hex digest

// JSON of one numeric value of GDAL type g (a fill value or an attribute element); null for
// types without one.
json number_json(GDALDataType g, const void *p);
// JSON of a numeric array's fill value from GDALMDArray::GetRawNoDataValue() (nullptr, no
// nodata, is JSON null).
json numeric_fill_json(const NumType &t, const void *nodata);
// JSON of a string array's fill value from GetRawNoDataValue(), which points to a char* (a
// nullptr char* is ""): the base64 of its bytes without trailing NULs for S<n> (fixed), the
// text for `string`; no nodata is JSON null.
json string_fill_json(const void *nodata, bool fixed);
// A writer's fill value from the case's JSON: the element bytes of numeric type t...
std::string raw_fill_from_json(const json &fill, const NumType &t);
// ... or the text of an S<n> (decoded base64) or U<n> fill value, without trailing NULs.
std::string text_fill_from_json(const json &fill, bool unicode);

}  // namespace zc

#endif
