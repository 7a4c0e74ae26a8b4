// Marathon's groups as pure logic: reading a group update as Marathon does
// (ids relative to their groups, 422 with paths), the tree /v2/groups
// shows, what an update or removal does to the apps, and the order a
// deployment changes them in (dependencies first, cycles refused).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "app_definition.hpp"
#include "deployment_plan.hpp"
#include "group_history.hpp"
#include "group_tree.hpp"

using namespace dcos;
using namespace dcos::marathon;

namespace {

GroupUpdate read(std::string_view body, std::string_view path_id = "") {
  GroupUpdate update;
  auto refused = read_group_update(body, path_id, &update);
  REQUIRE_MESSAGE(!refused, (refused ? refused->body : ""));
  return update;
}

App app(std::string id, std::vector<std::string> dependencies = {},
        int instances = 1) {
  App a;
  a.set_id(std::move(id));
  a.set_cmd("serve");
  a.set_instances(instances);
  for (auto& d : dependencies)
    a.add_dependencies(std::move(d));
  return a;
}

std::map<std::string, App> apps_of(std::vector<App> list) {
  std::map<std::string, App> out;
  for (auto& a : list)
    out[a.id()] = std::move(a);
  return out;
}

Group group(std::string id, std::vector<std::string> dependencies = {}) {
  Group g;
  g.set_id(std::move(id));
  for (auto& d : dependencies)
    g.add_dependencies(std::move(d));
  return g;
}

DeploymentAction action(std::string what, std::string app) {
  DeploymentAction a;
  a.set_action(std::move(what));
  a.set_app(std::move(app));
  return a;
}

std::vector<std::vector<std::string>> apps_by_step(
  const std::vector<DeploymentStep>& steps) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : steps) {
    out.emplace_back();
    for (const auto& a : s.actions())
      out.back().push_back(a.app());
  }
  return out;
}

} // namespace

TEST_CASE("a group update names its apps and groups relative to it, with "
          "Marathon's defaults and paths in its errors") {
  auto update = read(R"({"id": "shop", "dependencies": ["/infra"],
    "apps": [{"id": "db", "cmd": "run-db"},
             {"id": "web", "cmd": "serve", "dependencies": ["db"]}],
    "groups": [{"id": "batch", "apps": [{"id": "report", "cmd": "r"}]}]})");
  CHECK(update.id() == "/shop");
  CHECK(update.with_apps());
  CHECK(update.with_groups());
  CHECK(update.dependencies(0) == "/infra");
  REQUIRE(update.apps_size() == 2);
  CHECK(update.apps(0).id() == "/shop/db");
  CHECK(update.apps(0).mem() == 128); // Marathon's defaults
  CHECK(update.apps(1).dependencies(0) == "/shop/db");
  CHECK(update.groups(0).id() == "/shop/batch");
  CHECK(update.groups(0).apps(0).id() == "/shop/batch/report");
  CHECK_FALSE(update.groups(0).with_groups());

  // The URL's id wins.
  CHECK(read(R"({"id": "other", "scaleBy": 2})", "/shop").id() == "/shop");
  CHECK(read(R"({"scaleBy": 1.5})", "/shop").scale_by() == 1.5);

  auto check_422 = [](std::string_view body, std::string path,
                      std::string words) {
    GroupUpdate update;
    auto r = read_group_update(body, "", &update);
    REQUIRE(r);
    CHECK(r->status == 422);
    CHECK_MESSAGE(r->body.find("\"path\":\"" + path + "\"") != std::string::npos,
                  r->body);
    CHECK_MESSAGE(r->body.find(words) != std::string::npos, r->body);
  };
  check_422(R"({"id": "shop", "apps": [{"id": "db", "cpus": -1,
                "cmd": "x"}]})",
            "/apps(0)/cpus", "at least 0");
  check_422(R"({"id": "shop", "apps": [{"id": "db"}]})", "/apps(0)",
            "one of 'cmd' or 'args'");
  check_422(R"({"id": "shop", "groups": [{"apps": []}]})", "/groups(0)/id",
            "is required");
  check_422(R"({"id": "Shop!"})", "/id", "must fully match");
  check_422(R"({"id": "shop", "colour": "red"})", "/colour", "unknown field");
  check_422(R"({"id": "shop", "scaleBy": 0})", "/scaleBy", "above 0");
  check_422(R"({"id": "shop", "scaleBy": 2, "apps": []})", "/scaleBy",
            "cannot be combined");
  check_422(R"({"id": "shop", "version": "2026-01-01T00:00:00.000Z"})",
            "/version", "puts an existing group back");
  GroupUpdate ignored;
  auto not_json = read_group_update("{", "", &ignored);
  REQUIRE(not_json);
  CHECK(not_json->status == 400);
}

