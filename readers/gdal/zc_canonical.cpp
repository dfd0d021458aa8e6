// Canonical forms and regions of the protocol for the GDAL adapter (see zc_canonical.h).
#include "zc_canonical.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "this adapter assumes a little-endian host (canonical bytes are little-endian)"
#endif

namespace zc {

std::optional<Region> parse_region(const json &v) {
    if (v.is_null()) return std::nullopt;
    Region r;
    bool ok = v.is_array();
    for (size_t i = 0; ok && i < v.size(); i++) {
        const json &a = v[i];
        ok = a.is_array() && a.size() == 3 &&
             std::all_of(a.begin(), a.end(), [](const json &e) { return e.is_number_integer(); });
        // negative numbers are no start; integers beyond 2^63 go through as beyond every shape
        auto num = [&](int k) { return a[k].is_number_unsigned() ? a[k].get<uint64_t>() : 0; };
        ok = ok && a[0].is_number_unsigned() && num(0) < num(1) && num(2) >= 1;
        if (ok) r.push_back({num(0), num(1), num(2)});
    }
    if (!ok)
        throw BadRequest("a region is a list of [start, stop, step] with 0 <= start < stop and step >= 1: " +
                         v.dump(-1, ' ', false, json::error_handler_t::replace));
    return r;
}

void check_region(const Region &r, const std::vector<uint64_t> &shape) {
    bool ok = r.size() == shape.size();
    for (size_t i = 0; ok && i < r.size(); i++) ok = r[i].stop <= shape[i];
    if (ok) return;
    std::string reg, shp;
    for (const auto &s : r)
        reg += (reg.empty() ? "[" : ", [") + std::to_string(s.start) + ", " + std::to_string(s.stop) + ", " +
               std::to_string(s.step) + "]";
    for (auto n : shape) shp += (shp.empty() ? "" : ", ") + std::to_string(n);
    throw BadRequest("region [" + reg + "] does not fit shape [" + shp + "]");
}

const std::vector<NumType> &num_types() {
    static const std::vector<NumType> t = {
        {"uint8", GDT_Byte, 1},       {"int16", GDT_Int16, 2},     {"uint16", GDT_UInt16, 2},
        {"int32", GDT_Int32, 4},      {"uint32", GDT_UInt32, 4},   {"int64", GDT_Int64, 8},
        {"uint64", GDT_UInt64, 8},    {"float32", GDT_Float32, 4}, {"float64", GDT_Float64, 8},
        {"complex64", GDT_CFloat32, 8}, {"complex128", GDT_CFloat64, 16},
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
        {"int8", GDT_Int8, 1},
#endif
    };
    return t;
}

const NumType *num_by_name(const std::string &n) {
    for (const auto &t : num_types())
        if (n == t.name) return &t;
    return nullptr;
}

const NumType *num_by_gdt(GDALDataType g) {
    for (const auto &t : num_types())
        if (g == t.gdt) return &t;
    return nullptr;
}

json json_double(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return d;
}

double float_from_json(const json &v) {
    if (v.is_string()) {
        auto s = v.get<std::string>();
        if (s == "NaN") return NAN;
        if (s == "Infinity") return INFINITY;
        if (s == "-Infinity") return -INFINITY;
        throw BadRequest("bad float " + s);
    }
    if (!v.is_number()) throw BadRequest("bad float " + v.dump());
    return v.get<double>();
}

std::string base64(const std::string &raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                            reinterpret_cast<const unsigned char *>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

std::string unbase64(const std::string &text) {
    if (text.size() % 4) throw BadRequest("bad base64 " + text);
    std::string out(3 * (text.size() / 4) + 1, '\0');
    int n = text.empty() ? 0
                         : EVP_DecodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                                           reinterpret_cast<const unsigned char *>(text.data()),
                                           static_cast<int>(text.size()));
    if (n < 0) throw BadRequest("bad base64 " + text);
    size_t pad = 0;
    if (!text.empty() && text.back() == '=') pad++;
    if (text.size() > 1 && text[text.size() - 2] == '=') pad++;
    out.resize(static_cast<size_t>(n) - pad);
    return out;
}

void canonical_nan(unsigned char *p, size_t count, int width) {
    for (size_t i = 0; i < count; i++, p += width) {
        if (width == 4) {
            float f;
            std::memcpy(&f, p, 4);
            if (std::isnan(f)) { uint32_t b = 0x7fc00000u; std::memcpy(p, &b, 4); }
        } else if (width == 8) {
            double f;
            std::memcpy(&f, p, 8);
            if (std::isnan(f)) { uint64_t b = 0x7ff8000000000000ull; std::memcpy(p, &b, 8); }
        }
    }
}

void canonical_fixed(const NumType &t, std::string &data) {
    auto *p = reinterpret_cast<unsigned char *>(&data[0]);
    if (t.gdt == GDT_Float32 || t.gdt == GDT_CFloat32) canonical_nan(p, data.size() / 4, 4);
    if (t.gdt == GDT_Float64 || t.gdt == GDT_CFloat64) canonical_nan(p, data.size() / 8, 8);
}

std::string canonical_strings(const std::vector<std::string> &vals, size_t maxlen) {
    std::string out;
    for (const auto &v : vals) {
        if (maxlen > 0) {
            std::string item = v.substr(0, maxlen);
            item.resize(maxlen, '\0');
            out += item;
        } else {
            uint32_t n = static_cast<uint32_t>(v.size());
            unsigned char len[4] = {static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
                                    static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
            out.append(reinterpret_cast<char *>(len), 4);
            out += v;
        }
    }
    return out;
}

std::string sha256_hex(const std::string &data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    static const char *hex = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned i = 0; i < n; i++) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

json number_json(GDALDataType g, const void *p) {
    switch (g) {
    case GDT_Byte: return *static_cast<const uint8_t *>(p);
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
    case GDT_Int8: return *static_cast<const int8_t *>(p);
#endif
    case GDT_Int16: return *static_cast<const int16_t *>(p);
    case GDT_UInt16: return *static_cast<const uint16_t *>(p);
    case GDT_Int32: return *static_cast<const int32_t *>(p);
    case GDT_UInt32: return *static_cast<const uint32_t *>(p);
    case GDT_Int64: return *static_cast<const int64_t *>(p);
    case GDT_UInt64: return *static_cast<const uint64_t *>(p);
    case GDT_Float32: return json_double(*static_cast<const float *>(p));
    case GDT_Float64: return json_double(*static_cast<const double *>(p));
    case GDT_CFloat32: {
        auto f = static_cast<const float *>(p);
        return json::array({json_double(f[0]), json_double(f[1])});
    }
    case GDT_CFloat64: {
        auto f = static_cast<const double *>(p);
        return json::array({json_double(f[0]), json_double(f[1])});
    }
    case GDT_CInt16: {
        auto f = static_cast<const int16_t *>(p);
        return json::array({f[0], f[1]});
    }
    case GDT_CInt32: {
        auto f = static_cast<const int32_t *>(p);
        return json::array({f[0], f[1]});
    }
    default: return nullptr;
    }
}

json numeric_fill_json(const NumType &t, const void *nodata) {
    return nodata ? number_json(t.gdt, nodata) : json(nullptr);
}

json string_fill_json(const void *nodata, bool fixed) {
    if (!nodata) return nullptr;
    const char *value = *static_cast<const char *const *>(nodata);
    std::string f = value ? value : "";
    if (!fixed) return f;
    while (!f.empty() && f.back() == '\0') f.pop_back();  // trailing NULs are padding
    return base64(f);
}

std::string raw_fill_from_json(const json &fill, const NumType &t) {
    unsigned char buf[16] = {0};
    GDALDataType g = t.gdt;
    if (g == GDT_Float32) {
        float f = static_cast<float>(float_from_json(fill));
        std::memcpy(buf, &f, 4);
    } else if (g == GDT_Float64) {
        double d = float_from_json(fill);
        std::memcpy(buf, &d, 8);
    } else if (g == GDT_CFloat32) {
        float f[2] = {static_cast<float>(float_from_json(fill.at(0))), static_cast<float>(float_from_json(fill.at(1)))};
        std::memcpy(buf, f, 8);
    } else if (g == GDT_CFloat64) {
        double d[2] = {float_from_json(fill.at(0)), float_from_json(fill.at(1))};
        std::memcpy(buf, d, 16);
    } else {
        if (!fill.is_number_integer() && !fill.is_number_unsigned())
            throw BadRequest("bad integer fill value " + fill.dump());
        uint64_t u = fill.is_number_unsigned() ? fill.get<uint64_t>() : static_cast<uint64_t>(fill.get<int64_t>());
        std::memcpy(buf, &u, static_cast<size_t>(t.size));  // little-endian: the low bytes
    }
    return std::string(reinterpret_cast<char *>(buf), static_cast<size_t>(t.size));
}

std::string text_fill_from_json(const json &fill, bool unicode) {
    std::string f = unicode ? fill.get<std::string>() : unbase64(fill.get<std::string>());
    while (!f.empty() && f.back() == '\0') f.pop_back();
    return f;
}

}  // namespace zc
