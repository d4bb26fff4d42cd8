// A fresh folder under /tmp for one test, removed with everything in it afterwards.
#ifndef KEEL_TESTS_UNIT_WAL_TEMP_DIR_H_
#define KEEL_TESTS_UNIT_WAL_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace keel::wal {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/keel-wal-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace keel::wal

#endif  // KEEL_TESTS_UNIT_WAL_TEMP_DIR_H_
