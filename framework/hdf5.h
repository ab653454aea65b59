#pragma once
// heed::h5: a small RAII wrapper over the HDF5 C API, enough for checkpoints.
//
// Names are paths from the root group with '/' as the only separator; dots are ordinary
// characters, so a PyTorch state_dict key is stored as one dataset name:
//
//   h5::write_atomically("runs/x/last.h5", "checkpoint", [&](h5::File& out) {
//     out.write_f32("model/encoder.layers.0.self_attn.in_proj_weight", {1536, 512}, w.data());
//     out.set_attr_i64("/", "format_version", 3);
//   });
//   const h5::File in = h5::File::open("runs/x/last.h5", "checkpoint");
//
// Files heed writes are built in memory (HDF5's core driver, no disk I/O inside HDF5) and written
// by write_atomically with a 512-byte header in HDF5's user block: "heed-hdf5", the file's kind,
// the number of bytes after the header and their CRC-32 (framework/hdf5_header.h). open() reads the
// whole file, verifies that header before HDF5 parses a byte, and opens the bytes from memory.
// HDF5, h5py and h5dump skip the user block, so the files stay plain HDF5 to every other tool.
//
// Every failure throws heed::Error whose message starts with the file, e.g.
//   "checkpoint runs/x/last.h5: dataset model/weight has type int64, expected float32".

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace heed::h5 {

/// An open HDF5 file: read-only (open), being filled in memory (write_atomically), or freshly
/// truncated on disk (create).
///
/// Move-only; the destructor closes the file and swallows errors, so call close() when a write
/// must be known to have reached the disk. Datasets are written once: writing a name that exists
/// throws, while attributes are replaced. Reads never convert: read_f32 of an int64 dataset throws
/// instead of rounding. The serial HDF5 library is not thread-safe, so use one thread at a time.
class File {
 public:
  /// The `kind` of a file that is not named more precisely; open() accepts a heed file of any
  /// kind under it.
  static constexpr const char* kAnyKind = "HDF5 file";

  /// Creates `path` on disk, truncating any existing file, as any HDF5 tool writes it: no heed
  /// header, written by HDF5 itself (not atomically). For tests and tools that need a plain HDF5
  /// file (as h5py writes one); heed's own files go through write_atomically. `kind` names the
  /// file in error messages ("checkpoint runs/x/last.h5: ...").
  static File create(const std::string& path, const std::string& kind = kAnyKind);
  /// Opens `path` read-only: reads the whole file into memory and, if it starts with the heed
  /// header, verifies its length and CRC-32 before HDF5 sees it; a file that starts with the
  /// plain HDF5 signature (written by h5py, or by create()) is opened unverified. Throws
  /// heed::Error naming the file when it is missing, a directory, empty, truncated, fails its
  /// checksum, is neither a heed file nor HDF5, or HDF5 cannot open it.
  static File open(const std::string& path, const std::string& kind = kAnyKind);

  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  const std::string& path() const { return path_; }
  /// The kind in the heed header of a file open() verified ("checkpoint", "inspection"); "" for
  /// a file without the header (verified by nothing) and for a file being written.
  const std::string& heed_kind() const { return heed_kind_; }
  bool is_open() const { return id_ >= 0; }

  // Writing. Missing parent groups are created; shape {} writes a scalar dataspace. `data` holds
  // the product of `shape` elements in row-major order and may be null when that product is 0.
  void write_f32(const std::string& name, const std::vector<int64_t>& shape, const float* data);
  void write_i64(const std::string& name, const std::vector<int64_t>& shape, const int64_t* data);
  void write_u64(const std::string& name, const std::vector<int64_t>& shape, const uint64_t* data);
  /// A scalar variable-length UTF-8 string (h5py reads it as bytes; `.asstr()[()]` gives str).
  void write_string(const std::string& name, const std::string& text);
  /// Makes sure group `name` exists (creating missing parents), so that an empty group (an
  /// optimizer without state yet) is stored. A no-op for an existing group; throws if `name` is
  /// a dataset.
  void create_group(const std::string& name);
  /// `object_name` is a group or dataset that exists already; "/" is the root group.
  void set_attr_i64(const std::string& object_name, const std::string& attr, int64_t value);
  void set_attr_string(const std::string& object_name, const std::string& attr,
                       const std::string& value);

  // Reading.
  /// True if a group or dataset of that name exists; false (not an error) if a parent is missing.
  bool has(const std::string& name) const;
  bool is_group(const std::string& name) const;
  bool has_attr(const std::string& object_name, const std::string& attr) const;
  /// {} for a scalar dataset.
  std::vector<int64_t> shape(const std::string& name) const;
  /// "float32", "float64", "int64", "uint8", "string", ... for messages such as
  /// "expected float32, found int64".
  std::string dtype_name(const std::string& name) const;
  std::vector<float> read_f32(const std::string& name) const;
  std::vector<int64_t> read_i64(const std::string& name) const;
  std::vector<uint64_t> read_u64(const std::string& name) const;
  /// Reads a one-element string dataset, variable- or fixed-length (as h5py writes np.bytes_).
  std::string read_string(const std::string& name) const;
  int64_t get_attr_i64(const std::string& object_name, const std::string& attr) const;
  std::string get_attr_string(const std::string& object_name, const std::string& attr) const;
  /// Names of the direct children of `group` ("/" for the root), sorted bytewise.
  std::vector<std::string> list(const std::string& group) const;

  void flush();
  /// Closes the file, throwing if HDF5 fails to write it out. Closing twice is a no-op; any other
  /// call on a closed file throws.
  void close();

 private:
  // The bytes HDF5 works on for a file in memory, shared with HDF5 through file image callbacks
  // so that no copy is made (defined in hdf5.cpp).
  struct Image;

  File(int64_t id, std::string path, std::string kind, bool writable,
       std::unique_ptr<Image> image = nullptr);
  std::string where() const { return kind_ + " " + path_; }
  void require_open() const;
  void require_writable(const std::string& name) const;

  friend void write_atomically(const std::string& path, const std::string& kind,
                               const std::function<void(File&)>& fill);

  std::unique_ptr<Image> image_;  // null for a file on disk; HDF5 uses it until id_ is closed
  int64_t id_ = -1;  // an hid_t; kept as int64_t so this header does not pull in <hdf5.h>
  std::string path_;
  std::string kind_;
  std::string heed_kind_;
  bool writable_ = false;
};

/// Creates `path` atomically: `fill` writes into an HDF5 file in memory, which gets the heed
/// header (`kind`, its length and CRC-32) in its 512-byte user block and is written with
/// files::write_atomically (checked writes into a temporary file beside `path`, fsync, rename,
/// fsync of the directory). A crash or kill at any moment leaves either the old file or the new
/// one, never a half-written one, and HDF5 never touches the disk, so a full disk is one
/// heed::Error ("cannot write checkpoint runs/x/last.h5: No space left on device") with `path`
/// left as it was. Errors from `fill` propagate unchanged; nothing is written then.
void write_atomically(const std::string& path, const std::string& kind,
                      const std::function<void(File&)>& fill);

}  // namespace heed::h5
