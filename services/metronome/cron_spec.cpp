#include "cron_spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <vector>

#include <fmt/format.h>

#include <dcos/error.hpp>

namespace dcos::metronome {

namespace {

using namespace std::chrono;
using date::days;
using date::local_days;
using date::local_seconds;

constexpr auto horizon = hours{24 * 366 * 30};

struct field_rule {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names; // value min + i, or null
  bool day;                                 // `?` allowed
};

const std::array<const char*, 12> month_names{
  "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const std::array<const char*, 12> weekday_names{
  "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

const field_rule minute_rule{"minute", 0, 59, nullptr, false};
const field_rule hour_rule{"hour", 0, 23, nullptr, false};
const field_rule day_rule{"day of month", 1, 31, nullptr, true};
const field_rule month_rule{"month", 1, 12, &month_names, false};
const field_rule weekday_rule{"day of week", 0, 7, &weekday_names, true};
const field_rule year_rule{"year", 1970, 2099, nullptr, false};
constexpr int first_year = 1970;

caf::error invalid(const field_rule& rule, std::string_view text,
                   std::string_view why) {
  return make_error(errc::invalid_argument,
                    fmt::format("cron {} '{}': {}", rule.name, text, why));
}

std::string upper(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A value of the field: a number or, where the field has them, a name.
caf::expected<int> read_value(const field_rule& rule, std::string_view text,
                              std::string_view item) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    if (text.size() > 4)
      return invalid(rule, item, fmt::format("{} is out of range {}-{}", text,
                                             rule.min, rule.max));
    int v = std::stoi(std::string{text});
    if (v < rule.min || v > rule.max)
      return invalid(rule, item, fmt::format("{} is out of range {}-{}", v,
                                             rule.min, rule.max));
    return v;
  }
  if (rule.names != nullptr) {
    auto name = upper(text);
    for (size_t i = 0; i < rule.names->size(); ++i)
      if ((*rule.names)[i] != nullptr && name == (*rule.names)[i])
        return rule.min == 0 ? static_cast<int>(i) : static_cast<int>(i) + 1;
  }
  return invalid(rule, item, fmt::format("'{}' is not a value", text));
}

// One field: a list of `*`, `?`, values, ranges and steps. Bit v - min of
// the answer is set when value v matches.
caf::expected<std::bitset<130>> read_field(const field_rule& rule,
                                           std::string_view text) {
  std::bitset<130> bits;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos
                                     ? std::string_view::npos
                                     : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty())
      return invalid(rule, text, "an empty list item");
    auto base = item;
    int step = 1;
    bool stepped = false;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      auto step_text = item.substr(slash + 1);
      auto parsed = read_value({rule.name, 1, rule.max + 1 - rule.min, nullptr,
                                false},
                               step_text, item);
      if (!parsed)
        return invalid(rule, item,
                       fmt::format("the step must be a number from 1 to {}",
                                   rule.max + 1 - rule.min));
      step = *parsed;
      stepped = true;
    }
    int low = rule.min;
    int high = rule.max;
    if (base == "*" || (base == "?" && rule.day)) {
      if (base == "?" && stepped)
        return invalid(rule, item, "'?' takes no step");
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      auto a = read_value(rule, base.substr(0, dash), item);
      if (!a)
        return a.error();
      auto b = read_value(rule, base.substr(dash + 1), item);
      if (!b)
        return b.error();
      if (*a > *b)
        return invalid(rule, item, "a range must not end before it starts");
      low = *a;
      high = *b;
    } else {
      auto v = read_value(rule, base, item);
      if (!v)
        return v.error();
      low = *v;
      high = stepped ? rule.max : *v; // `a/n`: from a to the end
    }
    for (int v = low; v <= high; v += step)
      bits.set(static_cast<size_t>(v - rule.min));
  }
  return bits;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string_view expand_macro(std::string_view expression) {
  static const std::array<std::pair<const char*, const char*>, 7> macros{{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
  }};
  for (const auto& [name, fields] : macros)
    if (expression == name)
      return fields;
  return expression;
}

std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
      ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])))
      ++j;
    if (j > i)
      out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

unsigned last_day_of(date::year_month_day ymd) {
  return static_cast<unsigned>(
    date::year_month_day_last{ymd.year(), date::month_day_last{ymd.month()}}
      .day());
}

unsigned weekday_of(date::year_month_day ymd) {
  return date::weekday{local_days{ymd}}.c_encoding();
}

