#include "dns_answer.hpp"

#include "dcos/vip_table.hpp"

// ldns defines `bool` as a macro unless stdbool.h came first.
#include <stdbool.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

namespace dcos::mesos_dns {

namespace {

struct pkt_free {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_free>;

constexpr size_t header_size = 12;
constexpr uint16_t max_udp = 4096;

// A record to put into the reply; made into an ldns_rr only when the reply
// is written (a truncated reply is written more than once).
struct rr_plan {
  ldns_rr_type type;
  std::string owner; // "" = the name as the question asked it
  std::string value; // address, target or (SOA, NS) name
  uint16_t port = 0;
};

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class reply_writer {
public:
  reply_writer(const ldns_pkt* query, const ldns_rr* question,
               const dns_settings& s, uint32_t serial)
    : query_(query), question_(question), s_(s), serial_(serial) {
  }

  std::vector<rr_plan> answer, authority, additional;
  uint8_t rcode = rcode_noerror;

  // The reply with the first `answers` answers, with or without the
  // additional section; empty if ldns could not write it.
  std::string write(size_t answers, bool with_additional, bool truncated) {
    pkt_ptr p{ldns_pkt_new()};
    ldns_pkt_set_id(p.get(), ldns_pkt_id(query_));
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_aa(p.get(), true);
    ldns_pkt_set_opcode(p.get(), LDNS_PACKET_QUERY);
    ldns_pkt_set_rd(p.get(), ldns_pkt_rd(query_));
    ldns_pkt_set_cd(p.get(), ldns_pkt_cd(query_));
    ldns_pkt_set_ra(p.get(), s_.config.recurse_on());
    ldns_pkt_set_rcode(p.get(), rcode);
    ldns_pkt_set_tc(p.get(), truncated);
    ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question_));
    for (size_t i = 0; i < answers && i < answer.size(); ++i)
      push(p.get(), LDNS_SECTION_ANSWER, answer[i]);
    for (const auto& rr : authority)
      push(p.get(), LDNS_SECTION_AUTHORITY, rr);
    if (with_additional)
      for (const auto& rr : additional)
        push(p.get(), LDNS_SECTION_ADDITIONAL, rr);
    if (ldns_pkt_edns(query_))
      ldns_pkt_set_edns_udp_size(p.get(), max_udp);
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, p.get(), &size) != LDNS_STATUS_OK)
      return {};
    std::string out(reinterpret_cast<const char*>(wire), size);
    std::free(wire);
    return out;
  }

private:
  void push(ldns_pkt* p, ldns_pkt_section section, const rr_plan& plan) {
    ldns_rdf* owner = plan.owner.empty()
                        ? ldns_rdf_clone(ldns_rr_owner(question_))
                        : ldns_dname_new_frm_str(plan.owner.c_str());
    if (owner == nullptr)
      return; // not a valid name (a label too long): leave it out
    ldns_rr* rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_type(rr, plan.type);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, s_.config.ttl());
    bool ok = true;
    auto add = [&](ldns_rdf* rdf) {
      if (rdf == nullptr)
        ok = false;
      else
        ldns_rr_push_rdf(rr, rdf);
    };
    switch (plan.type) {
      case LDNS_RR_TYPE_A:
        add(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, plan.value.c_str()));
        break;
      case LDNS_RR_TYPE_AAAA:
        add(ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, plan.value.c_str()));
        break;
      case LDNS_RR_TYPE_SRV:
        add(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0)); // priority
        add(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
                                  static_cast<uint16_t>(
                                    s_.config.srv_record_default_weight())));
        add(ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, plan.port));
        add(ldns_dname_new_frm_str(plan.value.c_str()));
        break;
      case LDNS_RR_TYPE_NS:
        add(ldns_dname_new_frm_str(s_.mname.c_str()));
        break;
      case LDNS_RR_TYPE_SOA:
        add(ldns_dname_new_frm_str(s_.mname.c_str()));
        add(ldns_dname_new_frm_str(s_.rname.c_str()));
        add(ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, serial_));
        add(ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD,
                                  s_.config.soa_refresh()));
        add(ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD,
                                  s_.config.soa_retry()));
        add(ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD,
                                  s_.config.soa_expire()));
        add(ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, s_.config.ttl()));
        break;
      default:
        ok = false;
    }
    if (!ok) {
      ldns_rr_free(rr);
      return;
    }
    ldns_pkt_push_rr(p, section, rr);
  }

  const ldns_pkt* query_;
  const ldns_rr* question_;
  const dns_settings& s_;
  uint32_t serial_;
};

