/*
 * assay_scan: finds, in one native pass, every position of a JavaScript string where one of a set of
 * regular expressions (the detectors' patterns) has a match starting, and which ones match there.
 *
 * - The string's UTF-16 code units become one byte each: ASCII stays, JavaScript's non-ASCII white space
 *   becomes ' ', anything else 0x80 (no word, digit or space class contains it). Offsets are then string
 *   indices, and every match the detectors' JavaScript regexes (ASCII classes, no `u` flag) can make is
 *   also a match here, so the positions are a superset of theirs; JavaScript confirms each one.
 * - StartDfa (start_dfa.h) finds every (pattern, start) pair in one backward DFA pass over the text.
 * - For patterns outside its syntax (custom detectors may use any RE2 syntax), RE2 does it start by start:
 *   one alternation of all patterns finds the leftmost match start at or after a position; an anchored
 *   RE2::Set names the patterns matching from that start (from the character before it, so that
 *   assertions there see it). The search then resumes one character later,
 *   so starts inside another pattern's match are found too. Same answer, one restart per candidate.
 * - It also counts the text's newlines up to a position, for line numbers, and tells one-byte strings.
 * - Findings' fingerprints (HMAC-SHA256) are computed here in batches, with Node's own OpenSSL: the key's pad
 *   blocks are hashed once, and a value then costs two compressions instead of a crypto.createHmac object.
 */
#include <node_api.h>
#include <v8.h>
#include <re2/re2.h>
#include <re2/set.h>

#include "start_dfa.h"

#include <algorithm>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// DFA memory for the big alternation: RE2 falls back to a slow NFA when its default 8 MB runs out.
constexpr int64_t kMaxMem = int64_t{256} << 20;

struct Scanner {
  std::unique_ptr<startdfa::StartDfa> dfa;
  std::unique_ptr<re2::RE2> first;
  std::unique_ptr<re2::RE2::Set> at;
  // The same patterns after one any-byte: anchored one character early, a start's \b, \B or ^ is judged with
  // the character before it, as in the whole text (RE2::Set takes no context). Built for the RE2 path only.
  std::unique_ptr<re2::RE2::Set> afterOne;
  std::vector<uint8_t> bytes;
  std::vector<uint16_t> units;
  std::vector<int32_t> out;
  std::vector<int> ids;
};

re2::RE2::Options options(bool caseless = false) {
  re2::RE2::Options o;
  o.set_encoding(re2::RE2::Options::EncodingLatin1);
  o.set_max_mem(kMaxMem);
  o.set_log_errors(false);
  o.set_case_sensitive(!caseless);
  return o;
}

napi_value Throw(napi_env env, const std::string &message) {
  napi_throw_error(env, "ASSAY_SCAN", message.c_str());
  return nullptr;
}

std::string GetString(napi_env env, napi_value value) {
  size_t length = 0;
  napi_get_value_string_utf8(env, value, nullptr, 0, &length);
  std::string out(length, '\0');
  napi_get_value_string_utf8(env, value, out.data(), length + 1, &length);
  return out;
}

void Finalize(napi_env, void *data, void *) { delete static_cast<Scanner *>(data); }

// compile(patterns: string[], re2Only = false): Scanner. Patterns carry their own flags, e.g. "(?i:...)".
// RE2 compiles every pattern (it is the judge of what is valid); StartDfa scans when it can.
napi_value Compile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint32_t count = 0;
  if (argc < 1 || napi_get_array_length(env, argv[0], &count) != napi_ok)
    return Throw(env, "compile(patterns): patterns must be an array of strings");
  auto scanner = std::make_unique<Scanner>();
  scanner->at = std::make_unique<re2::RE2::Set>(options(), re2::RE2::ANCHOR_START);
  bool re2Only = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &re2Only);
  std::string alternation;
  std::vector<std::string> patterns;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, argv[0], i, &item);
    std::string pattern = GetString(env, item);
    patterns.push_back(pattern);
    std::string error;
    if (scanner->at->Add(pattern, &error) != static_cast<int>(i))
      return Throw(env, "pattern " + std::to_string(i) + ": " + error);
    if (i) alternation += '|';
    alternation += "(?:" + pattern + ")";
  }
  if (!scanner->at->Compile()) return Throw(env, "cannot compile the pattern set (out of memory)");
  scanner->first = std::make_unique<re2::RE2>(alternation, options());
  if (!scanner->first->ok()) return Throw(env, "cannot compile the alternation: " + scanner->first->error());
  if (!re2Only) {
    try {
      scanner->dfa = std::make_unique<startdfa::StartDfa>(patterns);
    } catch (const startdfa::Unsupported &) {
      scanner->dfa.reset();
    }
  }
  if (!scanner->dfa) {
    scanner->afterOne = std::make_unique<re2::RE2::Set>(options(), re2::RE2::ANCHOR_START);
    for (const std::string &pattern : patterns) scanner->afterOne->Add("(?s:.)(?:" + pattern + ")", nullptr);
    if (!scanner->afterOne->Compile()) return Throw(env, "cannot compile the pattern set (out of memory)");
  }
  napi_value result;
  napi_create_object(env, &result);
  napi_wrap(env, result, scanner.release(), Finalize, nullptr, nullptr);
  return result;
}

