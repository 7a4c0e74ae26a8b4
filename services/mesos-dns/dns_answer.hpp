// Answers one DNS query from the Mesos-DNS zone, as Mesos-DNS' resolver
// does: packets parsed and built with ldns (NLnet Labs).
//
//  - A, AAAA and SRV from the records (SRV with the targets' first A and
//    AAAA as additional records), SOA and NS for the zone, ANY for all of
//    them; answers in random order (rudimentary load balancing);
//  - a name with no records at all is NXDOMAIN; a name that has records,
//    only not of the type asked, is NOERROR with no answer (so that glibc,
//    asking A and AAAA at once, keeps the A); both carry the zone's SOA;
//  - a reply larger than the client takes (512 bytes over UDP, or what its
//    EDNS0 announces, up to 4096; 65535 over TCP) loses its additional
//    records, then answers, and has the TC bit set (SetTruncateBit), so
//    that the client asks again over TCP and gets all of it;
//  - malformed packets: FORMERR when at least the header could be read,
//    nothing otherwise; never a crash. Opcodes other than QUERY: NOTIMP.
// Names outside the zone are not answered here: the outcome says to
// forward them (the server asks the upstream resolvers).
//
// Thread-safety: reentrant; `records` is only read.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "dns_config.hpp"
#include "record_set.hpp"

namespace dcos::mesos_dns {

enum class dns_transport { udp, tcp };

struct dns_outcome {
  enum action_type {
    reply,   // send `wire`
    forward, // the name is outside the zone: ask upstream
    drop,    // not even a header: send nothing
  };
  action_type action = drop;
  std::string wire;
  std::string qname;  // lower case, fully qualified ("" if none)
  uint16_t qtype = 0; // as on the wire (1 = A, 33 = SRV, ...)
  uint8_t rcode = 0;  // of the reply
  bool truncated = false;
};

/// Answers `query` (one DNS message as received) from `records`; `serial`
/// is the SOA serial of the zone.
dns_outcome answer_query(std::string_view query, const record_set& records,
                         const dns_settings& settings, uint32_t serial,
                         dns_transport transport, std::minstd_rand& rng);

/// A reply to `query` with no records and `rcode` (SERVFAIL when no upstream
/// answered, REFUSED when forwarding is off); "" when `query` has no
/// header.
std::string error_reply(std::string_view query, uint8_t rcode);

/// DNS response codes used here.
inline constexpr uint8_t rcode_noerror = 0;
inline constexpr uint8_t rcode_formerr = 1;
inline constexpr uint8_t rcode_servfail = 2;
inline constexpr uint8_t rcode_nxdomain = 3;
inline constexpr uint8_t rcode_notimp = 4;
inline constexpr uint8_t rcode_refused = 5;

} // namespace dcos::mesos_dns