TEST_CASE("the tree shows implied and empty groups, each app in its own") {
  auto root = build_tree({app("/shop/web"), app("/shop/db/main"), app("/top")},
                         {group("/empty"), group("/shop", {"/top"})});
  CHECK(root.id() == "/");
  REQUIRE(root.apps_size() == 1);
  CHECK(root.apps(0).id() == "/top");
  REQUIRE(root.groups_size() == 2);
  CHECK(root.groups(0).id() == "/empty");
  const auto* shop = find_group(root, "/shop");
  REQUIRE(shop);
  CHECK(shop->dependencies(0) == "/top");
  CHECK(shop->apps(0).id() == "/shop/web");
  REQUIRE(find_group(root, "/shop/db"));
  CHECK(find_group(root, "/shop/db")->apps(0).id() == "/shop/db/main");
  CHECK(find_group(root, "/nope") == nullptr);
}

TEST_CASE("an update replaces the apps and groups it names, keeps what it "
          "leaves out, and scales") {
  auto current = apps_of({app("/shop/web"), app("/shop/old"),
                          app("/shop/batch/report"), app("/other")});
  std::vector<Group> groups{group("/shop"), group("/shop/batch")};

  // Only apps given: /shop/old goes, /shop/web changes, the batch group
  // and /other stay.
  auto web = app("/shop/web");
  web.set_cmd("serve --v2");
  GroupUpdate update;
  update.set_id("/shop");
  update.set_with_apps(true);
  *update.add_apps() = web;
  *update.add_apps() = app("/shop/new");
  auto change = apply_group_update(update, current, groups);
  REQUIRE(change);
  CHECK(change->puts.size() == 2);
  CHECK(change->puts.count("/shop/web"));
  CHECK(change->puts.count("/shop/new"));
  CHECK(change->removes == std::set<std::string>{"/shop/old"});

  // An unchanged app is not put again.
  GroupUpdate same;
  same.set_id("/shop");
  same.set_with_apps(true);
  *same.add_apps() = app("/shop/web");
  *same.add_apps() = app("/shop/old");
  change = apply_group_update(same, current, groups);
  REQUIRE(change);
  CHECK(change->puts.empty());
  CHECK(change->removes.empty());

  // Groups given: a group not named goes with its apps.
  GroupUpdate no_batch;
  no_batch.set_id("/shop");
  no_batch.set_with_groups(true);
  change = apply_group_update(no_batch, current, groups);
  REQUIRE(change);
  CHECK(change->removes == std::set<std::string>{"/shop/batch/report"});
  CHECK(change->groups.size() == 1);

  // scaleBy multiplies every app under the group, rounding up.
  GroupUpdate scale;
  scale.set_id("/shop");
  scale.set_scale_by(1.5);
  current["/shop/web"].set_instances(3);
  change = apply_group_update(scale, current, groups);
  REQUIRE(change);
  CHECK(change->puts.at("/shop/web").instances() == 5);
  CHECK(change->puts.at("/shop/old").instances() == 2);
  CHECK_FALSE(change->puts.count("/other"));

  // An app must be a direct child of its group.
  GroupUpdate stray;
  stray.set_id("/shop");
  stray.set_with_apps(true);
  *stray.add_apps() = app("/elsewhere/x");
  CHECK_FALSE(apply_group_update(stray, current, groups));

  auto removed = remove_group("/shop", current, groups);
  CHECK(removed.removes
        == std::set<std::string>{"/shop/batch/report", "/shop/old",
                                 "/shop/web"});
  CHECK(removed.groups.empty());
}

TEST_CASE("a deployment starts an app after those it depends on, through "
          "groups too, and refuses cycles") {
  auto all = apps_of({app("/db"), app("/shop/cache"),
                      app("/shop/web", {"/shop/cache"}), app("/lb")});
  // The shop depends on the database, the balancer on the shop (a group).
  std::vector<Group> groups{group("/shop", {"/db"})};
  all["/lb"].add_dependencies("/shop");
  auto graph = resolve_dependencies(all, groups);
  CHECK(find_cycle(graph).empty());
  CHECK(graph["/shop/web"] == std::set<std::string>{"/db", "/shop/cache"});
  CHECK(graph["/lb"] == std::set<std::string>{"/shop/cache", "/shop/web"});

  auto steps = order_steps({action("StartApplication", "/lb"),
                            action("StartApplication", "/shop/web"),
                            action("StartApplication", "/shop/cache"),
                            action("StartApplication", "/db"),
                            action("StopApplication", "/gone")},
                           graph);
  CHECK(apps_by_step(steps)
        == std::vector<std::vector<std::string>>{
          {"/gone"}, {"/db"}, {"/shop/cache"}, {"/shop/web"}, {"/lb"}});
  // Only the affected apps appear, still in order.
  steps = order_steps({action("RestartApplication", "/lb"),
                       action("RestartApplication", "/db")},
                      graph);
  CHECK(apps_by_step(steps)
        == std::vector<std::vector<std::string>>{{"/db"}, {"/lb"}});

  all["/db"].add_dependencies("/lb");
  auto cycle = find_cycle(resolve_dependencies(all, groups));
  CHECK_MESSAGE(cycle.find("/db -> ") == 0, cycle);
  // A dependency on nothing that exists waits for nothing.
  CHECK(resolve_dependencies(apps_of({app("/a", {"/missing"})}), {})["/a"]
          .empty());
}

