// The KV cache of continuous batching: one pool of fixed-size blocks shared by every sequence, and a
// sequence's block table, which grows a block at a time (nothing is ever copied) and gives its
// blocks back to the pool when the sequence ends or is cancelled. Blocks are reference-counted, so
// sequences whose prompts begin alike can share the blocks of the common prefix.
#pragma once
#include <cstdint>
#include <mutex>
#include <vector>

#include "models/llama.hpp"

namespace omni::runtime {

class KvBlockPool {
 public:
  // n_blocks blocks of block_tokens slots (block_tokens must divide 256) of K and V in `type`.
  KvBlockPool(const models::LlamaHParams& hp, int n_blocks, int block_tokens, DType type = DType::f16);
  KvBlockPool(const KvBlockPool&) = delete;
  KvBlockPool& operator=(const KvBlockPool&) = delete;

  int n_blocks() const { return storage_.n_blocks(); }
  int block_tokens() const { return storage_.block_tokens(); }
  int blocks_for(int n_tokens) const { return (n_tokens + block_tokens() - 1) / block_tokens(); }
  int n_free() const;
  int n_used() const { return n_blocks() - n_free(); }
  double use() const { return double(n_used()) / double(n_blocks()); }  // 0..1
  size_t bytes() const { return storage_.bytes(); }

  // A free block (the most recently released first); throws omni::Error(busy) when all are in use.
  int allocate();
  // n free blocks appended to `out`, or none (false) when fewer than n are free.
  bool allocate(int n, std::vector<int32_t>& out);
  // One more user of a block in use (a shared prefix).
  void retain(int block);
  // Drops one user of a block; the last one gives it back. Throws omni::Error(internal) for a block
  // that is not in use.
  void release(int block);
  int users(int block) const;

  models::LlamaKvBlocks& storage() { return storage_; }

 private:
  models::LlamaKvBlocks storage_;
  mutable std::mutex mutex_;
  std::vector<int32_t> free_;   // a stack
  std::vector<int32_t> users_;  // per block: sequences using it (0: free)
};

// One sequence's slots in the pool: slot s lives in blocks()[s / block_tokens].
class KvSequence {
 public:
  explicit KvSequence(KvBlockPool& pool) : pool_(&pool) {}
  ~KvSequence() { release(); }
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  // Makes slots [0, n_tokens) available, taking whole blocks; all or nothing: false (and no new
  // block) when the pool has too few free blocks.
  bool reserve(int n_tokens);
  // Starts the table (which must be empty) with blocks of another sequence, shared, not copied.
  void share(const std::vector<int32_t>& blocks);
  void release();  // every block back to the pool
  int capacity() const { return int(blocks_.size()) * pool_->block_tokens(); }
  const std::vector<int32_t>& blocks() const { return blocks_; }

 private:
  KvBlockPool* pool_;
  std::vector<int32_t> blocks_;
};

}  // namespace omni::runtime
