// DNS queries and replies for tests, through ldns: a query as wire bytes,
// a reply parsed into what the tests look at, and a query over UDP or TCP
// to a server on loopback.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

// ldns defines `bool` as a macro unless stdbool.h came first.
#include <stdbool.h>
#include <ldns/ldns.h>

namespace dcos::test {

/// A query for `name` of `type` ("A", "SRV", ...), id `id`; with EDNS0
/// announcing `edns_size` bytes if not 0.
inline std::string dns_query(const std::string& name, const std::string& type,
                             uint16_t id = 4242, uint16_t edns_size = 0) {
  ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
  ldns_pkt* q = ldns_pkt_query_new(owner, ldns_get_rr_type_by_name(type.c_str()),
                                   LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(q, id);
  if (edns_size > 0)
    ldns_pkt_set_edns_udp_size(q, edns_size);
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, q, &size);
  std::string out(reinterpret_cast<char*>(wire), size);
  std::free(wire);
  ldns_pkt_free(q);
  return out;
}

/// A reply as the tests see it.
struct dns_reply {
  bool parsed = false;
  uint16_t id = 0;
  int rcode = -1;
  bool aa = false, tc = false;
  std::vector<std::string> answer;     // "TYPE VALUE", e.g. "A 10.0.0.1"
  std::vector<std::string> authority;  // "TYPE"
  std::vector<std::string> additional; // "TYPE OWNER VALUE"
};

inline std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

inline std::string rr_value(const ldns_rr* rr) {
  std::string out;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    if (i > 0)
      out += ' ';
    out += rdf_text(ldns_rr_rdf(rr, i));
  }
  return out;
}

inline std::string rr_type(const ldns_rr* rr) {
  char* s = ldns_rr_type2str(ldns_rr_get_type(rr));
  std::string out = s;
  std::free(s);
  return out;
}

inline dns_reply parse_dns_reply(const std::string& wire) {
  dns_reply r;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reinterpret_cast<const uint8_t*>(wire.data()),
                    wire.size())
      != LDNS_STATUS_OK)
    return r;
  r.parsed = true;
  r.id = ldns_pkt_id(p);
  r.rcode = ldns_pkt_get_rcode(p);
  r.aa = ldns_pkt_aa(p);
  r.tc = ldns_pkt_tc(p);
  auto* an = ldns_pkt_answer(p);
  for (size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
    auto* rr = ldns_rr_list_rr(an, i);
    r.answer.push_back(rr_type(rr) + " " + rr_value(rr));
  }
  auto* ns = ldns_pkt_authority(p);
  for (size_t i = 0; i < ldns_rr_list_rr_count(ns); ++i)
    r.authority.push_back(rr_type(ldns_rr_list_rr(ns, i)));
  auto* ad = ldns_pkt_additional(p);
  for (size_t i = 0; i < ldns_rr_list_rr_count(ad); ++i) {
    auto* rr = ldns_rr_list_rr(ad, i);
    r.additional.push_back(rr_type(rr) + " " + rdf_text(ldns_rr_owner(rr))
                           + " " + rr_value(rr));
  }
  ldns_pkt_free(p);
  std::sort(r.answer.begin(), r.answer.end());
  return r;
}

/// Sends `query` over UDP to 127.0.0.1:`port`; the reply, or nothing after
/// `timeout`.
inline std::optional<std::string>
udp_exchange(uint16_t port, const std::string& query,
             std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, query.data(), query.size(), 0,
           reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  std::optional<std::string> out;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
    std::string buffer(65535, '\0');
    auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) {
      buffer.resize(static_cast<size_t>(n));
      out = std::move(buffer);
    }
  }
  ::close(fd);
  return out;
}

} // namespace dcos::test
