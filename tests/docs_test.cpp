// docs/SPEC.md cannot drift from the code: its option reference must equal the registry's.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "framework/io/spec.hpp"
#include "framework/runner/describe.hpp"

namespace nmlab {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Docs, SpecOptionReferenceMatchesRegistry) {
  const std::string doc = read(std::string(NMLAB_SOURCE_DIR) + "/docs/SPEC.md");
  const std::string begin = "<!-- BEGIN GENERATED: nmlab describe --markdown -->\n", end = "<!-- END GENERATED -->";
  const auto b = doc.find(begin), e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()), options_reference_markdown())
      << "docs/SPEC.md is out of date: run scripts/update-spec-docs.sh";
}

TEST(Docs, EveryTopLevelKeyIsDocumented) {
  const std::string doc = read(std::string(NMLAB_SOURCE_DIR) + "/docs/SPEC.md");
  for (const auto& key : spec_top_level_keys())
    EXPECT_NE(doc.find("| `" + key + "` |"), std::string::npos) << "docs/SPEC.md lacks top-level key " << key;
}

}  // namespace
}  // namespace nmlab
