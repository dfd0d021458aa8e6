// GDAL adapter (protocol 2): GDAL's multidimensional Zarr driver through its C++ API.
//
// Built against Debian's libgdal-dev (3.6.2 on bookworm); hello's version is
// GDALVersionInfo("RELEASE_NAME") at run time. JSON with nlohmann/json, SHA-256
// with OpenSSL's libcrypto (both from Debian).
//
// Reading: GDALDataset::Open(root, GDAL_OF_MULTIDIM_RASTER, {"Zarr"}), the root
// group's OpenMDArrayFromFullname("/<path>"), GDALMDArray::Read of the whole
// array in the array's own GDAL data type; a region is GDALMDArray::Read's own
// selection (arrayStartIdx, count and arrayStep per axis), which reads only the
// chunks it touches. An array at the dataset root (path "")
// is the root group's only array, under the name GDAL gives it (the last part of
// the dataset's path); so is an array written alone, below a dataset root that is
// no group (no .zgroup or zarr.json), opened by its own directory. Stores: local paths, S3 through
// /vsis3/<bucket>/<key> with the AWS_* configuration options set per request as
// thread-local configuration options (AWS_S3_ENDPOINT host:port,
// AWS_VIRTUAL_HOSTING=FALSE, AWS_HTTPS, AWS_REGION, the keys or
// AWS_NO_SIGN_REQUEST=YES), HTTP through /vsicurl/<url>; GDAL's /vsicurl/ caches
// are cleared before each remote read. The dtype reported is the one GDAL
// presents: GDAL 3.6 has no Int8 (|i1 is presented as Int16), no Float16 (<f2 as
// Float32) and no boolean (|b1 as Byte); fixed-length strings are GDAL strings,
// reported as S<n> when GDAL knows their maximum length n and as `string` when it
// does not (GDAL 3.6 gives <U<n> no length). Attributes: GDAL's JSON-subtype
// strings (objects, mixed lists, booleans, null) are decoded as JSON, numeric
// attributes read in their own type (64-bit integers exactly); "units",
// "scale_factor" and "add_offset", which GDAL presents through GetUnit(), GetScale()
// and GetOffset() instead of as attributes, are reported from those.
//
// Writing: GDALDriver::CreateMultiDimensional with FORMAT=ZARR_V2, groups with
// CreateGroup, one dimension per axis (dim0, dim1, ...) in the array's group, and
// CreateMDArray with the driver's array creation options: BLOCKSIZE,
// CHUNK_MEMORY_LAYOUT (C/F), DIM_SEPARATOR, COMPRESS (ZLIB/GZIP/LZMA/ZSTD/LZ4/BLOSC
// with their level options), FILTER=DELTA with DELTA_DTYPE, STRING_FORMAT
// (STRING for S<n>, UNICODE for U<n>). The fill value is SetRawNoDataValue.
// What the driver cannot write answers `unsupported` (see the reasons below):
// GDAL < 3.8 writes FORMAT=ZARR_V3 as the 2021 draft of Zarr V3 (zarr.json with a
// purl protocol, meta/root/<path>.array.json), not the final specification;
// N5 has no GDAL driver.
#include <gdal_priv.h>
#include <cpl_error.h>
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

#include "zc_canonical.h"

#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "this adapter assumes a little-endian host (canonical bytes are little-endian)"
#endif

using json = nlohmann::json;

