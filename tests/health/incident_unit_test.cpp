// Incident bundles on disk: ids, safe file names, retention, and a bundle's
// README listing what is in it and what was skipped.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "child.h"
#include "incident/bundle_writer.h"
#include "incident/incident_store.h"
#include "incident/retention.h"

using namespace sonde;
using namespace sonde::incident;
namespace fs = std::filesystem;

TEST_CASE("bundle ids are compact UTC times, with a suffix within one second") {
  CHECK(valid_bundle_id("20261128T100000Z"));
  CHECK(valid_bundle_id("20261128T100000Z-2"));
  CHECK(valid_bundle_id("20261128T100000Z-123"));
  for (const char* bad : {"", "..", "20261128T100000", "20261128X100000Z", "2026112aT100000Z", "20261128T100000Z-",
                          "20261128T100000Z-x", "20261128T100000Z/..", "20261128T100000Z-1234"})
    CHECK_MESSAGE(!valid_bundle_id(bad), bad);
  CHECK(bundle_time("20261128T100000Z") == doctest::Approx(1795860000));
  test::TempDir d;
  CHECK(new_bundle_id(d.path, 1795860000) == "20261128T100000Z");
  fs::create_directory(d.path + "/20261128T100000Z");
  CHECK(new_bundle_id(d.path, 1795860000) == "20261128T100000Z-2");
}

TEST_CASE("file names of a bundle: no slash, no dot-dot, no hidden files") {
  CHECK(valid_file_name("stacks.json"));
  CHECK(valid_file_name("profile.pstat"));
  for (const char* bad : {"", ".", "..", "../x", "a/b", ".hidden", "a\\b", "a b", "x\n"})
    CHECK_MESSAGE(!valid_file_name(bad), bad);
}

TEST_CASE("retention: at most N bundles and M bytes, oldest first, the newest always kept") {
  std::vector<BundleSize> b = {{"a", 100}, {"b", 100}, {"c", 100}, {"d", 100}};
  CHECK(plan_removals(b, 10, 1000).empty());
  CHECK(plan_removals(b, 2, 1000) == std::vector<std::string>{"a", "b"});
  CHECK(plan_removals(b, 10, 250) == std::vector<std::string>{"a", "b"});
  CHECK(plan_removals(b, 3, 150) == std::vector<std::string>{"a", "b", "c"});
  CHECK(plan_removals(b, 1, 1) == std::vector<std::string>{"a", "b", "c"});  // "d" stays though over the limit
  CHECK(plan_removals({}, 1, 1).empty());
  // Room made before a new bundle appears: it counts, and it is the one kept.
  CHECK(plan_removals(b, 2, 1000, 100) == std::vector<std::string>{"a", "b", "c"});
  CHECK(plan_removals(b, 1, 1000, 100) == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(plan_removals(b, 10, 250, 100) == std::vector<std::string>{"a", "b", "c"});
  CHECK(plan_removals({}, 1, 1, 5000).empty());
}

namespace {
void make_bundle(const std::string& dir, const std::string& id, size_t bytes) {
  fs::create_directories(dir + "/" + id);
  std::ofstream(dir + "/" + id + "/stacks.json") << std::string(bytes, 'x');
}
}  // namespace

TEST_CASE("prune removes the oldest bundle folders and leaves other files alone") {
  test::TempDir d;
  for (auto id : {"20260101T000000Z", "20260101T000001Z", "20260101T000001Z-2", "20260101T000002Z"})
    make_bundle(d.path, id, 10);
  fs::create_directory(d.path + "/not-a-bundle");
  auto removed = prune(d.path, 2, 1 << 20);
  CHECK(removed == std::vector<std::string>{"20260101T000000Z", "20260101T000001Z"});
  auto left = list_bundles(d.path);
  REQUIRE(left.size() == 2);
  CHECK(left[0].id == "20260101T000001Z-2");
  CHECK(left[1].id == "20260101T000002Z");
  CHECK(fs::exists(d.path + "/not-a-bundle"));
  fs::create_directory(d.path + "/" + kPartialPrefix + "20260101T000003Z");
  remove_partials(d.path);
  CHECK_FALSE(fs::exists(d.path + std::string("/") + kPartialPrefix + "20260101T000003Z"));
}

TEST_CASE("bundle files: only regular files inside the bundle, by plain name") {
  test::TempDir d;
  make_bundle(d.path, "20260101T000000Z", 5);
  std::ofstream(d.path + "/secret.txt") << "no";
  fs::create_symlink(d.path + "/secret.txt", d.path + "/20260101T000000Z/link.txt");
  auto ok = bundle_file_path(d.path, "20260101T000000Z", "stacks.json");
  REQUIRE(ok);
  CHECK(*ok == d.path + "/20260101T000000Z/stacks.json");
  CHECK(bundle_file_path(d.path, "20260101T000000Z", "link.txt").error().code == ErrorCode::not_found);
  CHECK(bundle_file_path(d.path, "20260101T000000Z", "heap.txt").error().code == ErrorCode::not_found);
  CHECK(bundle_file_path(d.path, "20260101T000000Z", "../secret.txt").error().code == ErrorCode::bad_request);
  CHECK(bundle_file_path(d.path, "..", "secret.txt").error().code == ErrorCode::bad_request);
  CHECK(bundle_file_path(d.path, "20270101T000000Z", "stacks.json").error().code == ErrorCode::not_found);
  auto listing = find_bundle(d.path, "20260101T000000Z");
  REQUIRE(listing);
  REQUIRE(listing->files.size() == 1);  // the symlink is not listed
  CHECK(listing->files[0].name == "stacks.json");
  CHECK(listing->files[0].bytes == 5);
}

TEST_CASE("a bundle's README lists what is in it and why the rest was skipped") {
  test::TempDir d;
  std::vector<BundlePart> parts = {
      {"status", {"status.json"},
       [](const std::string& dir) -> Result<void> {
         std::ofstream(dir + "/status.json") << "{}";
         return {};
       }},
      {"stacks-json", {"stacks.json"},
       [](const std::string&) -> Result<void> { return fail(ErrorCode::no_node, "no node attached"); }},
      {"throws", {"x.txt"}, [](const std::string&) -> Result<void> { throw std::runtime_error("boom"); }},
  };
  auto r = write_bundle(d.path, "20260101T000000Z", 1767225600, "fail 500", parts);
  REQUIRE(r);
  CHECK(r->dir == d.path + "/20260101T000000Z");
  CHECK(fs::exists(r->dir + "/status.json"));
  CHECK_FALSE(fs::exists(d.path + "/" + kPartialPrefix + "20260101T000000Z"));
  std::string readme = test::read_file(r->dir + "/README.txt");
  CHECK(readme.find("fail 500") != std::string::npos);
  CHECK(readme.find("status.json") != std::string::npos);
  CHECK(readme.find("stacks.json      the stacks-json part failed: no node attached") != std::string::npos);
  CHECK(readme.find("profile.pstat") != std::string::npos);
  CHECK(readme.find("heap.txt         not available yet") != std::string::npos);
  CHECK(readme.find("x.txt            the throws part failed: threw: boom") != std::string::npos);
  CHECK(r->written == std::vector<std::string>{"README.txt", "status.json"});
}
