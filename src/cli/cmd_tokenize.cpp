// `omni tokenize`: prints the token ids of a text as a JSON array (optionally with their pieces).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "formats/gguf.hpp"
#include "omni/error.hpp"
#include "text/tokenizer.hpp"

namespace omni::cli {

extern const CommandSpec k_tokenize_spec = {
    "tokenize",
    "omni tokenize -m MODEL.gguf TEXT [--add-special] [--no-parse-special] [--pieces]",
    "Print the token ids of TEXT under a model's tokenizer as JSON.",
    "Special-token texts such as <|im_start|> become their tokens unless --no-parse-special is given.\n"
    "--add-special adds BOS/EOS as the vocabulary asks. --pieces prints [{\"id\":..,\"piece\":..}] instead.",
    {
        {"model", 'm', true, "MODEL", "GGUF model file"},
        {"add-special", 0, false, "", "add BOS/EOS as the vocabulary asks"},
        {"no-parse-special", 0, false, "", "treat special-token texts as plain text"},
        {"pieces", 0, false, "", "print each token's text too"},
    },
    1,
    1};

int run_tokenize(const Args& args) {
  const auto file = gguf::File::open(args.require("model"));
  const auto tok = text::Tokenizer::from_gguf(file);
  const auto ids = tok.encode(args.positional()[0], args.has("add-special"), !args.has("no-parse-special"));
  nlohmann::json out = nlohmann::json::array();
  for (int32_t id : ids) {
    if (args.has("pieces")) {
      const std::string piece = tok.token_to_piece(id, true);
      out.push_back({{"id", id}, {"piece", piece}});
    } else {
      out.push_back(id);
    }
  }
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

}  // namespace omni::cli