// A zone's SOA, owned by its apex (for negative answers and SOA queries).
rr_plan soa(const std::string& apex) {
  return {LDNS_RR_TYPE_SOA, apex, {}, 0};
}

// The zone of named VIPs (dcos/vip_table.hpp), served beside the Mesos
// zone as DC/OS' dcos-dns serves it.
const std::string& vip_apex() {
  static const std::string apex = std::string{vip_zone} + ".";
  return apex;
}

// The apex of the zone `name` is in, or null if it is in neither.
const std::string* zone_of(const std::string& name, const dns_settings& s) {
  for (const auto* apex : {&s.zone, &vip_apex()})
    if (name == *apex || ends_with(name, "." + *apex))
      return apex;
  return nullptr;
}

void add_addresses(const record_set::address_map& map, const std::string& name,
                   ldns_rr_type type, std::vector<rr_plan>& out) {
  if (auto it = map.find(name); it != map.end())
    for (const auto& ip : it->second)
      out.push_back({type, {}, ip, 0});
}

void add_srv(const record_set& records, const std::string& name,
             std::vector<rr_plan>& answer, std::vector<rr_plan>& additional) {
  auto it = records.srv().find(name);
  if (it == records.srv().end())
    return;
  std::vector<std::string> glued;
  for (const auto& target : it->second) {
    answer.push_back({LDNS_RR_TYPE_SRV, {}, target.host, target.port});
    if (std::find(glued.begin(), glued.end(), target.host) != glued.end())
      continue;
    glued.push_back(target.host);
    if (auto a = records.a().find(target.host);
        a != records.a().end() && !a->second.empty())
      additional.push_back({LDNS_RR_TYPE_A, target.host, a->second.front()});
    if (auto a = records.aaaa().find(target.host);
        a != records.aaaa().end() && !a->second.empty())
      additional.push_back(
        {LDNS_RR_TYPE_AAAA, target.host, a->second.front()});
  }
}

// A header-only reply: the query's id, opcode and RD, QR set, `rcode`.
std::string header_reply(std::string_view query, uint8_t rcode) {
  std::string out(header_size, '\0');
  out[0] = query[0];
  out[1] = query[1];
  out[2] = static_cast<char>(0x80 | (query[2] & 0x79)); // QR, opcode, RD
  out[3] = static_cast<char>(rcode & 0x0f);
  return out;
}

} // namespace

std::string error_reply(std::string_view query, uint8_t rcode) {
  if (query.size() < header_size)
    return {};
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(query.data()),
                    query.size())
        != LDNS_STATUS_OK)
    return header_reply(query, rcode);
  pkt_ptr q{raw};
  auto* questions = ldns_pkt_question(q.get());
  if (ldns_rr_list_rr_count(questions) != 1)
    return header_reply(query, rcode);
  dns_settings none;
  none.config.set_recurse_on(true);
  reply_writer w{q.get(), ldns_rr_list_rr(questions, 0), none, 0};
  w.rcode = rcode;
  auto wire = w.write(0, false, false);
  if (wire.empty())
    return header_reply(query, rcode);
  // Not authoritative: the answer is not ours.
  wire[2] = static_cast<char>(wire[2] & ~0x04);
  return wire;
}

