#pragma once
// A first reading of an HDF5 file that no checksum vouches for, in a child process.
//
// HDF5 1.10's parser is not safe on malformed input: a few changed bytes of a file make it
// crash (a SEGV in free, a NULL memcpy, an overlapping memcpy of 2^60 bytes) or hang
// (docs/fuzzing.md; measured: 33 crashes and 7 hangs in 5,430 bit flips of an h5py-written file).
// heed's own files carry a CRC-32 that is verified before HDF5 sees them (hdf5_header.h); a file
// without that header (weights written by h5py for init_from, a checkpoint of heed before
// format_version 3) is first read whole in a forked child: every object, attribute and dataset.
// Only when the child came through does the caller's process parse the file, so a malformed
// file ends as one heed::Error naming it, never as a crash or a hang of heed.
//
// The child touches HDF5 and malloc only (no OpenMP, whose runtime does not survive a fork).

#include <cstdint>
#include <functional>
#include <string>

namespace heed::h5 {

/// Forks; the child calls `open` (which returns an open HDF5 file id of the same bytes), reads
/// every object of it and exits. Throws heed::Error starting with `where` when the child was
/// killed by a signal or did not finish within a time that grows with `bytes` (then it is
/// killed). Returns normally when the child finished, whether HDF5 reported an error or not:
/// the caller's own reading then reports it.
void probe_in_child(const std::function<int64_t()>& open, int64_t bytes, const std::string& where);

}  // namespace heed::h5
