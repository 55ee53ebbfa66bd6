//===- TensorPool.cpp - Weight tensors stored once by content -------------===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Two weights are the same tensor when their bytes, dtype, encoding and dims
// are equal: then one copy serves every program that uses it, whichever task
// or variant it belongs to (unpruned layers shared by a family's members, a
// segment that several stitched variants reuse). The content hash only finds
// candidates; equality is confirmed byte for byte, so a hash collision can
// never merge two different tensors.
//
// Tensors are laid out in order of first appearance, each at a 64-byte
// aligned offset with zero padding, so the table is sorted by offset (the
// runtime binary-searches it) and the layout depends on the input order
// only. An empty tensor still takes one aligned slot, which keeps every
// offset distinct.
//
//===----------------------------------------------------------------------===//

#include "BundleInternal.h"

#include <cstring>

using namespace sparseloom;
using namespace sparseloom::bundle;

namespace {

bool sameTensor(const format::BundleTensor &entry, const uint8_t *entryBytes,
                const ProgramWeight &weight) {
  const format::TensorDesc &d = weight.desc;
  if (entry.bytes != d.bytes || entry.dtype != d.dtype ||
      entry.encoding != d.encoding || entry.rank != d.rank)
    return false;
  for (unsigned i = 0; i < d.rank; ++i)
    if (entry.dims[i] != d.dims[i])
      return false;
  return std::memcmp(entryBytes, weight.bytes.data(), d.bytes) == 0;
}

} // namespace

uint32_t TensorPool::intern(const ProgramWeight &weight) {
  uint64_t hash = format::fnv1a64(weight.bytes.data(), weight.bytes.size());
  if (dedup_) {
    auto range = byHash_.equal_range(hash);
    for (auto it = range.first; it != range.second; ++it) {
      const format::BundleTensor &entry = entries_[it->second];
      if (sameTensor(entry, data_.data() + entry.offset, weight))
        return it->second;
    }
  }
  format::BundleTensor entry;
  std::memset(&entry, 0, sizeof(entry));
  entry.offset = alignUp(data_.size());
  entry.bytes = weight.bytes.size();
  entry.contentHash = hash;
  entry.dtype = weight.desc.dtype;
  entry.encoding = weight.desc.encoding;
  entry.rank = weight.desc.rank;
  for (unsigned i = 0; i < weight.desc.rank; ++i)
    entry.dims[i] = weight.desc.dims[i];
  data_.resize(entry.offset, 0);
  data_.insert(data_.end(), weight.bytes.begin(), weight.bytes.end());
  // Keep the next slot distinct even after an empty tensor.
  if (entry.bytes == 0)
    data_.resize(entry.offset + kAlign, 0);
  uint32_t index = uint32_t(entries_.size());
  entries_.push_back(entry);
  byHash_.emplace(hash, index);
  return index;
}
