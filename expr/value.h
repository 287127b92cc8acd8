// Value: the data model of the expression engine, plus JSON in and out.
//
// A Value is one of: undefined (JSONata's "no value"), null, boolean, number
// (IEEE double, as in JSONata), string, array, object or function. Values are
// 16 bytes; strings, arrays, objects and functions live in immutable,
// reference-counted heap cells, so copying a Value never copies its contents.
// Objects keep their keys in insertion order (as JSONata does) and carry a
// hash index once they grow past a few keys.
//
// Arrays carry the JSONata "sequence" flags (sequence, keep_singleton, cons,
// outer_wrapper) that the evaluator uses for singleton flattening; JSON
// parsing produces plain arrays (all flags false).
//
//   absl::StatusOr<Value> v = ParseJson(R"({"a": [1, 2]})");
//   std::string s = ToJson(*v);   // {"a":[1,2]}
//
// Thread safety: a Value may be read (and copied) from many threads at once;
// reference counts are atomic. Mutating accessors (MutableArray and friends)
// are only for the thread that is still building a fresh value.
#ifndef RETRACE_EXPR_VALUE_H_
#define RETRACE_EXPR_VALUE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace retrace::expr {

class Value;

// Base of every heap cell. Reference counted; destroyed when the last Value
// that points at it goes away.
class HeapCell {
 public:
  HeapCell() = default;
  HeapCell(const HeapCell&) = delete;
  HeapCell& operator=(const HeapCell&) = delete;
  virtual ~HeapCell() = default;

 private:
  friend class Value;
  mutable std::atomic<uint32_t> refs_{0};
};

class StringCell final : public HeapCell {
 public:
  explicit StringCell(std::string s) : str(std::move(s)) {}
  std::string str;
};

class ArrayCell final : public HeapCell {
 public:
  std::vector<Value> items;
  // JSONata sequence semantics (see the evaluator): a sequence is a result
  // of navigation and is flattened; cons marks an array built by `[...]`.
  bool sequence = false;
  bool keep_singleton = false;
  bool cons = false;
  bool outer_wrapper = false;
  bool tuple_stream = false;
};

class ObjectCell final : public HeapCell {
 public:
  // Returns the value under `key`, or nullptr.
  const Value* Find(absl::string_view key) const;
  // Sets `key`; a new key goes last, an existing key keeps its place.
  void Set(absl::string_view key, Value value);
  size_t size() const { return entries.size(); }
  // Removes `key` if present.
  void Erase(absl::string_view key);

  std::vector<std::pair<std::string, Value>> entries;

 private:
  static constexpr size_t kIndexThreshold = 8;
  absl::flat_hash_map<std::string, uint32_t> index_;
};

// Functions are defined by the evaluator; Value only holds them.
class FunctionCell : public HeapCell {};

class Value {
 public:
  enum class Type : uint8_t {
    kUndefined,
    kNull,
    kBoolean,
    kNumber,
    kString,
    kArray,
    kObject,
    kFunction,
  };

