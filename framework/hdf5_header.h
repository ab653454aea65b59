#pragma once
// The heed header: 512 bytes at the start of every HDF5 file heed writes, in the file's HDF5 user
// block (which HDF5, h5py and h5dump skip), so that a file can be checked before HDF5 parses it:
//
//   heed-hdf5\n
//   kind checkpoint\n
//   payload_bytes 48632\n
//   crc32 0x1c291ca3\n
//   \0 ... \0            (zeros up to byte 512)
//
// payload_bytes is the number of bytes after the header and crc32 their CRC-32 (zlib's, the one
// Python's zlib.crc32 computes), so a truncated, extended or changed file is caught at once:
//
//   python3 -c 'import sys, zlib; print(hex(zlib.crc32(open(sys.argv[1], "rb").read()[512:])))'
//   f.h5
//
// The header is canonical: a file whose first 512 bytes differ in any way from the header its
// own fields would give is corrupt.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace heed::h5 {

/// The size of the user block that holds the header (HDF5 wants a power of two, at least 512).
constexpr size_t kHeaderBytes = 512;

/// The header for a file of `kind` ("checkpoint", "inspection"; one line of printable text)
/// whose bytes after the header are `payload`. Exactly kHeaderBytes long.
std::string make_header(const std::string& kind, std::string_view payload);

/// Classifies and verifies the whole content of a file: returns the header's kind for a heed
/// file whose length and CRC-32 match, "" for a file that starts with the plain HDF5 signature
/// (h5py, h5::File::create), which has nothing to verify. `where` starts every message
/// ("checkpoint runs/x/last.h5") and `kind` names what the caller expected in one of them.
/// Throws heed::Error: "<where>: empty file (0 bytes)", "<where>: truncated: ...",
/// "<where>: checksum mismatch ...", "<where>: corrupt heed header ...", "<where>: not an HDF5
/// file or a heed checkpoint" ("not an HDF5 file" when `kind` is File::kAnyKind).
std::string verify_file(std::string_view bytes, const std::string& where, const std::string& kind);

/// zlib's CRC-32 of `bytes`, of any length; of `previous`'s bytes followed by `bytes` when
/// `previous` is the CRC-32 of those (zlib's chaining).
uint32_t crc32_of(std::string_view bytes, uint32_t previous = 0);

}  // namespace heed::h5