inline uint8_t MapUnit(uint16_t c) {
  if (c < 0x80) return c == 0x0b ? ' ' : static_cast<uint8_t>(c);
  if (c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
      c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff)
    return ' ';
  return 0x80;
}

// The arguments of a call whose first is a Scanner, and that Scanner; nullptr (an error thrown) when there
// are fewer than `required` arguments or the first is not a Scanner.
template <size_t N>
Scanner *ScannerCall(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t &argc, size_t required,
                     const char *usage) {
  argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Scanner *s = nullptr;
  if (argc < required || napi_unwrap(env, argv[0], reinterpret_cast<void **>(&s)) != napi_ok) {
    Throw(env, std::string(usage) + ": not a scanner");
    return nullptr;
  }
  return s;
}

// scan(scanner, text: string, newlinesTo = -1): Int32Array of (pattern index, start) pairs, starts
// ascending; when newlinesTo >= 0, followed by one more element: the count of '\n' in text[0, newlinesTo).
napi_value Scan(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc;
  Scanner *s = ScannerCall(env, info, argv, argc, 2, "scan(scanner, text)");
  if (!s) return nullptr;
  // N-API has no zero-conversion access to a one-byte string: read it through V8 (napi_value is a
  // v8::Local<v8::Value> in every Node version), one memcpy instead of a UTF-8 or UTF-16 conversion.
  v8::Local<v8::Value> value;
  static_assert(sizeof(value) == sizeof(argv[1]), "napi_value is a v8::Local");
  std::memcpy(static_cast<void *>(&value), &argv[1], sizeof(value));
  if (!value->IsString()) return Throw(env, "scan(scanner, text): text must be a string");
  v8::Local<v8::String> string = value.As<v8::String>();
  const size_t length = static_cast<size_t>(string->Length());
  s->bytes.resize(length + 1);
  uint8_t *bytes = s->bytes.data();
  if (string->IsOneByte()) {
    string->WriteOneByte(v8::Isolate::GetCurrent(), bytes, 0, static_cast<int>(length),
                         v8::String::NO_NULL_TERMINATION);
    // Mostly plain ASCII: a branch-free (vectorised) test first, the per-byte mapping only when needed.
    uint8_t unusual = 0;
    for (size_t i = 0; i < length; i++) unusual |= (bytes[i] >= 0x80) | (bytes[i] == 0x0b);
    if (unusual)
      for (size_t i = 0; i < length; i++)
        if (bytes[i] >= 0x80 || bytes[i] == 0x0b) bytes[i] = MapUnit(bytes[i]);
  } else {
    s->units.resize(length + 1);
    string->Write(v8::Isolate::GetCurrent(), s->units.data(), 0, static_cast<int>(length),
                  v8::String::NO_NULL_TERMINATION);
    for (size_t i = 0; i < length; i++) bytes[i] = MapUnit(s->units[i]);
  }
  s->out.clear();
  if (s->dfa) {
    s->dfa->Scan(bytes, length, [&](size_t start, const int *patterns, size_t count) {
      for (size_t k = 0; k < count; k++) {
        s->out.push_back(patterns[k]);
        s->out.push_back(static_cast<int32_t>(start));
      }
    });
  } else {
    const char *data = reinterpret_cast<const char *>(s->bytes.data());
    const re2::StringPiece text(data, length);
    re2::StringPiece match;
    size_t pos = 0;
    while (pos <= length && s->first->Match(text, pos, length, re2::RE2::UNANCHORED, &match, 1)) {
      const size_t start = match.data() - data;
      s->ids.clear();
      if (start == 0)
        s->at->Match(re2::StringPiece(data, length), &s->ids);
      else
        s->afterOne->Match(re2::StringPiece(data + start - 1, length - start + 1), &s->ids);
      std::sort(s->ids.begin(), s->ids.end());
      for (int id : s->ids) {
        s->out.push_back(id);
        s->out.push_back(static_cast<int32_t>(start));
      }
      pos = start + 1;
    }
  }
  int32_t newlinesTo = -1;
  if (argc >= 3) napi_get_value_int32(env, argv[2], &newlinesTo);
  if (newlinesTo >= 0) {
    // Counted here, where the bytes already are: a vectorised pass instead of an indexOf call per line.
    const size_t to = std::min(static_cast<size_t>(newlinesTo), length);
    int32_t newlines = 0;
    for (size_t i = 0; i < to; i++) newlines += bytes[i] == '\n';
    s->out.push_back(newlines);
  }
  napi_value buffer, array;
  void *result = nullptr;
  napi_create_arraybuffer(env, s->out.size() * sizeof(int32_t), &result, &buffer);
  if (!s->out.empty()) std::memcpy(result, s->out.data(), s->out.size() * sizeof(int32_t));
  napi_create_typedarray(env, napi_int32_array, s->out.size(), buffer, 0, &array);
  return array;
}

