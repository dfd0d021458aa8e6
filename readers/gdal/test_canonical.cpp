// The canonical code of zc_canonical.cpp on the committed vectors (canonical/vectors/vectors.json):
// arrays in the forms GDALMDArray::Read gives them (the elements of the array's own numeric
// GDAL type; std::strings from GDAL's char* for S<n> and `string`), hashes, and fill values
// both ways: numeric_fill_json / string_fill_json on what GetRawNoDataValue() points to, and
// raw_fill_from_json / text_fill_from_json as the writer decodes a case's (S<n>, U<n> and the
// numeric types; GDAL writes no `string` arrays). Skipped: dtypes GDAL 3.6 has not (bool,
// int8, float16), U<n> arrays and fill values as read (GDAL gives <U<n> no length: the adapter
// reports `string`), and strings a char* cannot hold (an embedded NUL).
//
//     build/zc-canonical-test VECTORS.json [REPORT]      (`make test`)
//
// One line per vector ("ok|skip|FAIL array|fill NAME[: why]") to REPORT or stdout; the exit
// status is 1 when a vector failed. Also parse_region and check_region on requests' regions, good
// and malformed: a line per region on stderr.
#include "zc_canonical.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

using zc::json;

namespace {

std::ostream *out = &std::cout;
int failed = 0;

void line(const std::string &status, const std::string &kind, const std::string &name, const std::string &why = "") {
    *out << status << " " << kind << " " << name << (why.empty() ? "" : ": " + why) << "\n";
    if (status == "FAIL") failed++;
}

std::string unhex(const std::string &h) {
    std::string b;
    for (size_t i = 0; i + 1 < h.size(); i += 2) b += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return b;
}

std::string tohex(const std::string &b) {
    static const char *d = "0123456789abcdef";
    std::string h;
    for (unsigned char c : b) {
        h += d[c >> 4];
        h += d[c & 15];
    }
    return h;
}

// A char* holds bytes up to the first NUL: true when the rest is NUL padding.
bool c_string_holds(const std::string &b) {
    size_t i = b.find('\0');
    return i == std::string::npos || b.find_first_not_of('\0', i) == std::string::npos;
}

std::string c_string(const std::string &b) { return b.substr(0, b.find('\0')); }

std::string skip_reason(const std::string &dtype) {
    if (dtype[0] == 'S' || dtype == "string" || zc::num_by_name(dtype)) return "";
    if (dtype[0] == 'U') return "GDAL gives <U<n> no length: the adapter reads U<n> as string";
    return "GDAL 3.6 has no such data type";
}

void array(const json &v) {
    const std::string name = v["name"], dtype = v["dtype"];
    std::string why = skip_reason(dtype);
    if (!why.empty()) return line("skip", "array", name, why);
    size_t n = 1;
    for (const auto &s : v["shape"]) n *= s.get<size_t>();
    std::string got;
    if (const zc::NumType *t = zc::num_by_name(dtype)) {
        got = unhex(v["input"]["hex"]);  // what Read wrote in the array's own type
        zc::canonical_fixed(*t, got);
    } else {
        std::vector<std::string> vals;
        if (dtype == "string") {
            for (const auto &s : v["input"]["values"]) vals.push_back(s);
        } else {
            const size_t w = std::stoul(dtype.substr(1));
            const std::string raw = unhex(v["input"]["hex"]);
            for (size_t i = 0; i < n; i++) vals.push_back(raw.substr(i * w, w));
        }
        for (auto &s : vals) {
            if (!c_string_holds(s)) return line("skip", "array", name, "an embedded NUL: GDAL strings are C strings");
            s = c_string(s);
        }
        got = zc::canonical_strings(vals, dtype == "string" ? 0 : std::stoul(dtype.substr(1)));
    }
    if (tohex(got) != v["canonical"].get<std::string>()) return line("FAIL", "array", name, "canonical bytes " + tohex(got));
    if (zc::sha256_hex(got) != v["hash"].get<std::string>()) return line("FAIL", "array", name, "hash");
    line("ok", "array", name);
}

// Equal as protocol JSON: floats by value with the sign of zero, integers exactly.
bool same_json(const json &got, const json &want, bool floats) {
    if (want.is_array()) {
        if (!got.is_array() || got.size() != want.size()) return false;
        for (size_t i = 0; i < want.size(); i++)
            if (!same_json(got[i], want[i], floats)) return false;
        return true;
    }
    if (want.is_number() && floats) {
        if (!got.is_number()) return false;
        double a = got.get<double>(), b = want.get<double>();
        return a == b && std::signbit(a) == std::signbit(b);
    }
    if (want.is_number()) {
        if (!got.is_number_integer()) return false;
        if (want.is_number_unsigned() || got.is_number_unsigned())
            return got.is_number_unsigned() && want.is_number_unsigned() && got.get<uint64_t>() == want.get<uint64_t>();
        return got.get<int64_t>() == want.get<int64_t>();
    }
    return got == want;
}

bool nan_bits(const std::string &b, size_t w) {
    if (w == 4) {
        float f;
        std::memcpy(&f, b.data(), 4);
        return std::isnan(f);
    }
    double d;
    std::memcpy(&d, b.data(), 8);
    return std::isnan(d);
}

void fill(const json &v) {
    const std::string name = v["name"], dtype = v["dtype"];
    const bool u = dtype[0] == 'U';
    std::string why = u ? "" : skip_reason(dtype);
    if (!why.empty()) return line("skip", "fill", name, why);
    const bool decode_only = v.value("decode_only", false);
    // A decode-only spelling: the value it decodes to is written as canonical_json.
    const json &value = v[decode_only ? "decoded" : "value"];
    const json &want = v[decode_only ? "canonical_json" : "json"];
    const zc::NumType *t = zc::num_by_name(dtype);
    const bool floats = t && (dtype.rfind("float", 0) == 0 || dtype.rfind("complex", 0) == 0);
    try {
        // read: what GetRawNoDataValue() points to (U<n> never reported as such)
        if (!u) {
            json got;
            if (t) {
                std::string raw = value.is_null() ? "" : unhex(value["hex"]);
                got = zc::numeric_fill_json(*t, value.is_null() ? nullptr : raw.data());
            } else {
                std::string s = value.is_null() ? "" : value.contains("text") ? value["text"].get<std::string>()
                                                                               : unhex(value["hex"]);
                if (!c_string_holds(s)) return line("skip", "fill", name, "an embedded NUL: GDAL strings are C strings");
                s = c_string(s);
                const char *p = s.c_str();
                got = zc::string_fill_json(value.is_null() ? nullptr : &p, dtype != "string");
            }
            const json back = json::parse(got.dump());  // as the adapter writes it, read back
            if (!same_json(back, want, floats)) return line("FAIL", "fill", name, "wrote " + got.dump() + ", expected " + want.dump());
        }
        // write: the case's JSON as the writer decodes it (no fill value: nothing is set)
        const json &decoded = v["decoded"];
        if (dtype != "string" && !v["json"].is_null()) {
            if (t) {
                const std::string got = zc::raw_fill_from_json(v["json"], *t), w = unhex(decoded["hex"]);
                const size_t pw = floats ? (dtype == "float32" || dtype == "complex64" ? 4 : 8) : w.size();
                for (size_t i = 0; i < w.size(); i += pw) {
                    const std::string g = got.substr(i, pw), e = w.substr(i, pw);
                    if (!(floats && nan_bits(e, pw) ? nan_bits(g, pw) : g == e))
                        return line("FAIL", "fill", name, "decoded to " + tohex(got));
                }
            } else {
                std::string got = zc::text_fill_from_json(v["json"], u);
                std::string w = decoded.contains("text") ? decoded["text"].get<std::string>() : unhex(decoded["hex"]);
                if (!u) got.resize(w.size(), '\0');  // NUL-padded to n
                if (got != w) return line("FAIL", "fill", name, "decoded to " + tohex(got));
            }
        }
    } catch (const std::exception &e) {
        return line("FAIL", "fill", name, e.what());
    }
    line("ok", "fill", name);
}

// A request's region: parsed (or refused as malformed), checked against a shape (or refused as not
// fitting), and the counts of what it selects.
struct RegionCase {
    const char *json;
    std::vector<uint64_t> shape;
    const char *want;  // "parse": malformed, "fit": does not fit the shape, "whole": null, else the counts
};

void regions() {
    const std::vector<RegionCase> cases = {
        {"[[3, 17, 1], [5, 29, 4]]", {20, 30}, "14 6"},
        {"[[0, 20, 7], [29, 30, 1]]", {20, 30}, "3 1"},
        {"[[19, 20, 3]]", {20}, "1"},
        {"[[0, 5, 5], [0, 6, 5], [1, 2, 9]]", {5, 6, 2}, "1 2 1"},
        {"[]", {}, ""},
        {"null", {20}, "whole"},
        {"[[0, 21, 1]]", {20}, "fit"},
        {"[[0, 1, 1], [0, 1, 1]]", {20}, "fit"},
        {"[[0, 1, 1]]", {20, 30}, "fit"},
        {"[[0, 18446744073709551615, 1]]", {20}, "fit"},
        {"[[0, 1]]", {20}, "parse"},
        {"[[0, 1, 1, 1]]", {20}, "parse"},
        {"[[1, 1, 1]]", {20}, "parse"},
        {"[[2, 1, 1]]", {20}, "parse"},
        {"[[0, 2, 0]]", {20}, "parse"},
        {"[[0, 2, -1]]", {20}, "parse"},
        {"[[-1, 2, 1]]", {20}, "parse"},
        {"[[0, 2.0, 1]]", {20}, "parse"},
        {"[[true, 2, 1]]", {20}, "parse"},
        {"[[0, \"2\", 1]]", {20}, "parse"},
        {"[0, 2, 1]", {20}, "parse"},
        {"{\"start\": 0}", {20}, "parse"},
        {"\"0:2\"", {20}, "parse"},
    };
    for (const auto &c : cases) {
        std::string got, msg;
        try {
            auto r = zc::parse_region(json::parse(c.json));
            if (!r) {
                got = "whole";
            } else {
                try {
                    zc::check_region(*r, c.shape);
                    for (const auto &s : *r) got += (got.empty() ? "" : " ") + std::to_string(s.count());
                } catch (const zc::BadRequest &e) {
                    got = "fit";
                    msg = e.what();
                }
            }
        } catch (const zc::BadRequest &e) {
            got = "parse";
            msg = e.what();
        }
        const bool ok = got == c.want;
        std::cerr << (ok ? "ok" : "FAIL") << " region " << c.json << ": " << got << (msg.empty() ? "" : " | " + msg)
                  << "\n";
        if (!ok) failed++;
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " VECTORS.json [REPORT]\n";
        return 2;
    }
    std::ifstream f(argv[1]);
    if (!f) {
        std::cerr << "cannot read the vectors " << argv[1] << "\n";
        return 2;
    }
    const json doc = json::parse(f);
    std::ofstream report;
    if (argc > 2) {
        report.open(argv[2]);
        out = &report;
    }
    for (const auto &v : doc["arrays"]) array(v);
    for (const auto &v : doc["fill_values"]) fill(v);
    regions();
    out->flush();
    return failed ? 1 : 0;
}
