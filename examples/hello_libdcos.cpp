// The smallest libdcos program: an actor owns an agent's resources and hands
// out a share of them as an Offer message. Built in the tree and, by
// tests/integration/install_test.sh, against an installed libdcos with
// nothing but `pkg-config --cflags --libs libdcos`.
//
//   hello_libdcos 'cpus:2;mem:512;ports:[31000-31009]'
#include <iostream>

#include <caf/all.hpp>
#include <dcos/error.hpp>
#include <dcos/resources.hpp>
#include <dcos/type_bridge.hpp>
#include <dcos/wire_types.hpp>

using take_atom = caf::atom_constant<caf::atom("take")>;
using left_atom = caf::atom_constant<caf::atom("left")>;

// Answers `take` with an offer of half of every scalar and half of every
// range list, and `left` with what remains.
using pool_actor = caf::typed_actor<
  caf::replies_to<take_atom>::with<dcos::v1::Offer>,
  caf::replies_to<left_atom>::with<std::string>>;

pool_actor::behavior_type pool(pool_actor::pointer self, dcos::resources rs) {
  (void) self;
  auto available = std::make_shared<dcos::resources>(std::move(rs));
  return {
    [available](take_atom) {
      dcos::resources half;
      for (auto r : *available) {
        if (r.type == dcos::resource::kind::scalar) {
          r.milli /= 2;
        } else if (r.type == dcos::resource::kind::ranges) {
          auto& first = r.ranges.front();
          first.end = first.begin + (first.end - first.begin) / 2;
          r.ranges.resize(1);
        }
        half += r;
      }
      *available -= half;
      dcos::v1::Offer offer;
      offer.mutable_id()->set_value("offer-1");
      half.to_proto(offer.mutable_resources());
      return offer;
    },
    [available](left_atom) { return available->to_string(); },
  };
}

int main(int argc, char** argv) {
  auto parsed = dcos::resources::parse(argc > 1 ? argv[1] : "cpus:4;mem:1024");
  if (!parsed) {
    std::cerr << dcos::describe(parsed.error()) << '\n';
    return 2;
  }
  caf::actor_system_config cfg;
  dcos::register_types(cfg);
  caf::actor_system sys{cfg};
  auto owner = sys.spawn(pool, *parsed);
  caf::scoped_actor self{sys};
  self->request(owner, caf::infinite, take_atom::value)
    .receive(
      [](const dcos::v1::Offer& offer) {
        auto offered = dcos::resources::from_proto(offer.resources());
        std::cout << "offered " << offered->to_string() << '\n';
      },
      [](const caf::error& err) { std::cerr << to_string(err) << '\n'; });
  self->request(owner, caf::infinite, left_atom::value)
    .receive([](const std::string& left) { std::cout << "left " << left << '\n'; },
             [](const caf::error& err) { std::cerr << to_string(err) << '\n'; });
  self->send_exit(owner, caf::exit_reason::user_shutdown);
  return 0;
}
