// A job's cron schedule: when its runs are due, in the wall-clock time of
// an IANA time zone.
//
// Five fields, as Metronome reads them: minute (0-59), hour (0-23), day of
// month (1-31), month (1-12 or JAN-DEC), day of week (0-7 or SUN-SAT; 0 and
// 7 are Sunday), and an optional sixth, the year (1970-2099). Each field is
// `*` (or `?` for the day fields), a number, a range `a-b`, a step `*/n`,
// `a/n` or `a-b/n`, or a list of these. The extensions of the day fields
// Metronome takes from cron-utils:
//  - day of month `L` (the last day), `L-n` (n days before it), `nW` (the
//    weekday nearest to day n, within the month) and `LW`;
//  - day of week `dL` (the last such weekday of the month) and `d#k` (the
//    k-th one, 1-5).
// When both day fields are restricted a day must match both, as in
// Metronome ("0 9 1-7 * MON" is the first Monday), unlike Vixie cron's
// either. The macros @yearly (@annually), @monthly, @weekly, @daily
// (@midnight) and @hourly are read as their five fields.
//
// Daylight-saving changes are handled as cron handles them:
//  - a wall-clock time skipped by a spring-forward change (02:30 where
//    clocks go from 02:00 to 03:00) is due once, when the change happens
//    (the first instant of 03:00);
//  - a wall-clock time repeated by a fall-back change is due once, the
//    first time, for a schedule with a fixed minute and hour; a schedule
//    whose minute or hour is `*` (every minute, every hour...) follows the
//    clock through both passes, as elapsed time would.
//
// Thread-safety: a cron_spec is an immutable value. next_after() reads the
// time-zone database, which is loaded once (load_time_zones()).
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <date/tz.h>

namespace dcos::metronome {

/// Seconds since the epoch, UTC.
using sys_seconds = date::sys_seconds;

class cron_spec {
public:
  /// Parses `expression`. Fails with errc::invalid_argument and a message
  /// that names the field and what is wrong with it.
  static caf::expected<cron_spec> parse(std::string_view expression);

  /// The expression as given.
  const std::string& expression() const { return expression_; }

  /// The first due instant strictly after `after`, in zone `tz`; nullopt
  /// if there is none within the next 30 years (a schedule that cannot
  /// occur, such as February 30).
  std::optional<sys_seconds> next_after(sys_seconds after,
                                        const date::time_zone& tz) const;

private:
  bool day_matches(date::year_month_day ymd) const;
  // The first matching wall-clock minute in [from, to), if any.
  std::optional<date::local_seconds>
  first_match(date::local_seconds from, date::local_seconds to) const;

  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1-31
  std::bitset<13> months_;  // 1-12
  std::bitset<7> weekdays_; // 0 (Sunday) - 6
  std::bitset<130> years_;  // 1970 + i; all set without a year field
  bool any_day_of_month_ = true; // `*` or `?`
  bool any_day_of_week_ = true;
  bool follows_clock_ = false; // minute or hour is `*`: see above
  // Extensions (see above); 0 or false when not used.
  bool last_day_ = false;
  int last_day_offset_ = 0;      // L-n
  int nearest_weekday_to_ = 0;   // nW
  bool last_weekday_of_month_ = false; // LW
  int last_of_weekday_ = -1;     // dL
  int nth_weekday_ = -1;         // d#k: the weekday...
  int nth_ = 0;                  // ...and k
};

/// The zone named `name` ("UTC", "Europe/Berlin"). Fails with
/// errc::invalid_argument if the time-zone database has no such zone.
caf::expected<const date::time_zone*> find_time_zone(std::string_view name);

/// Loads the whole time-zone database from the operating system's
/// (/usr/share/zoneinfo), so that no actor reads a disk later (about 40 ms).
/// Call once at start-up, before any actor uses a zone; errc::io_error if
/// the database cannot be read.
caf::error load_time_zones();

} // namespace dcos::metronome