// The weekday (Monday to Friday) nearest to day `n` of the month of `ymd`,
// without leaving the month.
unsigned nearest_weekday(date::year_month_day ymd, unsigned n) {
  auto last = last_day_of(ymd);
  auto wd = weekday_of(date::year_month_day{ymd.year(), ymd.month(),
                                            date::day{n}});
  if (wd == 6) // Saturday: Friday, or Monday if Friday is last month
    return n == 1 ? n + 2 : n - 1;
  if (wd == 0) // Sunday: Monday, or Friday if Monday is next month
    return n == last ? n - 2 : n + 1;
  return n;
}

} // namespace

caf::expected<cron_spec> cron_spec::parse(std::string_view expression) {
  cron_spec spec;
  spec.expression_ = std::string{expression};
  auto fields = split_fields(expand_macro(expression));
  if (fields.size() != 5 && fields.size() != 6)
    return make_error(
      errc::invalid_argument,
      fmt::format("cron '{}': expected 5 fields (minute hour day-of-month "
                  "month day-of-week) and an optional year, got {}",
                  expression, fields.size()));
  auto minutes = read_field(minute_rule, fields[0]);
  if (!minutes)
    return minutes.error();
  auto hours = read_field(hour_rule, fields[1]);
  if (!hours)
    return hours.error();
  auto months = read_field(month_rule, fields[3]);
  if (!months)
    return months.error();
  spec.minutes_ = std::bitset<60>{minutes->to_ullong()};
  spec.hours_ = std::bitset<24>{hours->to_ullong()};
  spec.months_ = std::bitset<13>{months->to_ullong() << 1};
  if (fields.size() == 6) {
    auto years = read_field(year_rule, fields[5]);
    if (!years)
      return years.error();
    spec.years_ = *years;
  } else {
    spec.years_.set();
  }
  spec.follows_clock_ = fields[0].front() == '*' || fields[1].front() == '*';

  // Day of month, with L, L-n, nW and LW.
  auto dom = upper(fields[2]);
  spec.any_day_of_month_ = dom == "*" || dom == "?";
  if (dom == "L") {
    spec.last_day_ = true;
  } else if (dom.rfind("L-", 0) == 0) {
    auto n = std::string_view{dom}.substr(2);
    if (!is_digits(n) || n.size() > 2 || std::stoi(std::string{n}) > 30)
      return invalid(day_rule, fields[2], "L-n takes n from 0 to 30");
    spec.last_day_ = true;
    spec.last_day_offset_ = std::stoi(std::string{n});
  } else if (dom == "LW") {
    spec.last_weekday_of_month_ = true;
  } else if (dom.size() > 1 && dom.back() == 'W') {
    auto n = std::string_view{dom}.substr(0, dom.size() - 1);
    auto v = read_value(day_rule, n, fields[2]);
    if (!v)
      return v.error();
    spec.nearest_weekday_to_ = *v;
  } else if (!spec.any_day_of_month_) {
    auto days = read_field(day_rule, fields[2]);
    if (!days)
      return days.error();
    spec.days_ = std::bitset<32>{days->to_ullong() << 1};
  }

  // Day of week, with dL and d#k.
  auto dow = upper(fields[4]);
  spec.any_day_of_week_ = dow == "*" || dow == "?";
  if (auto hash = dow.find('#'); hash != std::string::npos) {
    auto d = read_value(weekday_rule, std::string_view{dow}.substr(0, hash),
                        fields[4]);
    if (!d)
      return d.error();
    auto k = std::string_view{dow}.substr(hash + 1);
    if (k.size() != 1 || k[0] < '1' || k[0] > '5')
      return invalid(weekday_rule, fields[4], "d#k takes k from 1 to 5");
    spec.nth_weekday_ = *d % 7;
    spec.nth_ = k[0] - '0';
  } else if (dow.size() > 1 && dow.back() == 'L') {
    auto d = read_value(weekday_rule,
                        std::string_view{dow}.substr(0, dow.size() - 1),
                        fields[4]);
    if (!d)
      return d.error();
    spec.last_of_weekday_ = *d % 7;
  } else if (!spec.any_day_of_week_) {
    auto weekdays = read_field(weekday_rule, fields[4]);
    if (!weekdays)
      return weekdays.error();
    auto bits = weekdays->to_ullong();
    if (bits & (uint64_t{1} << 7)) // 7 is Sunday too
      bits |= 1;
    spec.weekdays_ = std::bitset<7>{bits & 0x7f};
  }
  return spec;
}

