// A file in a fresh temporary folder, removed with the folder when the object goes.
#ifndef KEEL_TESTS_UNIT_CONFIG_TEMP_FILE_H_
#define KEEL_TESTS_UNIT_CONFIG_TEMP_FILE_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace keel::config {

class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content) {
    char tmpl[] = "/tmp/keel-config-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/" + name;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace keel::config

#endif  // KEEL_TESTS_UNIT_CONFIG_TEMP_FILE_H_