// engine(scanner): "dfa" or "re2", whichever scans.
napi_value Engine(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc;
  Scanner *s = ScannerCall(env, info, argv, argc, 1, "engine(scanner)");
  if (!s) return nullptr;
  napi_value result;
  napi_create_string_utf8(env, s->dfa ? "dfa" : "re2", NAPI_AUTO_LENGTH, &result);
  return result;
}

// isOneByte(text: string): whether V8 holds the string at one byte a character (Latin-1 only).
napi_value IsOneByte(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  v8::Local<v8::Value> value;
  std::memcpy(static_cast<void *>(&value), &argv[0], sizeof(value));
  napi_value result;
  napi_get_boolean(env, argc >= 1 && value->IsString() && value.As<v8::String>()->IsOneByte(), &result);
  return result;
}

struct HmacKey {
  SHA256_CTX inner;
  SHA256_CTX outer;
  std::string utf8;
  std::string hex;
};

void FinalizeKey(napi_env, void *data, void *) {
  auto *key = static_cast<HmacKey *>(data);
  OPENSSL_cleanse(key, sizeof(SHA256_CTX) * 2);
  delete key;
}

// hmacKey(key: Buffer): handle holding SHA-256 states after the key's inner and outer pad blocks (RFC 2104).
napi_value NewHmacKey(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void *data = nullptr;
  size_t length = 0;
  bool isBuffer = false;
  if (argc < 1 || napi_is_buffer(env, argv[0], &isBuffer) != napi_ok || !isBuffer ||
      napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok)
    return Throw(env, "hmacKey(key): key must be a Buffer");
  uint8_t block[SHA256_CBLOCK] = {0};
  if (length > SHA256_CBLOCK)
    SHA256(static_cast<const uint8_t *>(data), length, block);
  else if (length > 0)
    std::memcpy(block, data, length);
  auto key = std::make_unique<HmacKey>();
  uint8_t pad[SHA256_CBLOCK];
  for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&key->inner);
  SHA256_Update(&key->inner, pad, SHA256_CBLOCK);
  for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&key->outer);
  SHA256_Update(&key->outer, pad, SHA256_CBLOCK);
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(pad, sizeof(pad));
  napi_value result;
  napi_create_object(env, &result);
  napi_wrap(env, result, key.release(), FinalizeKey, nullptr, nullptr);
  return result;
}

// hmacHex(key, values: string[]): the lowercase hex HMAC-SHA256 of each value's UTF-8, concatenated
// (64 characters each, in order).
napi_value HmacHex(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  HmacKey *key = nullptr;
  uint32_t count = 0;
  if (argc < 2 || napi_unwrap(env, argv[0], reinterpret_cast<void **>(&key)) != napi_ok)
    return Throw(env, "hmacHex(key, values): not a key");
  if (napi_get_array_length(env, argv[1], &count) != napi_ok)
    return Throw(env, "hmacHex(key, values): values must be an array of strings");
  static const char kDigits[] = "0123456789abcdef";
  key->hex.resize(size_t{count} * 2 * SHA256_DIGEST_LENGTH);
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_get_element(env, argv[1], i, &item);
    size_t length = 0;
    if (napi_get_value_string_utf8(env, item, nullptr, 0, &length) != napi_ok)
      return Throw(env, "hmacHex(key, values): values must be an array of strings");
    key->utf8.resize(length + 1);
    napi_get_value_string_utf8(env, item, key->utf8.data(), length + 1, &length);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX ctx = key->inner;
    SHA256_Update(&ctx, key->utf8.data(), length);
    SHA256_Final(digest, &ctx);
    ctx = key->outer;
    SHA256_Update(&ctx, digest, sizeof(digest));
    SHA256_Final(digest, &ctx);
    char *out = key->hex.data() + size_t{i} * 2 * SHA256_DIGEST_LENGTH;
    for (size_t b = 0; b < SHA256_DIGEST_LENGTH; b++) {
      out[2 * b] = kDigits[digest[b] >> 4];
      out[2 * b + 1] = kDigits[digest[b] & 15];
    }
  }
  OPENSSL_cleanse(key->utf8.data(), key->utf8.size());
  napi_value result;
  napi_create_string_latin1(env, key->hex.data(), key->hex.size(), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"compile", nullptr, Compile, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scan", nullptr, Scan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"engine", nullptr, Engine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"isOneByte", nullptr, IsOneByte, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"hmacKey", nullptr, NewHmacKey, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"hmacHex", nullptr, HmacHex, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