TEST_CASE("a change touches the groups above what it changes, and the "
          "history gives each group the version of its last change") {
  // Touched: the parents of changed apps, groups added, removed or with
  // new dependencies, and everything above them.
  CHECK(touched_groups({"/shop/web"}, {}, {})
        == std::set<std::string>{"/", "/shop"});
  CHECK(touched_groups({}, {group("/a/b")}, {group("/a/b", {"/x"})})
        == std::set<std::string>{"/", "/a", "/a/b"});
  CHECK(touched_groups({}, {group("/a/b")}, {})
        == std::set<std::string>{"/", "/a"});
  CHECK(touched_groups({}, {group("/a")}, {group("/a")})
        == std::set<std::string>{"/"});

  auto versioned = [](std::string id, std::string version) {
    auto a = app(std::move(id));
    a.set_version(std::move(version));
    return a;
  };
  group_history history;
  std::vector<std::string> dropped;
  auto v1 = history.record("v1", {"/", "/shop", "/blog"},
                           {versioned("/shop/web", "v1"),
                            versioned("/blog/app", "v1")},
                           {}, &dropped);
  CHECK(v1.apps_size() == 2);
  // Only /shop changes in v2: /blog keeps v1.
  auto v2 = history.record("v2", touched_groups({"/shop/db"}, {}, {}),
                           {versioned("/shop/web", "v1"),
                            versioned("/shop/db", "v2"),
                            versioned("/blog/app", "v1")},
                           {}, &dropped);
  CHECK(v2.group_versions().at("/blog") == "v1");
  CHECK(v2.group_versions().at("/shop") == "v2");
  CHECK(history.versions_of("/shop") == std::vector<std::string>{"v2", "v1"});
  CHECK(history.versions_of("/blog") == std::vector<std::string>{"v1"});
  CHECK(history.versions_of("/") == std::vector<std::string>{"v2", "v1"});
  CHECK(history.versions_of("/none").empty());
  CHECK(history.has("/blog", "v1"));
  CHECK_FALSE(history.has("/blog", "v2")); // v2 did not touch it
  CHECK(history.has("/shop", "v2"));
  auto tree = build_tree({versioned("/shop/web", "v1"),
                          versioned("/blog/app", "v1")},
                         {});
  history.stamp(tree);
  CHECK(tree.version() == "v2");
  CHECK(find_group(tree, "/blog")->version() == "v1");
  CHECK(dropped.empty());

  // A Marathon that restarts reads the snapshots back in any order.
  group_history again;
  again.restore(v2);
  again.restore(v1);
  CHECK(again.current() == history.current());
  CHECK(again.versions_of("/shop") == history.versions_of("/shop"));

  // The 51st change drops the oldest.
  for (int i = 0; i < 49; ++i)
    history.record(fmt::format("w{:02}", i), {"/"}, {}, {}, &dropped);
  CHECK(dropped == std::vector<std::string>{"v1"});
  CHECK(history.changes().size() == group_history::max_versions);
}

TEST_CASE("a group as it was becomes the update that puts it back, all the "
          "way down") {
  auto then = build_tree({app("/shop/web", {"/shop/db"}, 3), app("/shop/db"),
                          app("/shop/admin/ui")},
                         {group("/shop", {"/base"})});
  const auto* shop = find_group(then, "/shop");
  REQUIRE(shop);
  auto update = restore_update(*shop);
  CHECK(update.id() == "/shop");
  CHECK(update.with_apps());
  CHECK(update.with_groups());
  CHECK(update.with_dependencies());
  CHECK(update.apps_size() == 2);
  CHECK(update.dependencies_size() == 1);
  REQUIRE(update.groups_size() == 1);
  CHECK(update.groups(0).apps(0).id() == "/shop/admin/ui");
  // Today /shop has another app and no admin group: putting it back
  // removes the one, brings back the others.
  auto change = apply_group_update(
    update, apps_of({app("/shop/web"), app("/shop/extra")}), {});
  REQUIRE(change);
  CHECK(change->removes == std::set<std::string>{"/shop/extra"});
  CHECK(change->puts.count("/shop/admin/ui"));
  CHECK(change->puts.at("/shop/web").instances() == 3);
}
