#include "pipeline/cli/commands.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace vigia::cli {
namespace {

TEST(ExitCodeFor, WhatACommandCouldNotStartWithIsTwo) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  // A missing input exited 2 and an unreadable one 1: both are now 2.
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("cannot open x")), 2);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("cannot open x")), 2);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("x: is a directory")), 2);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("config.yaml:3: ...")), 2);
}

TEST(ExitCodeFor, AFailureWhileRunningIsOne) {
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("truncated gzip data")), 1);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("alert sink down")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("kafka client fatal error")), 1);
}

}  // namespace
}  // namespace vigia::cli
