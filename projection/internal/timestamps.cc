#include "projection/internal/timestamps.h"

#include "absl/time/time.h"
#include "history/events.h"

namespace retrace::projection::internal {
namespace {

constexpr int64_t kMinProtoSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxProtoSeconds = 253402300799;  // 9999-12-31T23:59:59Z
constexpr int64_t kYear1000Seconds = -30610224000;  // 1000-01-01T00:00:00Z

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

// Howard Hinnant's civil_from_days.
Civil ToCivil(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem / 60 % 60);
  c.second = static_cast<int>(rem % 60);
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

void Digits(int64_t value, int width, char* at) {
  for (int i = width - 1; i >= 0; --i, value /= 10) {
    at[i] = static_cast<char>('0' + value % 10);
  }
}

// "YYYY-MM-DDTHH:MM:SS" (20 bytes with room for the caller's terminator).
void AppendCivil(const Civil& c, std::string* out) {
  char buf[19];
  Digits(c.year, 4, buf);
  buf[4] = '-';
  Digits(c.month, 2, buf + 5);
  buf[7] = '-';
  Digits(c.day, 2, buf + 8);
  buf[10] = 'T';
  Digits(c.hour, 2, buf + 11);
  buf[13] = ':';
  Digits(c.minute, 2, buf + 14);
  buf[16] = ':';
  Digits(c.second, 2, buf + 17);
  out->append(buf, sizeof(buf));
}

}  // namespace

void AppendTimestamp(const google::protobuf::Timestamp& ts, std::string* out) {
  if (ts.seconds() < kYear1000Seconds || ts.seconds() > kMaxProtoSeconds ||
      ts.nanos() < 0 || ts.nanos() >= 1000000000) {
    out->append(history::FormatTimestamp(ts));
    return;
  }
  AppendCivil(ToCivil(ts.seconds()), out);
  char buf[5] = {'.', 0, 0, 0, 'Z'};
  Digits(ts.nanos() / 1000000, 3, buf + 1);
  out->append(buf, sizeof(buf));
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  std::string out;
  AppendTimestamp(ts, &out);
  return out;
}

bool AppendProtoJsonTimestamp(int64_t seconds, int32_t nanos,
                              std::string* out) {
  if (seconds < kMinProtoSeconds || seconds > kMaxProtoSeconds || nanos < 0 ||
      nanos >= 1000000000) {
    return false;
  }
  AppendCivil(ToCivil(seconds), out);
  if (nanos != 0) {
    char buf[10];
    buf[0] = '.';
    int width;
    int64_t value;
    if (nanos % 1000000 == 0) {
      width = 3;
      value = nanos / 1000000;
    } else if (nanos % 1000 == 0) {
      width = 6;
      value = nanos / 1000;
    } else {
      width = 9;
      value = nanos;
    }
    Digits(value, width, buf + 1);
    out->append(buf, 1 + width);
  }
  out->push_back('Z');
  return true;
}

int64_t UnixMillis(const google::protobuf::Timestamp& ts) {
  if (ts.nanos() >= 0 && ts.nanos() < 1000000000 &&
      ts.seconds() > -(int64_t{1} << 40) && ts.seconds() < (int64_t{1} << 40)) {
    return ts.seconds() * 1000 + ts.nanos() / 1000000;
  }
  return absl::ToUnixMillis(history::ToTime(ts));
}

}  // namespace retrace::projection::internal
