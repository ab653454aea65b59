#pragma once
// Readers for the IDX file format (http://yann.lecun.com/exdb/mnist/) and for the Fashion-MNIST
// dataset stored in it.
//
// An IDX file is: two zero bytes, an element type byte, a dimension count byte, one big-endian
// uint32 per dimension, then the elements in row-major order. Only element type 0x08 (unsigned
// byte) is supported, which is all MNIST and Fashion-MNIST use. Files may be gzipped or plain;
// zlib detects which.
//
// Every failure throws heed::Error with a one-line message that starts with the file path.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace heed::data {

// A dense uint8 array in row-major order. data.size() is the product of dims; every dim is >= 1.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads the IDX file at `path`, gzipped or plain.
//
// Throws heed::Error, message prefixed with `path`, when the file cannot be opened or read, the
// magic is wrong (the bytes found are printed in hex), the element type is not 0x08, there are no
// dimensions, a dimension is 0, the element count reaches 2^31, the data is shorter than the header
// promises (bytes expected vs found), bytes follow the data, the gzip stream is corrupt or cut
// short (zlib's message is included), or bytes that are not a gzip member follow it.
IdxArray read_idx(const std::string& path);

// Parses an IDX file held in memory, gzipped (it starts with gzip's magic 1f 8b; consecutive
// members are read as one stream, as gzip does) or plain. read_idx is this over the file's bytes.
// `name` starts every error message (a path, or where the bytes came from).
//
// Throws heed::Error as read_idx does, for everything after opening and reading the file.
IdxArray parse_idx(std::span<const uint8_t> bytes, const std::string& name);

// One split of Fashion-MNIST, as stored on disk: no normalisation, no shuffling.
//   images: dims [N, 28, 28], pixel intensities 0..255, 0 is background.
//   labels: dims [N], class ids 0..9 (0 T-shirt/top, ..., 9 ankle boot).
struct FashionMnistSplit {
  IdxArray images;
  IdxArray labels;
};

// Reads split "train" (train-*-ubyte, N = 60000) or "test" (t10k-*-ubyte, N = 10000) from `dir`.
// The gzipped files as distributed are preferred; a gunzipped copy without ".gz" is used when the
// gzipped one is absent.
//
// Throws heed::Error for an unknown split (listing the valid ones), for anything read_idx rejects,
// and, naming the offending file, when images are not [N, 28, 28], labels are not [N] with the same
// N, or a label is 10 or more.
FashionMnistSplit read_fashion_mnist(const std::string& dir, const std::string& split);

}  // namespace heed::data
