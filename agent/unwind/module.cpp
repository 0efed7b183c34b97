#include "unwind/module.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sonde::unwind {

namespace {

// DWARF pointer encodings used by .eh_frame_hdr (LSB 5.0, "DWARF Extensions").
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeFormatMask = 0x0f;
constexpr uint8_t kPeAppMask = 0x70;
constexpr uint8_t kPeDatarel = 0x30;
constexpr uint8_t kPeSdata4 = 0x0b;

// Size of a fixed-size encoded value; 0 for variable or unknown formats.
size_t encoded_size(uint8_t enc) {
  switch (enc & kPeFormatMask) {
    case 0x00: return 8;          // absptr on a 64-bit target
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    case 0x04: case 0x0c: return 8;
    default: return 0;
  }
}

}  // namespace

Result<std::shared_ptr<const Module>> Module::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return fail(err == EACCES || err == EPERM ? ErrorCode::permission : ErrorCode::io,
                "cannot open " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    ::close(fd);
    return fail(ErrorCode::io, path + " is not an ELF file");
  }
  // MAP_PRIVATE + PROT_READ: pages come from the page cache, shared with the
  // node's own mapping of the same file; nothing is copied up front.
  void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return fail(ErrorCode::io, "cannot map " + path + ": " + std::strerror(errno));
  std::shared_ptr<Module> m(new Module());
  m->data_ = static_cast<const uint8_t*>(p);
  m->size_ = static_cast<uint64_t>(st.st_size);
  m->inode_ = st.st_ino;
  if (!m->parse()) return fail(ErrorCode::io, path + " is not an x86_64 ELF file");
  return std::shared_ptr<const Module>(std::move(m));
}

Module::~Module() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool Module::read(uint64_t off, void* out, size_t n) const {
  if (off > size_ || n > size_ - off) return false;
  std::memcpy(out, data_ + off, n);
  return true;
}

bool Module::parse() {
  Elf64_Ehdr eh;
  if (!read(0, &eh, sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
    return false;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read(eh.e_phoff + uint64_t{i} * eh.e_phentsize, &ph, sizeof ph)) return false;
    if (ph.p_type == PT_LOAD) loads_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
    if (ph.p_type == PT_GNU_EH_FRAME) parse_eh_frame_hdr(ph.p_offset, ph.p_vaddr, ph.p_filesz);
  }
  return true;
}

void Module::parse_eh_frame_hdr(uint64_t off, uint64_t vaddr, uint64_t size) {
  uint8_t head[4];  // version, eh_frame_ptr_enc, fde_count_enc, table_enc
  if (size < 4 || !read(off, head, 4) || head[0] != 1) return;
  size_t ptr_size = encoded_size(head[1]);
  if (head[1] == kPeOmit) ptr_size = 0;
  else if (ptr_size == 0) return;
  uint64_t pos = 4 + ptr_size;
  if (head[2] == kPeOmit || head[3] != (kPeDatarel | kPeSdata4)) return;  // no usable table
  size_t count_size = encoded_size(head[2]);
  if (count_size == 0 || (head[2] & kPeAppMask) != 0) return;
  uint64_t count = 0;
  if (pos + count_size > size || !read(off + pos, &count, count_size)) return;
  pos += count_size;
  if (pos + count * 8 > size) return;  // a truncated table: do not trust it
  eh_ = EhFrameHdr{vaddr, vaddr + pos, count};
}

std::optional<uint64_t> Module::bias_for(const target::Mapping& m) const {
  // The segment that holds m's file offset maps offset p_offset at p_vaddr +
  // bias, and the mapping maps m.offset at m.start, linearly.
  for (const auto& s : loads_) {
    uint64_t seg_start = s.offset & ~uint64_t{0xfff};
    if (m.offset >= seg_start && m.offset < s.offset + s.filesz)
      return m.start - m.offset + s.offset - s.vaddr;
  }
  return std::nullopt;
}

}  // namespace sonde::unwind