namespace {

constexpr int PROTOCOL = 2;  // 2: reads of a region (docs/protocol.md)

// --- outcomes --------------------------------------------------------------------

struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct Failure : std::runtime_error {  // the library's error, already "Type: message"
    using std::runtime_error::runtime_error;
};
using zc::BadRequest;

// GDAL reports errors through CPLError; they are collected per request.
struct ErrorLog {
    std::vector<std::pair<CPLErrorNum, std::string>> errors;
};
ErrorLog *g_log = nullptr;

const char *cple_name(CPLErrorNum n) {
    switch (n) {
    case CPLE_AppDefined: return "CPLE_AppDefined";
    case CPLE_OutOfMemory: return "CPLE_OutOfMemory";
    case CPLE_FileIO: return "CPLE_FileIO";
    case CPLE_OpenFailed: return "CPLE_OpenFailed";
    case CPLE_IllegalArg: return "CPLE_IllegalArg";
    case CPLE_NotSupported: return "CPLE_NotSupported";
    case CPLE_AssertionFailed: return "CPLE_AssertionFailed";
    case CPLE_NoWriteAccess: return "CPLE_NoWriteAccess";
    case CPLE_UserInterrupt: return "CPLE_UserInterrupt";
    case CPLE_ObjectNull: return "CPLE_ObjectNull";
    case CPLE_HttpResponse: return "CPLE_HttpResponse";
    case CPLE_AWSBucketNotFound: return "CPLE_AWSBucketNotFound";
    case CPLE_AWSObjectNotFound: return "CPLE_AWSObjectNotFound";
    case CPLE_AWSAccessDenied: return "CPLE_AWSAccessDenied";
    case CPLE_AWSInvalidCredentials: return "CPLE_AWSInvalidCredentials";
    case CPLE_AWSSignatureDoesNotMatch: return "CPLE_AWSSignatureDoesNotMatch";
    default: return "CPLE_Error";
    }
}

void CPL_STDCALL collect_errors(CPLErr cls, CPLErrorNum num, const char *msg) {
    std::fprintf(stderr, "GDAL %s %d: %s\n", cls >= CE_Failure ? "error" : "warning", num, msg);
    if (cls >= CE_Failure && g_log) g_log->errors.emplace_back(num, msg ? msg : "");
}

// A failure of `what`: GDAL's own error text when it gave one.
[[noreturn]] void fail(const std::string &what) {
    if (g_log && !g_log->errors.empty()) {
        const auto &e = g_log->errors.back();
        throw Failure(std::string(cple_name(e.first)) + ": " + e.second);
    }
    throw Failure("GDALError: " + what + " failed (GDAL gave no error message)");
}

std::string version() { return GDALVersionInfo("RELEASE_NAME"); }

// --- JSON helpers ----------------------------------------------------------------------

std::string dump(const json &v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Failure("OSError: cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// --- canonical forms: zc_canonical.cpp -------------------------------------------------

using zc::num_by_gdt;
using zc::num_by_name;
using zc::number_json;
using zc::NumType;

// --- per-request configuration (S3 / HTTP) ------------------------------------------------

// Thread-local GDAL configuration options for the duration of one request.
class ScopedOptions {
  public:
    void set(const std::string &k, const char *v) {
        const char *old = CPLGetThreadLocalConfigOption(k.c_str(), nullptr);
        saved_.emplace_back(k, old ? std::make_unique<std::string>(old) : nullptr);
        CPLSetThreadLocalConfigOption(k.c_str(), v);
    }
    ~ScopedOptions() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
            CPLSetThreadLocalConfigOption(it->first.c_str(), it->second ? it->second->c_str() : nullptr);
    }

  private:
    std::vector<std::pair<std::string, std::unique_ptr<std::string>>> saved_;
};

std::string gdal_path(const json &target, ScopedOptions &opts) {
    std::string kind = target.value("kind", "");
    if (kind == "local") {
        std::string p = target.value("path", "");
        if (p.empty()) throw BadRequest("target.path missing");
        return p;
    }
    if (kind == "s3") {
        std::string ep = target.value("endpoint", "");
        std::string region = target.contains("region") && target["region"].is_string()
                                 ? target["region"].get<std::string>() : "us-east-1";
        if (!ep.empty()) {
            bool https = ep.rfind("https://", 0) == 0;
            std::string host = ep.substr(ep.find("://") == std::string::npos ? 0 : ep.find("://") + 3);
            while (!host.empty() && host.back() == '/') host.pop_back();
            opts.set("AWS_S3_ENDPOINT", host.c_str());
            opts.set("AWS_HTTPS", https ? "YES" : "NO");
            opts.set("AWS_VIRTUAL_HOSTING", "FALSE");
        }
        opts.set("AWS_REGION", region.c_str());
        opts.set("AWS_DEFAULT_REGION", region.c_str());
        if (target.value("anonymous", false)) {
            opts.set("AWS_NO_SIGN_REQUEST", "YES");
            opts.set("AWS_ACCESS_KEY_ID", nullptr);
            opts.set("AWS_SECRET_ACCESS_KEY", nullptr);
        } else {
            opts.set("AWS_NO_SIGN_REQUEST", "NO");
            opts.set("AWS_ACCESS_KEY_ID", target.value("access_key_id", "").c_str());
            opts.set("AWS_SECRET_ACCESS_KEY", target.value("secret_access_key", "").c_str());
        }
        opts.set("AWS_SESSION_TOKEN", nullptr);
        std::string key = target.value("key", "");
        while (!key.empty() && key.front() == '/') key.erase(0, 1);
        while (!key.empty() && key.back() == '/') key.pop_back();
        VSICurlClearCache();
        return "/vsis3/" + target.value("bucket", "") + (key.empty() ? "" : "/" + key);
    }
    if (kind == "gcs") {
        // /vsigs/ (the XML API) at the emulator's endpoint. GDAL 3.6 signs GCS requests with HMAC keys
        // or OAuth2 tokens it fetches from Google's token service; it takes no static bearer token, so
        // the adapter reads unsigned in every access mode (the emulator checks no credentials).
        // GS_NO_SIGN_REQUEST also keeps GDAL from looking for a GCE metadata server.
        std::string ep = target.value("endpoint", "");
        while (!ep.empty() && ep.back() == '/') ep.pop_back();
        opts.set("CPL_GS_ENDPOINT", (ep + "/").c_str());
        opts.set("GS_NO_SIGN_REQUEST", "YES");
        for (const char *k : {"GS_ACCESS_KEY_ID", "GS_SECRET_ACCESS_KEY", "GS_OAUTH2_REFRESH_TOKEN",
                              "GS_OAUTH2_PRIVATE_KEY", "GS_OAUTH2_PRIVATE_KEY_FILE", "GS_OAUTH2_CLIENT_EMAIL"})
            opts.set(k, nullptr);
        std::string prefix = target.value("prefix", "");
        while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        VSICurlClearCache();
        return "/vsigs/" + target.value("bucket", "") + (prefix.empty() ? "" : "/" + prefix);
    }
    if (kind == "azure") {
        // /vsiaz/ at the emulator's endpoint (path-style, http://HOST:PORT/ACCOUNT): a connection string
        // with the account key when signed; the account and AZURE_NO_SIGN_REQUEST when anonymous.
        std::string ep = target.value("endpoint", "");
        while (!ep.empty() && ep.back() == '/') ep.pop_back();
        std::string account = target.value("account", "");
        for (const char *k : {"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCESS_KEY",
                              "AZURE_STORAGE_SAS_TOKEN", "AZURE_SAS", "AZURE_STORAGE_ACCESS_TOKEN"})
            opts.set(k, nullptr);
        if (target.value("anonymous", false)) {
            opts.set("AZURE_STORAGE_ACCOUNT", account.c_str());
            opts.set("AZURE_NO_SIGN_REQUEST", "YES");
            opts.set("CPL_AZURE_ENDPOINT", ep.c_str());
            opts.set("CPL_AZURE_USE_HTTPS", ep.rfind("https://", 0) == 0 ? "YES" : "NO");
        } else {
            std::string cs = "DefaultEndpointsProtocol=http;AccountName=" + account +
                             ";AccountKey=" + target.value("key", "") + ";BlobEndpoint=" + ep;
            opts.set("AZURE_STORAGE_CONNECTION_STRING", cs.c_str());
            opts.set("AZURE_NO_SIGN_REQUEST", "NO");
        }
        std::string prefix = target.value("prefix", "");
        while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        VSICurlClearCache();
        return "/vsiaz/" + target.value("container", "") + (prefix.empty() ? "" : "/" + prefix);
    }
    if (kind == "http") {
        std::string url = target.value("url", "");
        while (!url.empty() && url.back() == '/') url.pop_back();
        VSICurlClearCache();
        return "/vsicurl/" + url;
    }
    throw Unsupported("store kind '" + kind + "' is not known to this adapter");
}

// --- read ---------------------------------------------------------------------------------

json attribute_json(const std::shared_ptr<GDALAttribute> &attr) {
    const auto &dt = attr->GetDataType();
    const size_t ndims = attr->GetDimensionCount();
    if (dt.GetClass() == GEDTC_STRING) {
        if (ndims == 0) {
            const char *s = attr->ReadAsString();
            if (!s) return nullptr;
            if (dt.GetSubType() == GEDTST_JSON) {
                auto v = json::parse(s, nullptr, false);
                if (!v.is_discarded()) return v;
            }
            return s;
        }
        json out = json::array();
        CPLStringList list = attr->ReadAsStringArray();
        for (int i = 0; i < list.size(); i++) out.push_back(list[i]);
        return out;
    }
    if (dt.GetClass() == GEDTC_NUMERIC) {
        GDALDataType g = dt.GetNumericDataType();
        auto raw = attr->ReadAsRaw();
        const size_t n = static_cast<size_t>(attr->GetTotalElementsCount());
        const size_t size = static_cast<size_t>(GDALGetDataTypeSizeBytes(g));
        if (!raw.data()) fail("reading attribute " + attr->GetName());
        if (ndims == 0) return number_json(g, raw.data());
        json out = json::array();
        for (size_t i = 0; i < n; i++) out.push_back(number_json(g, raw.data() + i * size));
        return out;
    }
    throw Unsupported("attribute " + attr->GetName() + " has a compound data type");
}

struct ReadResult {
    std::vector<GUInt64> shape;
    std::string dtype;
    std::string canon;
    json fill;
    json attributes = json::object();
};

ReadResult read_array(const json &target, const std::string &path, const std::string &format,
                      const std::optional<zc::Region> &region) {
    if (format == "n5") throw Unsupported("GDAL has no N5 driver");
    if (format != "zarr2" && format != "zarr3") throw Unsupported("format '" + format + "' is not Zarr");
    ScopedOptions opts;
    std::string root = gdal_path(target, opts);
    const char *const drivers[] = {"Zarr", nullptr};
    std::string full = "/" + path;
    while (full.size() > 1 && full.back() == '/') full.pop_back();
    std::unique_ptr<GDALDataset> ds(GDALDataset::Open(root.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR,
                                                      drivers, nullptr, nullptr));
    VSIStatBufL st;
    if (!ds && full != "/" && VSIStatL((root + "/.zgroup").c_str(), &st) != 0 &&
        VSIStatL((root + "/zarr.json").c_str(), &st) != 0) {
        // The dataset root is no group: the array was written alone (cpp-zarr writes no group above it).
        // GDAL's users open such an array by its own directory, where GDAL presents it as the root group's
        // only array.
        if (g_log) g_log->errors.clear();
        root += full;
        full = "/";
        ds.reset(GDALDataset::Open(root.c_str(), GDAL_OF_MULTIDIM_RASTER | GDAL_OF_VERBOSE_ERROR, drivers, nullptr,
                                   nullptr));
    }
    if (!ds) fail("GDALDataset::Open(" + root + ")");
    auto rg = ds->GetRootGroup();
    if (!rg) fail("GetRootGroup");
    if (full == "/") {
        // An array at the dataset root (.zarray or zarr.json of an array at the top, no group
        // above it): GDAL presents it as the only array of its root group, under a name of its
        // own (the last part of the dataset's path), which is how its users open it.
        const auto names = rg->GetMDArrayNames();
        if (names.size() == 1 && rg->GetGroupNames().empty()) full = "/" + names[0];
    }
    auto arr = rg->OpenMDArrayFromFullname(full);
    if (!arr) {
        if (g_log && g_log->errors.empty()) {
            // GDAL found no array and said nothing: say what its root group holds.
            std::string arrays, groups;
            for (const auto &n : rg->GetMDArrayNames()) arrays += (arrays.empty() ? "" : ", ") + n;
            for (const auto &n : rg->GetGroupNames()) groups += (groups.empty() ? "" : ", ") + n;
            throw Failure("GDALError: OpenMDArrayFromFullname(" + full + ") found no array; GDAL " + version() +
                          "'s Zarr driver opened the dataset with root arrays [" + arrays + "] and groups [" +
                          groups + "]");
        }
        fail("OpenMDArrayFromFullname(" + full + ")");
    }

    ReadResult res;
    std::vector<GUInt64> start;
    std::vector<size_t> count;
    std::vector<GInt64> step;
    for (const auto &d : arr->GetDimensions()) res.shape.push_back(d->GetSize());
    if (region) {
        // only the region: Read's start, count and step per axis
        zc::check_region(*region, std::vector<uint64_t>(res.shape.begin(), res.shape.end()));
        for (size_t i = 0; i < region->size(); i++) {
            const zc::Slice &s = (*region)[i];
            start.push_back(s.start);
            step.push_back(static_cast<GInt64>(std::min<uint64_t>(s.step, INT64_MAX)));  // (beyond: the same single element)
            res.shape[i] = s.count();
        }
    } else {
        start.assign(res.shape.size(), 0);
    }
    size_t nelem = 1;
    for (auto n : res.shape) {
        count.push_back(static_cast<size_t>(n));
        nelem *= static_cast<size_t>(n);
    }
    const GInt64 *steps = region ? step.data() : nullptr;
    const auto &dt = arr->GetDataType();
    if (dt.GetClass() == GEDTC_NUMERIC) {
        const NumType *nt = num_by_gdt(dt.GetNumericDataType());
        if (!nt)
            throw Unsupported(std::string("GDAL data type ") + GDALGetDataTypeName(dt.GetNumericDataType()) +
                              " has no canonical dtype");
        res.dtype = nt->name;
        res.canon.assign(nelem * static_cast<size_t>(nt->size), '\0');
        if (nelem && !arr->Read(start.data(), count.data(), steps, nullptr, dt, &res.canon[0]))
            fail("GDALMDArray::Read");
        zc::canonical_fixed(*nt, res.canon);
        res.fill = zc::numeric_fill_json(*nt, arr->GetRawNoDataValue());
    } else if (dt.GetClass() == GEDTC_STRING) {
        const size_t maxlen = dt.GetMaxStringLength();
        auto sdt = GDALExtendedDataType::CreateString();
        std::vector<char *> strs(nelem ? nelem : 1, nullptr);
        bool ok = !nelem || arr->Read(start.data(), count.data(), steps, nullptr, sdt, strs.data());
        std::vector<std::string> vals;
        for (size_t i = 0; i < nelem; i++) {
            vals.emplace_back(strs[i] ? strs[i] : "");
            CPLFree(strs[i]);
        }
        if (!ok) fail("GDALMDArray::Read");
        // S<n> (the bytes, cut or NUL-padded to n) when GDAL knows the length, else `string`
        res.dtype = maxlen > 0 ? "S" + std::to_string(maxlen) : "string";
        res.canon = zc::canonical_strings(vals, maxlen);
        res.fill = zc::string_fill_json(arr->GetRawNoDataValue(), maxlen > 0);
    } else {
        throw Unsupported("the array has a compound data type");
    }
    for (const auto &attr : arr->GetAttributes()) res.attributes[attr->GetName()] = attribute_json(attr);
    // GDAL takes the CF attributes "units", "scale_factor" and "add_offset" out of the attribute
    // list and presents them through GetUnit(), GetScale() and GetOffset() (and writes them back
    // under those names): they are the array's attributes as GDAL's users see them.
    if (!arr->GetUnit().empty() && !res.attributes.contains("units")) res.attributes["units"] = arr->GetUnit();
    bool has = false;
    double v = arr->GetScale(&has);
    if (has && !res.attributes.contains("scale_factor")) res.attributes["scale_factor"] = zc::json_double(v);
    has = false;
    v = arr->GetOffset(&has);
    if (has && !res.attributes.contains("add_offset")) res.attributes["add_offset"] = zc::json_double(v);
    return res;
}

// --- write ----------------------------------------------------------------------------------

bool is_int(const json &v) { return v.is_number_integer() || v.is_number_unsigned(); }

// Writes one attribute: strings as strings, numbers as Int32/Int64/UInt64/Float64,
// lists of numbers / of strings as 1-d attributes, anything else (objects, booleans,
// null, mixed lists) as a JSON-subtype string, which GDAL's Zarr driver stores as JSON.
void put_attribute(GDALIHasAttribute *owner, const std::string &name, const json &v) {
    std::shared_ptr<GDALAttribute> a;
    bool ok = false;
    auto create = [&](const std::vector<GUInt64> &dims, const GDALExtendedDataType &dt) {
        a = owner->CreateAttribute(name, dims, dt, nullptr);
        if (!a) fail("CreateAttribute(" + name + ")");
    };
    if (v.is_string()) {
        create({}, GDALExtendedDataType::CreateString());
        ok = a->Write(v.get_ref<const std::string &>().c_str());
    } else if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        create({}, GDALExtendedDataType::Create(GDT_UInt64));
        uint64_t u = v.get<uint64_t>();
        ok = a->Write(&u, sizeof u);
    } else if (is_int(v)) {
        int64_t i = v.get<int64_t>();
        if (i >= INT32_MIN && i <= INT32_MAX) {
            create({}, GDALExtendedDataType::Create(GDT_Int32));
            ok = a->WriteInt(static_cast<int>(i));
        } else {
            create({}, GDALExtendedDataType::Create(GDT_Int64));
            ok = a->Write(&i, sizeof i);
        }
    } else if (v.is_number_float()) {
        create({}, GDALExtendedDataType::Create(GDT_Float64));
        ok = a->Write(v.get<double>());
    } else if (v.is_array() && !v.empty() &&
               (std::all_of(v.begin(), v.end(), [](const json &e) { return e.is_number(); }) ||
                std::all_of(v.begin(), v.end(), [](const json &e) { return e.is_string(); }))) {
        const GUInt64 st[1] = {0};
        const size_t cnt[1] = {v.size()};
        if (v[0].is_string()) {
            auto sdt = GDALExtendedDataType::CreateString();
            create({v.size()}, sdt);
            std::vector<const char *> ptrs;
            for (const auto &e : v) ptrs.push_back(e.get_ref<const std::string &>().c_str());
            ok = a->Write(st, cnt, nullptr, nullptr, sdt, ptrs.data());
        } else if (std::all_of(v.begin(), v.end(), [](const json &e) {
                       return e.is_number_integer() || (e.is_number_unsigned() && e.get<uint64_t>() <= INT64_MAX);
                   })) {
            auto idt = GDALExtendedDataType::Create(GDT_Int64);
            create({v.size()}, idt);
            std::vector<int64_t> vals;
            for (const auto &e : v) vals.push_back(e.get<int64_t>());
            ok = a->Write(st, cnt, nullptr, nullptr, idt, vals.data());
        } else {
            auto ddt = GDALExtendedDataType::Create(GDT_Float64);
            create({v.size()}, ddt);
            std::vector<double> vals;
            for (const auto &e : v) vals.push_back(e.get<double>());
            ok = a->Write(st, cnt, nullptr, nullptr, ddt, vals.data());
        }
    } else {
        create({}, GDALExtendedDataType::CreateString(0, GEDTST_JSON));
        ok = a->Write(dump(v).c_str());
    }
    if (!ok) fail("writing attribute " + name);
}

void put_attributes(GDALIHasAttribute *owner, const json &attrs) {
    if (attrs.is_null()) return;
    if (!attrs.is_object()) throw BadRequest("attributes must be a JSON object");
    for (auto it = attrs.begin(); it != attrs.end(); ++it) put_attribute(owner, it.key(), it.value());
}

struct Encoding {
    std::string dtype;
    const NumType *nt = nullptr;  // numeric, or nullptr for S<n>/U<n>
    size_t strlen_n = 0;
    bool unicode = false;
    size_t itemsize = 0;
    CPLStringList options;
};

std::string level_of(const json &comp, const char *key, int dflt) {
    if (comp.contains(key) && comp[key].is_number_integer()) return std::to_string(comp[key].get<int>());
    return std::to_string(dflt);
}

Encoding plan(const json &kase) {
    Encoding e;
    e.dtype = kase.value("dtype", "");
    const std::string &dt = e.dtype;
    if (dt == "bool") throw Unsupported("GDAL has no boolean data type (its Zarr driver writes Byte as '|u1')");
    if (dt == "float16") throw Unsupported("GDAL " + version() + " has no 16-bit float data type");
    if (dt == "string")
        throw Unsupported("GDAL's Zarr driver writes strings as fixed-length '|S<n>' or '<U<n>' only, no "
                          "variable-length (vlen-utf8) strings");
    if (dt == "int8" && !num_by_name(dt))
        throw Unsupported("GDAL " + version() + " has no 8-bit signed data type (GDT_Int8 came in GDAL 3.7)");
    if ((dt[0] == 'S' || dt[0] == 'U') && dt.size() > 1) {
        e.strlen_n = std::stoul(dt.substr(1));
        e.unicode = dt[0] == 'U';
        e.itemsize = e.unicode ? 4 * e.strlen_n : e.strlen_n;
        e.options.SetNameValue("STRING_FORMAT", e.unicode ? "UNICODE" : "STRING");
    } else {
        e.nt = num_by_name(dt);
        if (!e.nt) throw BadRequest("unknown dtype " + dt);
        e.itemsize = static_cast<size_t>(e.nt->size);
    }
    std::string chunks;
    for (const auto &c : kase.at("chunks")) chunks += (chunks.empty() ? "" : ",") + std::to_string(c.get<uint64_t>());
    if (!chunks.empty()) e.options.SetNameValue("BLOCKSIZE", chunks.c_str());
    e.options.SetNameValue("CHUNK_MEMORY_LAYOUT", kase.value("order", "C").c_str());
    if (kase.contains("dimension_separator") && kase["dimension_separator"].is_string())
        e.options.SetNameValue("DIM_SEPARATOR", kase["dimension_separator"].get<std::string>().c_str());

    const json filters = kase.value("filters", json());
    if (filters.is_array() && !filters.empty()) {
        if (filters.size() > 1)
            throw Unsupported("GDAL's Zarr driver writes at most one filter (FILTER=DELTA), not a chain of " +
                              std::to_string(filters.size()));
        const json &f = filters[0];
        std::string id = f.value("id", "");
        if (id != "delta") throw Unsupported("GDAL's Zarr driver writes only the delta filter, not '" + id + "'");
        e.options.SetNameValue("FILTER", "DELTA");
        if (f.contains("dtype")) e.options.SetNameValue("DELTA_DTYPE", f["dtype"].get<std::string>().c_str());
        if (f.contains("astype") && f["astype"] != f.value("dtype", json()))
            throw Unsupported("GDAL's delta filter has no astype distinct from dtype");
    }
    const json comp = kase.value("compressor", json());
    if (comp.is_null()) {
        e.options.SetNameValue("COMPRESS", "NONE");
        return e;
    }
    std::string id = comp.value("id", "");
    if (id == "zlib") {
        e.options.SetNameValue("COMPRESS", "ZLIB");
        e.options.SetNameValue("ZLIB_LEVEL", level_of(comp, "level", 6).c_str());
    } else if (id == "gzip") {
        e.options.SetNameValue("COMPRESS", "GZIP");
        e.options.SetNameValue("GZIP_LEVEL", level_of(comp, "level", 6).c_str());
    } else if (id == "zstd") {
        e.options.SetNameValue("COMPRESS", "ZSTD");
        e.options.SetNameValue("ZSTD_LEVEL", level_of(comp, "level", 13).c_str());
    } else if (id == "lz4") {
        e.options.SetNameValue("COMPRESS", "LZ4");
        e.options.SetNameValue("LZ4_ACCELERATION", level_of(comp, "acceleration", 1).c_str());
    } else if (id == "lzma") {
        // GDAL's LZMA codec writes the xz format with a preset; filters / other formats have no option.
        if (comp.contains("filters") && !comp["filters"].is_null())
            throw Unsupported("GDAL's LZMA codec takes a preset, not an LZMA filter chain");
        if (comp.contains("format") && comp["format"] != 1)
            throw Unsupported("GDAL's LZMA codec writes the xz container (format 1) only");
        e.options.SetNameValue("COMPRESS", "LZMA");
        if (comp.contains("preset") && comp["preset"].is_number_integer())
            e.options.SetNameValue("LZMA_PRESET", std::to_string(comp["preset"].get<int>()).c_str());
    } else if (id == "blosc") {
        e.options.SetNameValue("COMPRESS", "BLOSC");
        e.options.SetNameValue("BLOSC_CNAME", comp.value("cname", "lz4").c_str());
        e.options.SetNameValue("BLOSC_CLEVEL", level_of(comp, "clevel", 5).c_str());
        // GDAL 3.6 copies the option value into the JSON as a string ("shuffle": "BIT"), whichever spelling is used
        static const char *SHUFFLES[] = {"NONE", "BYTE", "BIT"};
        int sh = comp.value("shuffle", 1);
        if (sh < 0 || sh > 2) throw Unsupported("GDAL's blosc codec has no shuffle mode " + std::to_string(sh));
        e.options.SetNameValue("BLOSC_SHUFFLE", SHUFFLES[sh]);
        e.options.SetNameValue("BLOSC_BLOCKSIZE", level_of(comp, "blocksize", 0).c_str());
    } else {
        throw Unsupported("GDAL's Zarr driver has no '" + id +
                          "' compressor (it writes blosc, zlib, gzip, lzma, zstd, lz4)");
    }
    return e;
}

void set_fill(GDALMDArray &arr, const json &fill, const Encoding &e) {
    if (fill.is_null()) return;  // no nodata: GDAL writes "fill_value": null
    bool ok;
    if (!e.nt) {
        std::string f = zc::text_fill_from_json(fill, e.unicode);
        const char *p = f.c_str();
        ok = arr.SetRawNoDataValue(&p);
    } else {
        std::string raw = zc::raw_fill_from_json(fill, *e.nt);
        ok = arr.SetRawNoDataValue(raw.data());
    }
    if (!ok) fail("SetRawNoDataValue");
}

// UTF-32LE code units (NUL-padded) -> UTF-8
std::string utf32_to_utf8(const unsigned char *p, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = p[4 * i] | (p[4 * i + 1] << 8) | (p[4 * i + 2] << 16) | (static_cast<uint32_t>(p[4 * i + 3]) << 24);
        if (c == 0) break;
        if (c < 0x80) out += static_cast<char>(c);
        else if (c < 0x800) { out += static_cast<char>(0xc0 | (c >> 6)); out += static_cast<char>(0x80 | (c & 0x3f)); }
        else if (c < 0x10000) {
            out += static_cast<char>(0xe0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return out;
}

void write_case(const json &kase, const std::string &data_path, const json &target) {
    if (target.value("kind", "") != "local") throw Unsupported("this adapter writes to local stores only");
    const std::string fmt = kase.value("format", "");
    if (fmt == "n5") throw Unsupported("GDAL has no N5 driver");
    if (fmt == "zarr3") {
#if GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 8, 0)
        throw Unsupported("GDAL " + version() + " writes FORMAT=ZARR_V3 as the 2021 draft of Zarr V3 (zarr.json with "
                          "the purl protocol, meta/root/<path>.array.json), not the final v3 specification "
                          "(that came in GDAL 3.8)");
#else
        throw Unsupported("this adapter maps v3 codec chains only for GDAL 3.6 (untested on GDAL " + version() + ")");
#endif
    }
    if (fmt != "zarr2") throw BadRequest("unknown format " + fmt);
    const auto shape = kase.at("shape").get<std::vector<uint64_t>>();
    const auto chunks = kase.at("chunks").get<std::vector<uint64_t>>();
    if (shape.size() != chunks.size()) throw BadRequest("shape and chunks differ in length");
    if (kase.value("path", "array").empty())
        throw Unsupported("GDAL's Zarr driver creates a dataset as a group (.zgroup) with its arrays below it "
                          "(Create() puts the array in a group and names it after the file, ARRAY_NAME); it has "
                          "no way to write an array at the dataset root");
    Encoding enc = plan(kase);

    size_t nelem = 1;
    for (auto s : shape) nelem *= static_cast<size_t>(s);
    std::string data = read_file(data_path);
    if (data.size() != nelem * enc.itemsize)
        throw BadRequest("data holds " + std::to_string(data.size()) + " bytes, the case needs " +
                         std::to_string(nelem * enc.itemsize));

    auto *drv = GetGDALDriverManager()->GetDriverByName("Zarr");
    if (!drv) throw Unsupported("this GDAL has no Zarr driver");
    const std::string root = target.value("path", "");
    CPLStringList dsopts;
    dsopts.SetNameValue("FORMAT", "ZARR_V2");
    std::unique_ptr<GDALDataset> ds(drv->CreateMultiDimensional(root.c_str(), nullptr, dsopts.List()));
    if (!ds) fail("CreateMultiDimensional(" + root + ")");
    {
        auto rg = ds->GetRootGroup();
        if (!rg) fail("GetRootGroup");
        std::map<std::string, std::shared_ptr<GDALGroup>> groups{{"", rg}};
        auto ensure = [&](const std::string &gpath) -> std::shared_ptr<GDALGroup> {
            std::string cur;
            std::shared_ptr<GDALGroup> g = rg;
            std::stringstream ss(gpath);
            std::string part;
            while (std::getline(ss, part, '/')) {
                if (part.empty()) continue;
                cur += (cur.empty() ? "" : "/") + part;
                auto it = groups.find(cur);
                if (it == groups.end()) {
                    auto child = g->CreateGroup(part, nullptr);
                    if (!child) fail("CreateGroup(" + cur + ")");
                    it = groups.emplace(cur, child).first;
                }
                g = it->second;
            }
            return g;
        };
        const json gattrs = kase.value("groups", json::object());
        std::vector<std::string> names;
        for (auto it = gattrs.begin(); it != gattrs.end(); ++it) names.push_back(it.key());
        std::sort(names.begin(), names.end(), [](const std::string &a, const std::string &b) {
            auto da = std::count(a.begin(), a.end(), '/'), db = std::count(b.begin(), b.end(), '/');
            return da != db ? da < db : a < b;
        });
        for (const auto &n : names) put_attributes(ensure(n).get(), gattrs[n]);

        const std::string path = kase.value("path", "array");
        const auto slash = path.rfind('/');
        auto grp = ensure(slash == std::string::npos ? "" : path.substr(0, slash));
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        std::vector<std::shared_ptr<GDALDimension>> dims;
        for (size_t i = 0; i < shape.size(); i++) {
            auto d = grp->CreateDimension("dim" + std::to_string(i), "", "", shape[i], nullptr);
            if (!d) fail("CreateDimension");
            dims.push_back(d);
        }
        auto dt = enc.nt ? GDALExtendedDataType::Create(enc.nt->gdt) : GDALExtendedDataType::CreateString(enc.strlen_n);
        auto arr = grp->CreateMDArray(name, dims, dt, enc.options.List());
        if (!arr) fail("CreateMDArray(" + path + ")");
        set_fill(*arr, kase.value("fill_value", json()), enc);
        put_attributes(arr.get(), kase.value("attributes", json::object()));

        // the data: strings as one char* per element
        std::vector<std::string> strs;
        std::vector<const char *> ptrs;
        const void *src = data.data();
        size_t item = enc.itemsize;
        auto mem_dt = dt;
        if (!enc.nt) {
            mem_dt = GDALExtendedDataType::CreateString();
            for (size_t i = 0; i < nelem; i++) {
                const auto *p = reinterpret_cast<const unsigned char *>(data.data()) + i * enc.itemsize;
                if (enc.unicode) strs.push_back(utf32_to_utf8(p, enc.strlen_n));
                else {
                    std::string s(reinterpret_cast<const char *>(p), enc.strlen_n);
                    while (!s.empty() && s.back() == '\0') s.pop_back();
                    strs.push_back(s);
                }
            }
            for (const auto &s : strs) ptrs.push_back(s.c_str());
            src = ptrs.data();
            item = sizeof(const char *);
        }
        std::set<std::vector<uint64_t>> missing;
        for (const auto &m : kase.value("missing_chunks", json::array())) missing.insert(m.get<std::vector<uint64_t>>());
        const size_t nd = shape.size();
        std::vector<GUInt64> start(nd, 0);
        std::vector<size_t> count(shape.begin(), shape.end());
        if (missing.empty()) {
            if (nelem && !arr->Write(start.data(), count.data(), nullptr, nullptr, mem_dt, src)) fail("GDALMDArray::Write");
        } else {
            // chunk by chunk, leaving the missing ones out; strides address the whole buffer
            std::vector<GPtrDiff_t> stride(nd, 1);
            for (size_t d = nd; d-- > 1;) stride[d - 1] = stride[d] * static_cast<GPtrDiff_t>(shape[d]);
            std::vector<uint64_t> grid(nd), idx(nd, 0);
            for (size_t d = 0; d < nd; d++) grid[d] = chunks[d] ? (shape[d] + chunks[d] - 1) / chunks[d] : 0;
            bool empty = std::any_of(grid.begin(), grid.end(), [](uint64_t g) { return g == 0; });
            while (!empty) {
                if (!missing.count(idx)) {
                    size_t off = 0;
                    for (size_t d = 0; d < nd; d++) {
                        start[d] = idx[d] * chunks[d];
                        count[d] = static_cast<size_t>(std::min<uint64_t>(chunks[d], shape[d] - start[d]));
                        off += static_cast<size_t>(start[d]) * static_cast<size_t>(stride[d]);
                    }
                    const void *p = static_cast<const char *>(src) + off * item;
                    if (!arr->Write(start.data(), count.data(), nullptr, stride.data(), mem_dt, p))
                        fail("GDALMDArray::Write");
                }
                size_t d = nd;
                while (d > 0 && ++idx[d - 1] == grid[d - 1]) idx[--d] = 0;
                if (d == 0) break;
            }
        }
    }
    // Closing flushes the chunk cache and writes the metadata; failures show as CPLErrors.
    GDALClose(GDALDataset::ToHandle(ds.release()));
    if (g_log && !g_log->errors.empty()) fail("closing the dataset");
}

// --- protocol ------------------------------------------------------------------------------

json hello() {
    json components = {
        {"gdal", GDALVersionInfo("--version")},
        {"nlohmann-json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) +
                              "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH)},
        {"openssl", OpenSSL_version(OPENSSL_VERSION)},
    };
    return {{"ok", true},         {"impl", "gdal"},       {"version", version()}, {"language", "c++"},
            {"verbs", {"read", "write"}}, {"protocol", PROTOCOL}, {"components", components}};
}

json handle(const json &req) {
    const json id = req.contains("id") ? req["id"] : json();
    const std::string op = req.contains("op") && req["op"].is_string() ? req["op"].get<std::string>() : "";
    if (op == "hello") return hello();
    ErrorLog log;
    g_log = &log;
    json resp;
    try {
        if (op == "write") {
            for (const char *k : {"case", "data", "target"})
                if (!req.contains(k)) throw BadRequest(std::string("missing ") + k);
            write_case(req["case"], req["data"].get<std::string>(), req["target"]);
            resp = {{"status", "ok"}};
        } else if (op == "read") {
            if (!req.contains("target") || !req["target"].is_object()) throw BadRequest("missing target");
            auto t0 = std::chrono::steady_clock::now();
            const auto region = zc::parse_region(req.value("region", json()));
            ReadResult r = read_array(req["target"], req.value("path", ""),
                                      req.contains("format") && req["format"].is_string() ? req["format"].get<std::string>() : "",
                                      region);
            double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            if (req.contains("dump") && req["dump"].is_string()) {
                std::ofstream f(req["dump"].get<std::string>(), std::ios::binary);
                f.write(r.canon.data(), static_cast<std::streamsize>(r.canon.size()));
                if (!f) throw Failure("OSError: cannot write dump " + req["dump"].get<std::string>());
            }
            resp = {{"status", "ok"},           {"shape", r.shape},          {"dtype", r.dtype},
                    {"hash", zc::sha256_hex(r.canon)}, {"fill_value", r.fill},    {"attributes", r.attributes},
                    {"elapsed_ms", std::round(ms * 1000) / 1000}};
        } else {
            throw BadRequest("unknown op " + (req.contains("op") ? dump(req["op"]) : std::string("(none)")));
        }
    } catch (const Unsupported &e) {
        resp = {{"status", "unsupported"}, {"error", e.what()}};
    } catch (const BadRequest &e) {
        resp = {{"status", "error"}, {"error", std::string("BadRequest: ") + e.what()}};
    } catch (const Failure &e) {
        resp = {{"status", "error"}, {"error", e.what()}};
    } catch (const json::exception &e) {
        resp = {{"status", "error"}, {"error", std::string("BadRequest: ") + e.what()}};
    } catch (const std::exception &e) {
        resp = {{"status", "error"}, {"error", std::string("std::exception: ") + e.what()}};
    }
    g_log = nullptr;
    resp["id"] = id;
    return resp;
}

FILE *g_out = nullptr;

void emit(const json &resp, int indent) {
    std::string s = resp.dump(indent, ' ', false, json::error_handler_t::replace);
    std::fputs(s.c_str(), g_out);
    std::fputc('\n', g_out);
    std::fflush(g_out);
}

json arg_json(const std::string &text) {
    std::string t = text;
    if (!t.empty() && t[0] == '@') t = read_file(t.substr(1));
    return json::parse(t);
}

[[noreturn]] void usage(const char *prog) {
    std::fprintf(stderr,
                 "usage: %s [serve]\n       %s hello\n"
                 "       %s read --target-json J --path P --format F [--dump D] [--region-json R]\n"
                 "       %s write --case-json J|@file --data F --target-json J\n",
                 prog, prog, prog, prog);
    std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
    // Protocol output only on stdout: whatever the library prints goes to stderr.
    g_out = fdopen(dup(1), "w");
    dup2(2, 1);
    GDALAllRegister();
    CPLSetErrorHandler(collect_errors);

    if (argc < 2 || std::string(argv[1]) == "serve") {
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
            json req = json::parse(line, nullptr, false);
            if (req.is_discarded() || !req.is_object()) {
                emit({{"id", nullptr}, {"status", "error"},
                      {"error", req.is_discarded() ? "BadRequest: invalid JSON" : "BadRequest: a request is a JSON object"}},
                     -1);
                continue;
            }
            if (req.value("op", json()) == "bye") break;
            emit(handle(req), -1);
        }
        return 0;
    }
    std::string cmd = argv[1];
    std::map<std::string, std::string> args;
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc || std::strncmp(argv[i], "--", 2)) usage(argv[0]);
        args[argv[i] + 2] = argv[i + 1];
    }
    json req;
    try {
        if (cmd == "hello") req = {{"op", "hello"}, {"protocol", PROTOCOL}};
        else if (cmd == "read") {
            if (!args.count("target-json")) usage(argv[0]);
            req = {{"op", "read"}, {"id", "cli"}, {"target", arg_json(args["target-json"])}, {"path", args["path"]},
                   {"format", args.count("format") ? json(args["format"]) : json()},
                   {"dump", args.count("dump") ? json(args["dump"]) : json()},
                   {"region", args.count("region-json") ? arg_json(args["region-json"]) : json()}};
        } else if (cmd == "write") {
            if (!args.count("target-json") || !args.count("case-json") || !args.count("data")) usage(argv[0]);
            req = {{"op", "write"}, {"id", "cli"}, {"case", arg_json(args["case-json"])}, {"data", args["data"]},
                   {"target", arg_json(args["target-json"])}};
        } else usage(argv[0]);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    json resp = handle(req);
    emit(resp, 2);
    return resp.value("ok", false) || resp.value("status", "") == "ok" ? 0 : 1;
}
