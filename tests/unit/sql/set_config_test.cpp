// Unit tests: set_config() calls that may outlive the transaction are a session effect.
#include <gtest/gtest.h>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql {
namespace {

TEST(SetConfig, SessionScopedCallIsAnEffect) {
    for (const char* text :
         {"SELECT set_config('drv.x', 'yes', false)", "select pg_catalog.set_config('a.b', $1, $2)",
          "SELECT 1 FROM t WHERE set_config('a.b', 'c', is_local)"}) {
        SCOPED_TRACE(text);
        EXPECT_TRUE(may_affect_session(text));
        Classification c = classify(text);
        ASSERT_FALSE(c.parse_error);
        EXPECT_NE(c.effects & kSetConfig, 0u);
    }
}

TEST(SetConfig, TransactionLocalCallIsNot) {
    Classification c = classify("SELECT set_config('request.jwt.claims', $1, true)");
    ASSERT_FALSE(c.parse_error);
    EXPECT_EQ(c.effects & kSetConfig, 0u);
    EXPECT_EQ(classify("SELECT current_setting('a.b')").effects & kSetConfig, 0u);
}

}  // namespace
}  // namespace pgrouter::sql
