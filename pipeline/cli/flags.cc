#include "pipeline/cli/flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vigia::cli {

bool ParsedFlags::has(std::string_view name) const {
  return values_.find(name) != values_.end();
}

std::string ParsedFlags::get(std::string_view name,
                             std::string fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> ParsedFlags::GetInt(std::string_view name,
                                            int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(name), ": not an integer: \"", it->second, "\""));
  }
  return v;
}

absl::StatusOr<double> ParsedFlags::GetDouble(std::string_view name,
                                              double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  double v;
  if (!absl::SimpleAtod(it->second, &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(name), ": not a number: \"", it->second, "\""));
  }
  return v;
}

absl::StatusOr<ParsedFlags> ParseFlags(const CommandSpec& spec, int argc,
                                       char** argv) {
  ParsedFlags out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 && !spec.positional.empty() &&
        !out.values_.contains(spec.positional)) {
      out.values_[spec.positional] = arg;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("vigia ", spec.name, ": unexpected argument \"", arg,
                       "\" (see vigia ", spec.name, " --help)"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : spec.flags) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("vigia ", spec.name, ": unknown flag --", name,
                       " (see vigia ", spec.name, " --help)"));
    }
    if (flag->value.empty()) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("vigia ", spec.name, ": --", name, " takes no value"));
      }
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("vigia ", spec.name, ": --", name, " needs a value (",
                         flag->value, ")"));
      }
      value = argv[++i];
    }
    out.values_[name] = value;
  }
  if (!out.help) {
    for (const FlagSpec& f : spec.flags) {
      if (f.required && !out.has(f.name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("vigia ", spec.name, ": --", f.name, " ", f.value,
                         " is required (see vigia ", spec.name, " --help)"));
      }
    }
  }
  return out;
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string out = absl::StrCat("usage: vigia ", spec.name);
  for (const FlagSpec& f : spec.flags) {
    if (f.name == spec.positional) {
      absl::StrAppend(&out, " ", f.required ? f.value : "[" + f.value + "]");
      continue;
    }
    std::string one = absl::StrCat("--", f.name);
    if (!f.value.empty()) absl::StrAppend(&one, " ", f.value);
    absl::StrAppend(&out, " ", f.required ? one : absl::StrCat("[", one, "]"));
  }
  absl::StrAppend(&out, "\n\n", spec.summary, "\n");
  if (!spec.description.empty())
    absl::StrAppend(&out, "\n", spec.description, "\n");
  absl::StrAppend(&out, "\nflags:\n");
  for (const FlagSpec& f : spec.flags) {
    std::string left = absl::StrCat("--", f.name);
    if (!f.value.empty()) absl::StrAppend(&left, " ", f.value);
    absl::StrAppendFormat(&out, "  %-26s %s\n", left, f.help);
  }
  absl::StrAppendFormat(&out, "  %-26s %s\n", "--help", "show this help");
  return out;
}

}  // namespace vigia::cli
