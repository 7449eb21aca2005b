// The /metrics renderer (gateway/core/metrics): valid text exposition format by construction.

#include <string>

#include <catch2/catch.hpp>

#include "gateway/core/metrics.hpp"

using bl::metrics;

namespace {
std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("label values are escaped as the text format requires", "[unit][metrics]") {
  CHECK(metrics::escape_label_value("essex-fire") == "essex-fire");
  CHECK(metrics::escape_label_value("a\"b") == "a\\\"b");
  CHECK(metrics::escape_label_value("back\\slash") == "back\\\\slash");
  CHECK(metrics::escape_label_value("two\nlines") == "two\\nlines");

  metrics m;
  std::string out = m.render({{"bluelink_test_gauge",
                               "A gauge\nover two lines with a \\.",
                               {{{{"agency", "evil\"} 1\nbluelink_fake 2"}}, 1}}}});
  CHECK(out.find("bluelink_test_gauge{agency=\"evil\\\"} 1\\nbluelink_fake 2\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("\nbluelink_fake") == std::string::npos);
  CHECK(out.find("# HELP bluelink_test_gauge A gauge\\nover two lines with a \\\\.\n") !=
        std::string::npos);
}

TEST_CASE("each family has one HELP and one TYPE, its samples together, even with many agencies",
          "[unit][metrics]") {
  metrics m;
  m.error("bl.auth.invalid_token");
  m.error("bl.schema.invalid");
  m.connection_refused("total");
  m.report_failure("bl.store.busy");
  m.report_failure("bl.store.busy");
  m.open_connections(12);
  std::vector<metrics::gauge_family> g = {
      {"bluelink_cad_link_up",
       "Link up.",
       {{{{"agency", "essex-fire"}}, 1}, {{{"agency", "essex-police"}}, 0}}},
      {"bluelink_cad_link_backlog",
       "Backlog.",
       {{{{"agency", "essex-fire"}}, 3}, {{{"agency", "essex-police"}}, 1234567}}},
      {"bluelink_transfers", "Transfers.", {}},
  };
  auto out = m.render(g);
  CHECK(count_of(out, "# TYPE bluelink_cad_link_up gauge\n") == 1);
  CHECK(count_of(out, "# HELP bluelink_cad_link_up ") == 1);
  CHECK(
      out.find("# TYPE bluelink_cad_link_up gauge\nbluelink_cad_link_up{agency=\"essex-fire\"} 1\n"
               "bluelink_cad_link_up{agency=\"essex-police\"} 0\n# HELP") != std::string::npos);
  // Whole numbers exactly, not 1.23457e+06.
  CHECK(out.find("bluelink_cad_link_backlog{agency=\"essex-police\"} 1234567\n") !=
        std::string::npos);
  // A family with no samples still has its HELP and TYPE, and nothing else.
  CHECK(out.find("# TYPE bluelink_transfers gauge\n") != std::string::npos);
  CHECK(out.find("bluelink_errors_total{code=\"bl.auth.invalid_token\"} 1\n"
                 "bluelink_errors_total{code=\"bl.schema.invalid\"} 1\n") != std::string::npos);
  CHECK(out.find("bluelink_http_connections_refused_total{reason=\"total\"} 1\n") !=
        std::string::npos);
  CHECK(out.find("bluelink_http_connections 12\n") != std::string::npos);
  CHECK(out.find("# TYPE bluelink_report_failures_total counter\n"
                 "bluelink_report_failures_total{code=\"bl.store.busy\"} 2\n") !=
        std::string::npos);
  CHECK(out.find("bluelink_commit_seconds_bucket{le=\"0.0005\"} 0\n") != std::string::npos);
  CHECK(out.find("bluelink_commit_seconds_bucket{le=\"+Inf\"} 0\n") != std::string::npos);
}
