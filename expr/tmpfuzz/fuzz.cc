#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include "expr/expr.h"
using namespace retrace::expr;
int main(int argc, char** argv) {
  std::vector<std::string> exprs;
  for (auto& g : std::filesystem::recursive_directory_iterator(argv[1])) {
    if (g.path().extension() != ".json") continue;
    std::ifstream in(g.path()); std::stringstream ss; ss << in.rdbuf();
    auto v = ParseJson(ss.str());
    if (!v.ok()) continue;
    std::vector<Value> cs = v->IsArray() ? v->items() : std::vector<Value>{*v};
    for (auto& c : cs) if (c.IsObject()) if (auto* e = c.object().Find("expr")) if (e->IsString()) exprs.push_back(e->str());
  }
  std::ifstream in2{std::string(argv[2])}; std::stringstream ss; ss << in2.rdbuf();
  Value data = *ParseJson(ss.str());
  std::mt19937 rng(atoi(argv[3]));
  const char* pieces[] = {"(", ")", "[", "]", "{", "}", ".", "$", "*", "**", "%", "@$x", "#$i", "^(", "~>", "?", ":", ";", ",", "'", "\"", "/", "$string", "$map", "function($x){$x}", "[1..3]", "|", "..", ":=", "0", "-1", "1e400", "\\", "`", "&", "and", "in", "$$", "null", "true", "{}", "[]", "=", "==", "!=", "<", ">", "%.%", "$eval('", "$sort(", "$reduce("};
  Options o; o.allowed_functions = AllFunctionNames(); o.max_steps = 20000; o.max_depth = 300; o.max_wall_time = absl::Milliseconds(200); o.max_sequence_length = 100000; o.max_output_bytes = 1 << 20;
  FixedClock clock(0);
  long n = 0, ok = 0;
  for (int iter = 0; iter < atoi(argv[4]); ++iter) {
    std::string e = exprs[rng() % exprs.size()];
    int muts = 1 + rng() % 3;
    for (int m = 0; m < muts; ++m) {
      size_t pos = e.empty() ? 0 : rng() % (e.size() + 1);
      int kind = rng() % 3;
      if (kind == 0 && !e.empty()) e.erase(pos == e.size() ? pos - 1 : pos, 1 + rng() % 3);
      else if (kind == 1) e.insert(pos, pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))]);
      else if (!e.empty()) { std::string other = exprs[rng() % exprs.size()]; size_t p2 = rng() % (other.size() + 1); e.insert(pos, other.substr(p2, rng() % 10)); }
    }
    auto c = Compile(e, o);
    ++n;
    if (!c.ok()) continue;
    auto r = c->Evaluate(data, Value(), &clock);
    if (r.ok()) { ++ok; ToJson(*r); }
  }
  std::cout << n << " exprs, " << ok << " ok\n";
}
