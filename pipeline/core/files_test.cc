#include "pipeline/core/files.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/files_test_", getpid());
    ASSERT_EQ(std::system(
                  absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_).c_str()),
              0);
    input_ = Path("feed.ndjson");
    std::ofstream(input_) << "{}\n";
  }
  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }
  absl::Status Check(const std::string& output) const {
    return CheckOutputsAreNotInputs({{"--input", input_}},
                                    {{"--alerts", output}});
  }

  std::string dir_;
  std::string input_;
};

TEST_F(FilesTest, AnOutputElsewhereIsFine) {
  EXPECT_TRUE(Check(Path("alerts.ndjson")).ok());
  EXPECT_TRUE(Check("-").ok());
  EXPECT_TRUE(Check("").ok());
}

TEST_F(FilesTest, TheInputsOwnPathIsRefusedNamingBothFlags) {
  const absl::Status s = Check(input_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--alerts"));
  EXPECT_THAT(s.message(), HasSubstr("--input"));
  EXPECT_THAT(s.message(), HasSubstr("refusing to overwrite an input"));
}

TEST_F(FilesTest, AnotherSpellingOfThePathIsRefused) {
  EXPECT_EQ(Check(absl::StrCat(dir_, "/./../", dir_.substr(dir_.rfind('/') + 1),
                               "/feed.ndjson"))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FilesTest, AHardLinkToTheInputIsRefused) {
  ASSERT_EQ(::link(input_.c_str(), Path("hard").c_str()), 0);
  EXPECT_EQ(Check(Path("hard")).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FilesTest, ASymlinkToTheInputIsRefused) {
  ASSERT_EQ(::symlink(input_.c_str(), Path("soft").c_str()), 0);
  EXPECT_EQ(Check(Path("soft")).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FilesTest, TwoOutputsOnOneFileAreRefusedEvenBeforeItExists) {
  const absl::Status s = CheckOutputsAreNotInputs(
      {{"--input", input_}},
      {{"--alerts", Path("out")}, {"--dead-letters", Path("x/../out")}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("two outputs cannot share a file"));
}

TEST_F(FilesTest, CommitPartialRenamesIntoPlace) {
  const std::string out = Path("alerts.ndjson");
  std::ofstream(out) << "old\n";
  std::ofstream(PartialPath(out)) << "new\n";
  ASSERT_TRUE(CommitPartial(out).ok());
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "new");
  EXPECT_FALSE(std::ifstream(PartialPath(out)).good());
  const absl::Status s = CommitPartial(Path("never-written"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("never-written.partial"));
}

TEST_F(FilesTest, DevicesAndStdoutAreWrittenInPlaceNeverRenamedOver) {
  // A rename onto /dev/null would replace the device with a regular file.
  for (const std::string& path : {std::string("/dev/null"), std::string("-")}) {
    const StagedOutput out = StageOutput(path);
    EXPECT_EQ(out.write_path, path);
    EXPECT_TRUE(Commit(out).ok());
  }
  const StagedOutput file = StageOutput(Path("alerts.ndjson"));
  EXPECT_EQ(file.write_path, PartialPath(Path("alerts.ndjson")));
  std::ofstream(file.write_path) << "x\n";
  ASSERT_TRUE(Commit(file).ok());
  EXPECT_TRUE(std::ifstream(Path("alerts.ndjson")).good());
}

}  // namespace
}  // namespace vigia
