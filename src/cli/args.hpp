// Declarative command-line options for `omni` subcommands: each command lists its options once,
// and gets parsing, validation ("unknown option --x", "--n needs a number") and --help from it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace omni::cli {

struct OptionSpec {
  std::string name;         // long name without dashes: "threads"
  char short_name = 0;      // 't' for -t, or 0
  bool takes_value = true;  // false: a flag
  std::string value_name;   // "N" in "--threads N"
  std::string help;
  bool repeatable = false;  // may be given several times (values collected in order)
};

struct CommandSpec {
  std::string name;         // "inspect"
  std::string usage;        // "omni inspect MODEL.gguf [--json]"
  std::string summary;      // one line
  std::string description;  // paragraphs shown by --help
  std::vector<OptionSpec> options;
  int min_positional = 0;
  int max_positional = -1;  // -1: unlimited
};

class Args {
 public:
  // Parses argv (without the program and subcommand names). Throws omni::Error(invalid_argument)
  // for unknown options, missing values and a wrong count of positional arguments. Sets
  // help_requested() instead of throwing when -h/--help is present.
  Args(const CommandSpec& spec, int argc, char** argv);

  bool help_requested() const { return help_; }
  bool has(const std::string& name) const;
  std::optional<std::string> value(const std::string& name) const;
  std::vector<std::string> values(const std::string& name) const;
  std::string get(const std::string& name, const std::string& def) const;
  int64_t get_int(const std::string& name, int64_t def) const;  // validates the number
  double get_float(const std::string& name, double def) const;
  std::string require(const std::string& name) const;         // error naming the missing option
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const CommandSpec& spec_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

std::string format_help(const CommandSpec& spec);

}  // namespace omni::cli
