#include "framework/hdf5_header.h"

#include <zlib.h>

#include <charconv>
#include <cstdio>
#include <vector>

#include "framework/error.h"
#include "framework/hdf5.h"

namespace heed::h5 {
namespace {

constexpr std::string_view kMagic = "heed-hdf5\n";
constexpr std::string_view kHdf5Signature = "\x89HDF\r\n\x1a\n";
constexpr const char* kChanged = "the file is corrupt or was changed after heed wrote it";

struct Header {
  std::string kind;
  uint64_t payload_bytes = 0;
  uint32_t crc32 = 0;
};

template <class... Parts>
[[noreturn]] void fail(const std::string& where, const Parts&... parts) {
  throw Error(detail::concat(where, ": ", parts...));
}

std::string hex(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

bool valid_kind(std::string_view kind) {
  if (kind.empty()) return false;
  for (const char c : kind)
    if (c < ' ' || c > '~') return false;
  return true;
}

std::string render(const Header& h) {
  std::string text = std::string(kMagic) + "kind " + h.kind + "\npayload_bytes " +
                     std::to_string(h.payload_bytes) + "\ncrc32 " + hex(h.crc32) + "\n";
  HEED_CHECK(text.size() <= kHeaderBytes, "heed header: kind \"", h.kind, "\" is too long");
  text.resize(kHeaderBytes, '\0');
  return text;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      lines.push_back(text);  // a last line without its newline: render() tells it apart
      break;
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

template <class T>
bool parse_number(std::string_view text, int base, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The fields of a header, which must then render back to exactly the same 512 bytes: a byte
// changed anywhere in the header (padding included) is caught, not only in the fields.
Header parse_header(std::string_view header, const std::string& where) {
  const auto corrupt = [&](const std::string& what) {
    fail(where, "corrupt heed header (the first ", kHeaderBytes, " bytes): ", what, "; ", kChanged);
  };
  const std::vector<std::string_view> lines = lines_of(header.substr(0, header.find('\0')));
  if (lines.size() != 4) corrupt("expected 4 lines, found " + std::to_string(lines.size()));
  const auto value = [&](size_t i, std::string_view key) {
    if (lines[i].substr(0, key.size()) != key)
      corrupt("line " + std::to_string(i + 1) + " does not start with \"" + std::string(key) +
              "\"");
    return lines[i].substr(key.size());
  };
  Header h;
  h.kind = value(1, "kind ");
  if (!valid_kind(h.kind)) corrupt("the kind is not printable text");
  if (!parse_number(value(2, "payload_bytes "), 10, h.payload_bytes))
    corrupt("payload_bytes is not a number");
  const std::string_view crc = value(3, "crc32 ");
  if (crc.substr(0, 2) != "0x" || !parse_number(crc.substr(2), 16, h.crc32))
    corrupt("crc32 is not a hexadecimal number");
  if (render(h) != header) corrupt("it differs from the header its own fields give");
  return h;
}

bool is_prefix(std::string_view bytes, std::string_view of) {
  return bytes.size() <= of.size() && of.substr(0, bytes.size()) == bytes;
}

}  // namespace

uint32_t crc32_of(std::string_view bytes, uint32_t previous) {
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  return static_cast<uint32_t>(crc32_z(previous, data, bytes.size()));
}

std::string make_header(const std::string& kind, std::string_view payload) {
  HEED_CHECK(valid_kind(kind), "heed header: kind \"", kind,
             "\" must be one line of printable text");
  return render({kind, payload.size(), crc32_of(payload)});
}

std::string verify_file(std::string_view bytes, const std::string& where, const std::string& kind) {
  if (bytes.empty()) fail(where, "empty file (0 bytes)");
  if (bytes.substr(0, kHdf5Signature.size()) == kHdf5Signature) return "";
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    if (is_prefix(bytes, kMagic) || is_prefix(bytes, kHdf5Signature))
      fail(where, "truncated: only ", bytes.size(), " bytes");
    if (kind == File::kAnyKind) fail(where, "not an HDF5 file");
    fail(where, "not an HDF5 file or a heed ", kind);
  }
  if (bytes.size() < kHeaderBytes)
    fail(where, "truncated: ", bytes.size(), " bytes, shorter than its ", kHeaderBytes,
         "-byte heed header");
  const Header h = parse_header(bytes.substr(0, kHeaderBytes), where);
  const std::string_view payload = bytes.substr(kHeaderBytes);
  if (payload.size() < h.payload_bytes)
    fail(where, "truncated: its header says ", h.payload_bytes, " bytes follow the ", kHeaderBytes,
         "-byte header, found ", payload.size(),
         " (the file was cut short, e.g. by a full disk or an interrupted copy)");
  if (payload.size() > h.payload_bytes)
    fail(where, payload.size(), " bytes follow the ", kHeaderBytes, "-byte header, which says ",
         h.payload_bytes, "; ", kChanged);
  const uint32_t crc = crc32_of(payload);
  if (crc != h.crc32)
    fail(where, "checksum mismatch (the CRC-32 of the bytes after the header is ", hex(crc),
         ", the header says ", hex(h.crc32), "): ", kChanged);
  return h.kind;
}

}  // namespace heed::h5