bool cron_spec::day_matches(date::year_month_day ymd) const {
  if (any_day_of_month_ && any_day_of_week_)
    return true;
  auto d = static_cast<unsigned>(ymd.day());
  bool by_month = false;
  if (!any_day_of_month_) {
    auto last = last_day_of(ymd);
    if (last_day_)
      by_month = last_day_offset_ < static_cast<int>(last)
                 && d == last - static_cast<unsigned>(last_day_offset_);
    else if (last_weekday_of_month_)
      by_month = d == nearest_weekday(ymd, last);
    else if (nearest_weekday_to_ > 0)
      by_month = static_cast<unsigned>(nearest_weekday_to_) <= last
                 && d == nearest_weekday(
                      ymd, static_cast<unsigned>(nearest_weekday_to_));
    else
      by_month = days_[d];
  }
  bool by_week = false;
  if (!any_day_of_week_) {
    auto wd = static_cast<int>(weekday_of(ymd));
    if (nth_ > 0)
      by_week = wd == nth_weekday_ && static_cast<int>((d - 1) / 7 + 1) == nth_;
    else if (last_of_weekday_ >= 0)
      by_week = wd == last_of_weekday_ && d + 7 > last_day_of(ymd);
    else
      by_week = weekdays_[static_cast<size_t>(wd)];
  }
  if (any_day_of_month_)
    return by_week;
  if (any_day_of_week_)
    return by_month;
  return by_month && by_week;
}

std::optional<local_seconds> cron_spec::first_match(local_seconds from,
                                                    local_seconds to) const {
  auto t = date::ceil<minutes>(from);
  while (t < to) {
    auto day = date::floor<days>(t);
    date::year_month_day ymd{day};
    auto year = static_cast<int>(ymd.year()) - first_year;
    if (year < 0 || year >= static_cast<int>(years_.size())
        || !years_[static_cast<size_t>(year)]) {
      if (year >= static_cast<int>(years_.size()))
        return std::nullopt;
      t = local_days{(ymd.year() + date::years{1}) / 1 / 1};
      continue;
    }
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      auto next = ymd.year() / ymd.month() / 1 + date::months{1};
      t = local_days{next};
      continue;
    }
    if (!day_matches(ymd)) {
      t = day + days{1};
      continue;
    }
    auto time = date::hh_mm_ss<seconds>{t - day};
    auto h = static_cast<size_t>(time.hours().count());
    if (!hours_[h]) {
      t = day + hours{h + 1};
      continue;
    }
    auto m = static_cast<size_t>(time.minutes().count());
    while (m < 60 && !minutes_[m])
      ++m;
    if (m == 60) {
      t = day + hours{h + 1};
      continue;
    }
    t = day + hours{h} + minutes{m};
    return t < to ? std::optional{t} : std::nullopt;
  }
  return std::nullopt;
}

std::optional<sys_seconds> cron_spec::next_after(sys_seconds after,
                                                 const date::time_zone& tz)
  const {
  auto until = after + horizon;
  auto from_sys = after + seconds{1};
  auto info = tz.get_info(from_sys);
  while (true) {
    auto offset = info.offset;
    auto end = std::min(info.end, until);
    auto from = local_seconds{(std::max(from_sys, info.begin) + offset)
                                .time_since_epoch()};
    if (!follows_clock_ && info.begin + days{1} > from_sys) {
      // After a fall-back change the wall clock repeats what the previous
      // offset already showed: a fixed-time schedule ran then.
      auto before = tz.get_info(info.begin - seconds{1});
      if (before.offset > offset)
        from = std::max(from, local_seconds{(info.begin + before.offset)
                                              .time_since_epoch()});
    }
    auto to = local_seconds{(end + offset).time_since_epoch()};
    if (auto match = first_match(from, to))
      return sys_seconds{(*match - offset).time_since_epoch()};
    if (info.end >= until)
      return std::nullopt;
    auto next = tz.get_info(info.end);
    if (!follows_clock_ && next.offset > offset) {
      // A spring-forward change skips wall-clock times: a fixed-time
      // schedule due in the gap runs once, when the change happens.
      auto gap_from = local_seconds{(info.end + offset).time_since_epoch()};
      auto gap_to = local_seconds{(info.end + next.offset).time_since_epoch()};
      if (first_match(gap_from, gap_to))
        return info.end;
    }
    from_sys = info.end;
    info = next;
  }
}

caf::expected<const date::time_zone*> find_time_zone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return make_error(errc::invalid_argument,
                      fmt::format("unknown time zone '{}'", name));
  }
}

caf::error load_time_zones() {
  try {
    for (const auto& zone : date::get_tzdb().zones)
      (void)zone.get_info(sys_seconds{}); // reads the zone's file now
    return caf::none;
  } catch (const std::exception& e) {
    return make_error(errc::io_error,
                      fmt::format("cannot load the time-zone database: {}",
                                  e.what()));
  }
}

} // namespace dcos::metronome
