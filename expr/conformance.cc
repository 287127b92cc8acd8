#include "expr/conformance.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "expr/expr.h"
#include "expr/value.h"

namespace retrace::expr {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return retrace::Error(absl::StatusCode::kNotFound, "EXPR_SUITE",
                          absl::StrCat("cannot read ", path.string()));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool NumbersClose(double a, double b) {
  if (a == b) return true;
  double scale = std::max(std::fabs(a), std::fabs(b));
  return std::fabs(a - b) <= scale * 1e-15;
}

bool Equivalent(const Value& a, const Value& b, bool unordered) {
  if (a.IsNumber() && b.IsNumber()) return NumbersClose(a.number(), b.number());
  if (a.IsArray() && b.IsArray()) {
    const auto& x = a.items();
    const auto& y = b.items();
    if (x.size() != y.size()) return false;
    if (!unordered) {
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equivalent(x[i], y[i], false)) return false;
      }
      return true;
    }
    std::vector<bool> used(y.size(), false);
    for (const Value& item : x) {
      bool found = false;
      for (size_t j = 0; j < y.size(); ++j) {
        if (!used[j] && Equivalent(item, y[j], false)) {
          used[j] = true;
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  if (a.IsObject() && b.IsObject()) {
    const auto& x = a.object();
    const auto& y = b.object();
    size_t defined = 0;
    for (const auto& e : x.entries) {
      if (e.second.IsUndefined()) continue;
      ++defined;
      const Value* other = y.Find(e.first);
      if (other == nullptr || !Equivalent(e.second, *other, false))
        return false;
    }
    size_t other_defined = 0;
    for (const auto& e : y.entries) other_defined += e.second.IsDefined();
    return defined == other_defined;
  }
  if (a.IsFunction() && b.IsString()) return b.str().empty();
  return DeepEqual(a, b);
}

std::string Show(const Value& v) {
  if (v.IsUndefined()) return "undefined";
  std::string s = ToJson(v);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

struct Suite {
  fs::path dir;
  std::map<std::string, Value> datasets;
};

// Runs one case; returns "" on pass or the failure description.
std::string RunCase(Suite& suite, const fs::path& group_dir, const Value& c) {
  const Value* expr_v = c.object().Find("expr");
  std::string source;
  if (expr_v != nullptr && expr_v->IsString()) {
    source = expr_v->str();
  } else if (const Value* f = c.object().Find("expr-file");
             f != nullptr && f->IsString()) {
    absl::StatusOr<std::string> text = ReadFile(group_dir / f->str());
    if (!text.ok()) return std::string(text.status().message());
    source = *text;
  } else {
    return "case has no expr";
  }
  Value input;
  if (const Value* d = c.object().Find("data"); d != nullptr) {
    input = *d;
  } else if (const Value* ds = c.object().Find("dataset");
             ds != nullptr && ds->IsString()) {
    auto it = suite.datasets.find(ds->str());
    if (it == suite.datasets.end()) {
      absl::StatusOr<std::string> text =
          ReadFile(suite.dir / "datasets" / (ds->str() + ".json"));
      if (!text.ok()) return std::string(text.status().message());
      absl::StatusOr<Value> parsed = ParseJson(*text);
      if (!parsed.ok()) return std::string(parsed.status().message());
      it = suite.datasets.emplace(ds->str(), *parsed).first;
    }
    input = it->second;
  }
  Value bindings;
  if (const Value* b = c.object().Find("bindings"); b != nullptr) bindings = *b;

  Options options;
  options.allowed_functions = AllFunctionNames();
  options.max_depth = 20000;
  options.max_wall_time = absl::Seconds(20);
  options.max_steps = 0;
  const Value* depth = c.object().Find("depth");
  const Value* timelimit = c.object().Find("timelimit");
  if (depth != nullptr && depth->IsNumber()) {
    options.max_depth = static_cast<int>(depth->number());
  }
  if (timelimit != nullptr && timelimit->IsNumber()) {
    options.max_wall_time = absl::Milliseconds(timelimit->number());
  }
  absl::StatusOr<Value> result;
  absl::StatusOr<CompiledExpression> compiled = Compile(source, options);
  if (!compiled.ok()) {
    result = compiled.status();
  } else {
    result = compiled->Evaluate(input, bindings);
  }
  std::string got = result.ok()
                        ? Show(*result)
                        : absl::StrCat("error ", result.status().message());

  std::string expected_code;
  if (const Value* code = c.object().Find("code"); code && code->IsString()) {
    expected_code = code->str();
  } else if (const Value* err = c.object().Find("error");
             err && err->IsObject()) {
    const Value* ec = err->object().Find("code");
    expected_code = ec && ec->IsString() ? ec->str() : "?";
  }
  if (!expected_code.empty()) {
    if (!result.ok() &&
        (expected_code == "?" ||
         retrace::ErrorCode(result.status()) == expected_code)) {
      return "";
    }
    return absl::StrCat("expected error ", expected_code, ", got ", got);
  }
  if (const Value* u = c.object().Find("undefinedResult");
      u != nullptr && u->IsBool() && u->boolean()) {
    if (result.ok() && result->IsUndefined()) return "";
    return absl::StrCat("expected undefined, got ", got);
  }
  if (const Value* expected = c.object().Find("result"); expected != nullptr) {
    const Value* unordered = c.object().Find("unordered");
    bool uo =
        unordered != nullptr && unordered->IsBool() && unordered->boolean();
    if (result.ok() && Equivalent(*result, *expected, uo)) return "";
    return absl::StrCat("expected ", Show(*expected), ", got ", got);
  }
  // No expectation: passes when the result is undefined (jsonata-js tests
  // compare against an absent result).
  if (result.ok() && result->IsUndefined()) return "";
  return absl::StrCat("expected undefined, got ", got);
}

struct Job {
  const ConformanceOptions* options;
  absl::StatusOr<ConformanceResult> result;
};

void RunAll(Job* job) {
  const ConformanceOptions& options = *job->options;
  Suite suite;
  suite.dir = options.suite_dir;
  fs::path groups = suite.dir / "groups";
  std::error_code ec;
  if (!fs::is_directory(groups, ec)) {
    job->result = retrace::Error(
        absl::StatusCode::kNotFound, "EXPR_SUITE",
        absl::StrCat("no groups folder under ", options.suite_dir));
    return;
  }
  std::vector<fs::path> group_dirs;
  for (const auto& entry : fs::directory_iterator(groups)) {
    if (!entry.is_directory()) continue;
    if (!options.group.empty() &&
        entry.path().filename().string() != options.group) {
      continue;
    }
    group_dirs.push_back(entry.path());
  }
  std::sort(group_dirs.begin(), group_dirs.end());
  ConformanceResult out;
  for (const fs::path& gd : group_dirs) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(gd)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      std::string name =
          absl::StrCat(gd.filename().string(), "/", file.stem().string());
      absl::StatusOr<std::string> text = ReadFile(file);
      absl::StatusOr<Value> parsed =
          text.ok() ? ParseJson(*text) : absl::StatusOr<Value>(text.status());
      if (!parsed.ok()) {
        ++out.total;
        out.failures.push_back(absl::StrCat(
            name, ": unreadable case: ", parsed.status().message()));
        continue;
      }
      std::vector<Value> cases;
      if (parsed->IsArray()) {
        cases = parsed->items();
      } else {
        cases.push_back(*parsed);
      }
      for (size_t i = 0; i < cases.size(); ++i) {
        std::string case_name =
            cases.size() > 1 ? absl::StrCat(name, "[", i, "]") : name;
        ++out.total;
        if (!cases[i].IsObject()) {
          out.failures.push_back(absl::StrCat(case_name, ": not an object"));
          continue;
        }
        std::string failure = RunCase(suite, gd, cases[i]);
        if (failure.empty()) {
          ++out.passed;
        } else {
          out.failures.push_back(absl::StrCat(case_name, ": ", failure));
        }
      }
    }
  }
  job->result = std::move(out);
}

void* ThreadMain(void* arg) {
  RunAll(static_cast<Job*>(arg));
  return nullptr;
}

}  // namespace

absl::StatusOr<ConformanceResult> RunConformance(
    const ConformanceOptions& options) {
  // Deeply recursive cases need more native stack than a default thread has.
  Job job{&options, ConformanceResult()};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{1} << 30);
  pthread_t thread;
  if (pthread_create(&thread, &attr, ThreadMain, &job) != 0) {
    RunAll(&job);
  } else {
    pthread_join(thread, nullptr);
  }
  pthread_attr_destroy(&attr);
  return std::move(job.result);
}

}  // namespace retrace::expr
