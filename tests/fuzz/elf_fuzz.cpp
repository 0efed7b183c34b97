// A node's binaries are not ours to trust (a container can ship anything):
// corrupt ELF files through both readers, the symbolizer's (libelf, symbol
// tables, DWARF lines) and the unwinder's own header and eh_frame_hdr parser.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "symbolize/elf_file.h"
#include "symbolize/module.h"
#include "unwind/module.h"

namespace {

// One scratch file per process, removed at exit (libFuzzer ends with exit()).
// A plain array: it outlives every atexit handler, unlike a static string.
char scratch[] = "/tmp/sonde-elf-fuzz-XXXXXX";

std::string temp_path() {
  static bool made = [] {
    int fd = ::mkstemp(scratch);
    if (fd < 0) return false;
    ::close(fd);
    std::atexit([] { ::unlink(scratch); });
    return true;
  }();
  return made ? std::string(scratch) : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = temp_path();
  if (path.empty()) return 0;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);

  if (auto m = sonde::unwind::Module::open(path)) {
    uint8_t buf[16];
    for (const auto& l : (*m)->loads()) (void)(*m)->read(l.offset, buf, sizeof buf);
  }

  if (auto file = sonde::symbolize::ElfFile::open(path)) {
    auto loads = (*file)->loads();
    sonde::symbolize::ModuleOptions opts;
    opts.use_debug_files = false;  // the input alone, not the machine's debug files
    auto mod = sonde::symbolize::Module::load(std::move(*file), ::getpid(), path, opts);
    if (mod) {
      // A few addresses in each segment: the start, the middle, the last byte.
      for (const auto& l : loads) {
        for (uint64_t at : {l.vaddr, l.vaddr + l.memsz / 2, l.vaddr + (l.memsz ? l.memsz - 1 : 0)}) {
          (void)mod->symbolize(at, true);
          (void)mod->symbolize(at, false);
        }
      }
      uint64_t vaddr = 0;
      (void)mod->vaddr_of_offset(0x1000, &vaddr);
      mod->release_dwarf();
    }
  }
  return 0;
}
