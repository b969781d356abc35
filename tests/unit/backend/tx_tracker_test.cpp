// Unit tests for backend::TxTracker — the transaction-mode release rule.
#include "pgrouter/backend/tx_tracker.hpp"

#include <gtest/gtest.h>

namespace pgrouter::backend {
namespace {

TEST(TxTracker, SimpleQueryReleasesAtIdle) {
    TxTracker tx;
    EXPECT_TRUE(tx.at_idle_boundary());
    tx.on_client_message('Q');
    EXPECT_FALSE(tx.at_idle_boundary());
    EXPECT_TRUE(tx.server_busy());
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, OpenTransactionKeepsServer) {
    TxTracker tx;
    tx.on_client_message('Q');
    tx.on_ready_for_query('T');
    EXPECT_FALSE(tx.at_idle_boundary());
    tx.on_client_message('Q');
    tx.on_ready_for_query('E');  // failed transaction keeps the server too
    EXPECT_FALSE(tx.at_idle_boundary());
    tx.on_client_message('Q');
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, PipelinedSyncsWaitForTheLastReady) {
    TxTracker tx;
    for (char c : {'P', 'B', 'E', 'S', 'P', 'B', 'E', 'S'}) {
        tx.on_client_message(c);
    }
    EXPECT_EQ(tx.expected_ready(), 2u);
    tx.on_ready_for_query('I');
    EXPECT_FALSE(tx.at_idle_boundary());  // the second Sync is still in flight
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, BatchWithoutSyncKeepsServer) {
    TxTracker tx;
    tx.on_client_message('Q');
    tx.on_client_message('P');
    tx.on_client_message('B');
    tx.on_client_message('H');  // Flush: the client waits for partial results
    tx.on_ready_for_query('I');
    EXPECT_FALSE(tx.at_idle_boundary());
    tx.on_client_message('E');
    tx.on_client_message('S');
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, CopyMessagesDoNotCountAsSyncs) {
    TxTracker tx;
    tx.on_client_message('Q');  // COPY t FROM STDIN
    tx.on_client_message('d');
    tx.on_client_message('d');
    tx.on_client_message('c');
    EXPECT_EQ(tx.expected_ready(), 1u);
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, HiddenQueryCountsAsOneMoreReady) {
    TxTracker tx;
    tx.on_hidden_query();
    tx.on_client_message('Q');
    EXPECT_EQ(tx.expected_ready(), 2u);
    tx.on_ready_for_query('I');
    EXPECT_FALSE(tx.at_idle_boundary());
    tx.on_ready_for_query('I');
    EXPECT_TRUE(tx.at_idle_boundary());
}

TEST(TxTracker, ResetForgetsEverything) {
    TxTracker tx;
    tx.on_client_message('Q');
    tx.on_ready_for_query('T');
    tx.reset();
    EXPECT_TRUE(tx.at_idle_boundary());
    EXPECT_EQ(tx.status(), 'I');
}

}  // namespace
}  // namespace pgrouter::backend
