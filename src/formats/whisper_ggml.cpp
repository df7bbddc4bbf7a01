// whisper.cpp legacy ggml file readers (spec whisper-and-silero.md §1 and §4.1-4.2).
#include "formats/whisper_ggml.hpp"

#include <cstring>

#include "omni/error.hpp"

namespace omni::whisper_ggml {
namespace {

class Reader {
 public:
  Reader(const MappedFile& f) : data_(f.data()), size_(f.size()), path_(f.path()) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ >= size_; }
  const std::string& path() const { return path_; }

  void need(size_t n, const char* what) const {
    if (n > size_ - pos_)
      fail(ErrorCode::invalid_file, path_, ": truncated at offset ", pos_, " while reading ", what, " (need ", n,
           " bytes, ", size_ - pos_, " left)");
  }
  int32_t i32(const char* what) {
    need(4, what);
    int32_t v;
    std::memcpy(&v, data_ + pos_, 4);
    pos_ += 4;
    return v;
  }
  const uint8_t* bytes(size_t n, const char* what) {
    need(n, what);
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string path_;
};

void check_magic(Reader& r) {
  const uint32_t magic = uint32_t(r.i32("the magic number"));
  if (magic != kMagic)
    fail(ErrorCode::invalid_file, r.path(), ": bad magic 0x", std::hex, magic, " (expected 0x67676d6c, a whisper.cpp ",
         "ggml file)");
}

// Reads tensor records until EOF.
std::map<std::string, TensorRecord> read_tensors(Reader& r, const uint8_t* base) {
  std::map<std::string, TensorRecord> out;
  while (!r.at_end()) {
    const size_t rec_at = r.pos();
    TensorRecord t;
    t.n_dims = r.i32("a tensor record's n_dims");
    const int32_t name_len = r.i32("a tensor record's name length");
    const int32_t ttype = r.i32("a tensor record's type");
    if (t.n_dims < 0 || t.n_dims > 4)
      fail(ErrorCode::invalid_file, r.path(), ": tensor record at offset ", rec_at, " has n_dims ", t.n_dims,
           " (0..4)");
    if (name_len <= 0 || name_len > 1024)
      fail(ErrorCode::invalid_file, r.path(), ": tensor record at offset ", rec_at, " has name length ", name_len);
    const auto tr = dtype_traits(uint32_t(ttype));
    if (ttype < 0 || !tr || !tr->supported)
      fail(ErrorCode::unsupported, r.path(), ": tensor record at offset ", rec_at, " has unsupported type id ", ttype);
    t.type = DType(ttype);
    for (int d = 0; d < t.n_dims; ++d) {
      t.ne[d] = r.i32("a tensor dimension");
      if (t.ne[d] <= 0 || t.ne[d] > (1 << 24))
        fail(ErrorCode::invalid_file, r.path(), ": tensor record at offset ", rec_at, " has dimension ", d, " = ",
             t.ne[d]);
    }
    const uint8_t* name = r.bytes(size_t(name_len), "a tensor name");
    t.name.assign(reinterpret_cast<const char*>(name), size_t(name_len));
    if (t.ne[0] % tr->block_size != 0)
      fail(ErrorCode::invalid_file, r.path(), ": tensor '", t.name, "' row of ", t.ne[0],
           " elements is not a multiple of the ", dtype_name(t.type), " block size");
    const int64_t n = t.n_elements();
    if (n > (int64_t(1) << 34)) fail(ErrorCode::invalid_file, r.path(), ": tensor '", t.name, "' is too large");
    t.n_bytes = size_t(n / tr->block_size) * tr->type_size;
    t.offset = r.pos();
    t.data = r.bytes(t.n_bytes, ("the data of tensor '" + t.name + "'").c_str());
    (void)base;
    if (out.count(t.name)) fail(ErrorCode::invalid_file, r.path(), ": tensor '", t.name, "' appears twice");
    out.emplace(t.name, t);
  }
  return out;
}

}  // namespace

DType whisper_ftype_to_dtype(int32_t ftype, const std::string& where) {
  switch (ftype % 1000) {
    case 0: return DType::f32;
    case 1: return DType::f16;
    case 2: return DType::q4_0;
    case 3: return DType::q4_1;
    case 7: return DType::q8_0;
    case 8: return DType::q5_0;
    case 9: return DType::q5_1;
    case 10: return DType::q2_k;
    case 11: return DType::q3_k;
    case 12: return DType::q4_k;
    case 13: return DType::q5_k;
    case 14: return DType::q6_k;
    case 24: return DType::bf16;
    default: break;
  }
  fail(ErrorCode::unsupported, where, ": unsupported whisper ftype ", ftype);
}

WhisperFile read_whisper_file(const std::string& path) {
  WhisperFile wf;
  wf.file = MappedFile(path);
  Reader r(wf.file);
  check_magic(r);
  WhisperHParams& hp = wf.hp;
  int32_t* fields[] = {&hp.n_vocab, &hp.n_audio_ctx, &hp.n_audio_state, &hp.n_audio_head, &hp.n_audio_layer,
                       &hp.n_text_ctx, &hp.n_text_state, &hp.n_text_head, &hp.n_text_layer, &hp.n_mels, &hp.ftype};
  for (int32_t* f : fields) *f = r.i32("the hyper-parameters");
  auto check = [&](int32_t v, int32_t lo, int32_t hi, const char* name) {
    if (v < lo || v > hi)
      fail(ErrorCode::invalid_file, path, ": hyper-parameter ", name, " = ", v, " is out of range ", lo, "..", hi);
  };
  check(hp.n_vocab, 51864, 60000, "n_vocab");
  check(hp.n_audio_ctx, 1, 1500, "n_audio_ctx");
  check(hp.n_audio_state, 1, 8192, "n_audio_state");
  check(hp.n_audio_head, 1, 256, "n_audio_head");
  check(hp.n_audio_layer, 1, 256, "n_audio_layer");
  check(hp.n_text_ctx, 8, 4096, "n_text_ctx");
  check(hp.n_text_state, 1, 8192, "n_text_state");
  check(hp.n_text_head, 1, 256, "n_text_head");
  check(hp.n_text_layer, 1, 256, "n_text_layer");
  check(hp.n_mels, 1, 512, "n_mels");
  if (hp.n_audio_state % hp.n_audio_head || hp.n_text_state % hp.n_text_head)
    fail(ErrorCode::invalid_file, path, ": state size is not a multiple of the head count");
  if (hp.n_text_state != hp.n_audio_state)
    fail(ErrorCode::invalid_file, path, ": n_text_state ", hp.n_text_state, " != n_audio_state ", hp.n_audio_state);
  whisper_ftype_to_dtype(hp.ftype, path);
  const int32_t n_mel = r.i32("the mel filter count");
  wf.n_fft = r.i32("the mel filter length");
  if (n_mel != hp.n_mels || wf.n_fft != 201)
    fail(ErrorCode::invalid_file, path, ": mel filter block is ", n_mel, " x ", wf.n_fft, ", expected ", hp.n_mels,
         " x 201");
  const uint8_t* fb = r.bytes(size_t(n_mel) * size_t(wf.n_fft) * 4, "the mel filters");
  wf.mel_filters.resize(size_t(n_mel) * size_t(wf.n_fft));
  std::memcpy(wf.mel_filters.data(), fb, wf.mel_filters.size() * 4);
  const int32_t n_file_vocab = r.i32("the vocabulary size");
  if (n_file_vocab < 0 || n_file_vocab > hp.n_vocab)
    fail(ErrorCode::invalid_file, path, ": vocabulary of ", n_file_vocab, " entries (model has ", hp.n_vocab, ")");
  wf.vocab.resize(size_t(n_file_vocab));
  for (int32_t i = 0; i < n_file_vocab; ++i) {
    const int32_t len = r.i32("a vocabulary entry length");
    if (len < 0 || len > 1024) fail(ErrorCode::invalid_file, path, ": vocabulary entry ", i, " has length ", len);
    const uint8_t* s = r.bytes(size_t(len), "a vocabulary entry");
    wf.vocab[size_t(i)].assign(reinterpret_cast<const char*>(s), size_t(len));
  }
  wf.header_bytes = r.pos();
  wf.tensors = read_tensors(r, wf.file.data());
  return wf;
}

SileroFile read_silero_file(const std::string& path) {
  SileroFile sf;
  sf.file = MappedFile(path);
  Reader r(sf.file);
  check_magic(r);
  SileroHParams& hp = sf.hp;
  const int32_t type_len = r.i32("the model type length");
  if (type_len < 0 || type_len > 256) fail(ErrorCode::invalid_file, path, ": model type length ", type_len);
  const uint8_t* tp = r.bytes(size_t(type_len), "the model type");
  hp.model_type.assign(reinterpret_cast<const char*>(tp), size_t(type_len));
  for (int i = 0; i < 3; ++i) hp.version[i] = r.i32("the version");
  hp.n_window = r.i32("n_window");
  hp.n_context = r.i32("n_context");
  hp.n_encoder_layers = r.i32("n_encoder_layers");
  if (hp.n_window != 512 || hp.n_encoder_layers != 4)
    fail(ErrorCode::unsupported, path, ": Silero VAD with window ", hp.n_window, " and ", hp.n_encoder_layers,
         " encoder layers (only the 16 kHz model: 512, 4)");
  const int32_t expect[4][3] = {{129, 128, 3}, {128, 64, 3}, {64, 64, 3}, {64, 128, 3}};
  for (int l = 0; l < 4; ++l) {
    hp.enc_in.push_back(r.i32("an encoder layer"));
    hp.enc_out.push_back(r.i32("an encoder layer"));
    hp.enc_kernel.push_back(r.i32("an encoder layer"));
    if (hp.enc_in[l] != expect[l][0] || hp.enc_out[l] != expect[l][1] || hp.enc_kernel[l] != expect[l][2])
      fail(ErrorCode::unsupported, path, ": encoder layer ", l, " is ", hp.enc_in[l], "->", hp.enc_out[l], " k",
           hp.enc_kernel[l], ", expected the Silero v5/v6 architecture");
  }
  hp.lstm_input_size = r.i32("lstm_input_size");
  hp.lstm_hidden_size = r.i32("lstm_hidden_size");
  hp.final_conv_in = r.i32("final_conv_in");
  hp.final_conv_out = r.i32("final_conv_out");
  if (hp.lstm_input_size != 128 || hp.lstm_hidden_size != 128 || hp.final_conv_in != 128 || hp.final_conv_out != 1)
    fail(ErrorCode::unsupported, path, ": unexpected LSTM/decoder sizes");
  sf.tensors = read_tensors(r, sf.file.data());
  return sf;
}

}  // namespace omni::whisper_ggml