dns_outcome answer_query(std::string_view query, const record_set& records,
                         const dns_settings& s, uint32_t serial,
                         dns_transport transport, std::minstd_rand& rng) {
  dns_outcome out;
  if (query.size() < header_size)
    return out; // drop: nothing to answer to
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, reinterpret_cast<const uint8_t*>(query.data()),
                    query.size())
        != LDNS_STATUS_OK) {
    out.action = dns_outcome::reply;
    out.rcode = rcode_formerr;
    out.wire = header_reply(query, rcode_formerr);
    return out;
  }
  pkt_ptr q{raw};
  if (ldns_pkt_qr(q.get()))
    return out; // a response, not a query: never answer (no reflection)
  if (ldns_pkt_get_opcode(q.get()) != LDNS_PACKET_QUERY) {
    out.action = dns_outcome::reply;
    out.rcode = rcode_notimp;
    out.wire = header_reply(query, rcode_notimp);
    return out;
  }
  auto* questions = ldns_pkt_question(q.get());
  if (ldns_rr_list_rr_count(questions) != 1) {
    out.action = dns_outcome::reply;
    out.rcode = rcode_formerr;
    out.wire = header_reply(query, rcode_formerr);
    return out;
  }
  const ldns_rr* question = ldns_rr_list_rr(questions, 0);
  char* text = ldns_rdf2str(ldns_rr_owner(question));
  if (text == nullptr)
    return out;
  out.qname = lower(text);
  std::free(text);
  out.qtype = static_cast<uint16_t>(ldns_rr_get_type(question));
  const auto* zone = zone_of(out.qname, s);
  if (zone == nullptr) {
    out.action = dns_outcome::forward;
    return out;
  }

  reply_writer w{q.get(), question, s, serial};
  const auto& name = out.qname;
  bool apex = name == *zone;
  auto type = static_cast<ldns_rr_type>(out.qtype);
  bool any = type == LDNS_RR_TYPE_ANY;
  if (type == LDNS_RR_TYPE_SRV || any)
    add_srv(records, name, w.answer, w.additional);
  if (type == LDNS_RR_TYPE_A || any)
    add_addresses(records.a(), name, LDNS_RR_TYPE_A, w.answer);
  if (type == LDNS_RR_TYPE_AAAA || any)
    add_addresses(records.aaaa(), name, LDNS_RR_TYPE_AAAA, w.answer);
  if (apex && (type == LDNS_RR_TYPE_SOA || any))
    w.answer.push_back(soa(*zone));
  if (apex && (type == LDNS_RR_TYPE_NS || any))
    w.answer.push_back({LDNS_RR_TYPE_NS, {}, {}, 0});
  if (w.answer.empty()) {
    // No such name: NXDOMAIN. The name exists, not this type: NODATA.
    w.rcode = apex || records.has_name(name) ? rcode_noerror : rcode_nxdomain;
    w.authority.push_back(soa(*zone));
  } else {
    std::shuffle(w.answer.begin(), w.answer.end(), rng);
  }
  out.rcode = w.rcode;
  out.action = dns_outcome::reply;

  size_t limit = 65535;
  if (transport == dns_transport::udp) {
    limit = 512;
    if (ldns_pkt_edns(q.get()))
      limit = std::clamp<size_t>(ldns_pkt_edns_udp_size(q.get()), 512,
                                 max_udp);
  }
  out.wire = w.write(w.answer.size(), true, false);
  if (out.wire.size() <= limit)
    return out;
  // Too large: first without the additional records, then with as many
  // answers as fit (Mesos-DNS' truncate()).
  bool tc = s.config.set_truncate_bit();
  out.truncated = true;
  out.wire = w.write(w.answer.size(), false, tc);
  if (out.wire.size() <= limit)
    return out;
  size_t lo = 0, hi = w.answer.size(); // lo fits, hi does not
  while (hi - lo > 1) {
    auto mid = (lo + hi) / 2;
    if (w.write(mid, false, tc).size() <= limit)
      lo = mid;
    else
      hi = mid;
  }
  out.wire = w.write(lo, false, tc);
  return out;
}

} // namespace dcos::mesos_dns
