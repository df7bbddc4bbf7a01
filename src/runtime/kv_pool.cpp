// KvBlockPool and KvSequence: a free-list of KV cache blocks and the block table of a sequence.
#include "runtime/kv_pool.hpp"

#include "omni/error.hpp"

namespace omni::runtime {

KvBlockPool::KvBlockPool(const models::LlamaHParams& hp, int n_blocks, int block_tokens, DType type)
    : storage_(hp, n_blocks, block_tokens, type), users_(size_t(n_blocks), 0) {
  free_.reserve(size_t(n_blocks));
  for (int b = n_blocks - 1; b >= 0; --b) free_.push_back(b);  // block 0 comes out first
}

int KvBlockPool::n_free() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return int(free_.size());
}

int KvBlockPool::allocate() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.empty())
    fail(ErrorCode::busy, "the KV cache is full: all ", n_blocks(), " blocks of ", block_tokens(), " tokens are in use");
  const int b = free_.back();
  free_.pop_back();
  users_[size_t(b)] = 1;
  return b;
}

bool KvBlockPool::allocate(int n, std::vector<int32_t>& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (n < 0 || size_t(n) > free_.size()) return false;
  for (int i = 0; i < n; ++i) {
    const int b = free_.back();
    free_.pop_back();
    users_[size_t(b)] = 1;
    out.push_back(b);
  }
  return true;
}

void KvBlockPool::retain(int block) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (block < 0 || block >= n_blocks() || users_[size_t(block)] <= 0)
    fail(ErrorCode::internal, "KV block ", block, " shared but not in use");
  users_[size_t(block)]++;
}

void KvBlockPool::release(int block) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (block < 0 || block >= n_blocks() || users_[size_t(block)] <= 0)
    fail(ErrorCode::internal, "KV block ", block, " released but not in use");
  if (--users_[size_t(block)] == 0) free_.push_back(block);
}

int KvBlockPool::users(int block) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return block >= 0 && block < n_blocks() ? users_[size_t(block)] : 0;
}

bool KvSequence::reserve(int n_tokens) {
  const int need = pool_->blocks_for(n_tokens) - int(blocks_.size());
  return need <= 0 || pool_->allocate(need, blocks_);
}

void KvSequence::share(const std::vector<int32_t>& blocks) {
  if (!blocks_.empty()) fail(ErrorCode::internal, "KvSequence::share on a table that is not empty");
  for (int32_t b : blocks) {
    pool_->retain(b);
    blocks_.push_back(b);
  }
}

void KvSequence::release() {
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) pool_->release(*it);
  blocks_.clear();
}

}  // namespace omni::runtime
