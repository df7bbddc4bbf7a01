// Option parsing and help text for `omni` subcommands.
#include "cli/args.hpp"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "omni/error.hpp"

namespace omni::cli {

static const OptionSpec* find_option(const CommandSpec& spec, const std::string& name, char short_name) {
  for (const auto& o : spec.options)
    if ((!name.empty() && o.name == name) || (short_name && o.short_name == short_name)) return &o;
  return nullptr;
}

Args::Args(const CommandSpec& spec, int argc, char** argv) : spec_(spec) {
  bool only_positional = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") { only_positional = true; continue; }
    if (a == "-h" || a == "--help") { help_ = true; continue; }
    const OptionSpec* opt = nullptr;
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      const auto eq = name.find('=');
      if (eq != std::string::npos) { inline_value = name.substr(eq + 1); name = name.substr(0, eq); }
      opt = find_option(spec, name, 0);
    } else if (a.size() == 2) {
      opt = find_option(spec, "", a[1]);
    }
    if (!opt) fail(ErrorCode::invalid_argument, "unknown option '", a, "' (see omni ", spec.name, " --help)");
    std::string v;
    if (opt->takes_value) {
      if (inline_value) v = *inline_value;
      else if (i + 1 < argc) v = argv[++i];
      else fail(ErrorCode::invalid_argument, "option --", opt->name, " needs a value (", opt->value_name.empty() ? "VALUE" : opt->value_name, ")");
    } else if (inline_value) {
      fail(ErrorCode::invalid_argument, "option --", opt->name, " takes no value");
    }
    auto& slot = values_[opt->name];
    if (!opt->repeatable) slot.clear();
    slot.push_back(v);
  }
  if (help_) return;
  const int n = int(positional_.size());
  if (n < spec.min_positional || (spec.max_positional >= 0 && n > spec.max_positional))
    fail(ErrorCode::invalid_argument, "expected ",
         spec.max_positional == spec.min_positional ? std::to_string(spec.min_positional)
         : spec.max_positional < 0 ? "at least " + std::to_string(spec.min_positional)
                                   : std::to_string(spec.min_positional) + " to " + std::to_string(spec.max_positional),
         " argument(s), got ", n, ". Usage: ", spec.usage);
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get(const std::string& name, const std::string& def) const { return value(name).value_or(def); }

int64_t Args::get_int(const std::string& name, int64_t def) const {
  auto v = value(name);
  if (!v) return def;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE)
    fail(ErrorCode::invalid_argument, "--", name, " needs a whole number, got '", *v, "'");
  return x;
}

double Args::get_float(const std::string& name, double def) const {
  auto v = value(name);
  if (!v) return def;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0')
    fail(ErrorCode::invalid_argument, "--", name, " needs a number, got '", *v, "'");
  return x;
}

std::string Args::require(const std::string& name) const {
  auto v = value(name);
  if (!v) fail(ErrorCode::invalid_argument, "missing required option --", name, ". Usage: ", spec_.usage);
  return *v;
}

std::string format_help(const CommandSpec& spec) {
  std::ostringstream os;
  os << spec.summary << "\n\nUsage: " << spec.usage << "\n";
  if (!spec.description.empty()) os << "\n" << spec.description << "\n";
  os << "\nOptions:\n";
  for (const auto& o : spec.options) {
    std::string left = "  ";
    left += o.short_name ? std::string("-") + o.short_name + ", " : "    ";
    left += "--" + o.name;
    if (o.takes_value) left += " " + (o.value_name.empty() ? std::string("VALUE") : o.value_name);
    if (left.size() < 30) left.append(30 - left.size(), ' ');
    else left += "\n" + std::string(30, ' ');
    os << left << o.help << "\n";
  }
  os << "  -h, --help                  show this help\n";
  return os.str();
}

}  // namespace omni::cli