  Value() : type_(Type::kUndefined), number_(0) {}
  ~Value() { Release(); }
  Value(const Value& other) : type_(other.type_), number_(other.number_) {
    if (IsHeap()) Retain(cell_);
  }
  Value(Value&& other) noexcept : type_(other.type_), number_(other.number_) {
    other.type_ = Type::kUndefined;
  }
  Value& operator=(const Value& other) {
    if (this != &other) {
      if (other.IsHeap()) Retain(other.cell_);
      Release();
      type_ = other.type_;
      number_ = other.number_;
    }
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      Release();
      type_ = other.type_;
      number_ = other.number_;
      other.type_ = Type::kUndefined;
    }
    return *this;
  }

  static Value Null() { return Value(Type::kNull); }
  static Value Bool(bool b) {
    Value v(Type::kBoolean);
    v.bool_ = b;
    return v;
  }
  static Value Number(double d) {
    Value v(Type::kNumber);
    v.number_ = d;
    return v;
  }
  static Value String(std::string s) {
    return Value(Type::kString, new StringCell(std::move(s)));
  }
  static Value String(absl::string_view s) { return String(std::string(s)); }
  static Value String(const char* s) { return String(std::string(s)); }
  // Takes ownership of a freshly allocated cell.
  static Value FromArray(ArrayCell* cell) { return Value(Type::kArray, cell); }
  static Value FromObject(ObjectCell* cell) {
    return Value(Type::kObject, cell);
  }
  static Value FromFunction(FunctionCell* cell) {
    return Value(Type::kFunction, cell);
  }
  // An empty plain array / object.
  static Value Array() { return FromArray(new ArrayCell()); }
  static Value Array(std::vector<Value> items) {
    auto* cell = new ArrayCell();
    cell->items = std::move(items);
    return FromArray(cell);
  }
  static Value Object() { return FromObject(new ObjectCell()); }

  Type type() const { return type_; }
  bool IsUndefined() const { return type_ == Type::kUndefined; }
  bool IsDefined() const { return type_ != Type::kUndefined; }
  bool IsNull() const { return type_ == Type::kNull; }
  bool IsBool() const { return type_ == Type::kBoolean; }
  bool IsNumber() const { return type_ == Type::kNumber; }
  bool IsString() const { return type_ == Type::kString; }
  bool IsArray() const { return type_ == Type::kArray; }
  bool IsObject() const { return type_ == Type::kObject; }
  bool IsFunction() const { return type_ == Type::kFunction; }

  // REQUIRES: the matching type.
  bool boolean() const { return bool_; }
  double number() const { return number_; }
  const std::string& str() const {
    return static_cast<const StringCell*>(cell_)->str;
  }
  const ArrayCell& array() const {
    return *static_cast<const ArrayCell*>(cell_);
  }
  const std::vector<Value>& items() const { return array().items; }
  const ObjectCell& object() const {
    return *static_cast<const ObjectCell*>(cell_);
  }
  const FunctionCell* function() const {
    return static_cast<const FunctionCell*>(cell_);
  }

  // Mutable access for the builder of a value. Copies the cell first when it
  // is shared, so other holders never see the change.
  ArrayCell* MutableArray();
  ObjectCell* MutableObject();
  // In-place access to a cell that may be shared, without copying. Only for
  // the transform operator, which works on a private deep copy.
  ObjectCell* SharedMutableObject() const {
    return static_cast<ObjectCell*>(cell_);
  }

  // True when both values point at the same heap cell.
  bool SameCell(const Value& other) const {
    return IsHeap() && other.IsHeap() && cell_ == other.cell_;
  }

 private:
  explicit Value(Type t) : type_(t), number_(0) {}
  Value(Type t, HeapCell* cell) : type_(t), cell_(cell) { Retain(cell); }
  bool IsHeap() const { return type_ >= Type::kString; }
  static void Retain(const HeapCell* c) {
    c->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void Release() {
    if (IsHeap() && cell_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      if (type_ == Type::kString) {
        delete cell_;  // strings hold no values: no recursion
      } else {
        Destroy(cell_);
      }
    }
  }
  // Deletes `cell` without recursing through nested values, so that
  // arbitrarily deep values never overflow the stack.
  static void Destroy(HeapCell* cell);
  uint32_t RefCount() const {
    return cell_->refs_.load(std::memory_order_acquire);
  }

  Type type_;
  union {
    bool bool_;
    double number_;
    HeapCell* cell_;
  };
};

// Deep equality as JSONata's `=` on structured values: numbers by value,
// arrays element-wise, objects by key set (order ignored). Functions are
// equal only to themselves; undefined equals nothing.
bool DeepEqual(const Value& a, const Value& b);

// Values nested deeper than this are rejected by ParseJson and by the
// engine's output check, so that recursive walks stay shallow.
inline constexpr int kMaxValueNesting = 1000;

// True when `v` nests arrays / objects deeper than `limit` levels. Walks at
// most `limit` levels deep.
bool NestingExceeds(const Value& v, int limit = kMaxValueNesting);

// Parses one JSON document. Fails with kInvalidArgument and code
// "EXPR_JSON_PARSE" naming the byte offset (also for nesting deeper than
// kMaxValueNesting).
// Escapes of lone UTF-16 surrogates ("\ud800"), valid in JavaScript strings,
// become their WTF-8 bytes.
absl::StatusOr<Value> ParseJson(absl::string_view json);

// As ParseJson, but rejects lone surrogates as RapidJSON does.
absl::StatusOr<Value> ParseJsonStrict(absl::string_view json);

struct JsonWriteOptions {
  // Pretty print with two-space indentation (JSON.stringify(v, null, 2)).
  // Default: false.
  bool pretty = false;
  // Format numbers as JSONata's $string does: 15 significant digits.
  // Default: false (shortest round-trip form, as JSON.stringify).
  bool fifteen_digits = false;
};

// Writes `value` as JSON. Undefined and functions inside arrays become null
// ... except functions, which JSONata writes as ""; undefined object members
// are skipped. A top-level undefined writes nothing ("").
std::string ToJson(const Value& value, const JsonWriteOptions& options = {});

// Formats a number as JavaScript's Number.prototype.toString does ("1", not
// "1.0"; "1e+21"; "1.5e-7"). `precision` > 0 first rounds to that many
// significant digits (as toPrecision then Number()).
std::string FormatNumber(double d, int precision = 0);

// Name of the JSONata type of `v` as $type returns it ("string", "null"...);
// "undefined" for undefined.
absl::string_view TypeName(const Value& v);

}  // namespace retrace::expr

#endif  // RETRACE_EXPR_VALUE_H_
