#include "symbolize/elf_file.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace sonde::symbolize {

namespace {

// libelf needs its version set once per process before any elf_begin.
void init_libelf() {
  static std::once_flag once;
  std::call_once(once, [] { elf_version(EV_CURRENT); });
}

FileIdentity identity_from(const struct stat& st) {
  FileIdentity id;
  id.dev = st.st_dev;
  id.inode = st.st_ino;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return id;
}

}  // namespace

std::string to_hex(const void* data, size_t size) {
  static const char digits[] = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

Result<FileIdentity> identity_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                "cannot stat " + path + ": " + std::strerror(errno));
  return identity_from(st);
}

Result<std::unique_ptr<ElfFile>> ElfFile::open(const std::string& path) {
  init_libelf();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    ErrorCode code = err == ENOENT ? ErrorCode::not_found
                     : (err == EACCES || err == EPERM) ? ErrorCode::permission
                                                       : ErrorCode::io;
    return fail(code, "cannot open " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<ElfFile> file(new ElfFile());
  file->path_ = path;
  file->fd_ = fd;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(ErrorCode::io, path + " is not a regular file");
  file->identity_ = identity_from(st);
  file->elf_ = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (file->elf_ == nullptr || elf_kind(file->elf_) != ELF_K_ELF)
    return fail(ErrorCode::io, path + " is not an ELF file: " + elf_errmsg(-1));
  file->read_headers();
  return file;
}

Result<std::unique_ptr<ElfFile>> ElfFile::from_memory(std::string image, const std::string& name) {
  init_libelf();
  std::unique_ptr<ElfFile> file(new ElfFile());
  file->path_ = name;
  file->image_ = std::move(image);
  file->identity_.size = file->image_.size();
  file->elf_ = elf_memory(file->image_.data(), file->image_.size());
  if (file->elf_ == nullptr || elf_kind(file->elf_) != ELF_K_ELF)
    return fail(ErrorCode::io, name + " is not an ELF image: " + elf_errmsg(-1));
  file->read_headers();
  return file;
}

bool ElfFile::reload() {
  if (fd_ < 0) return elf_ != nullptr;  // an in-memory image has nothing to give back
  if (elf_ != nullptr) elf_end(elf_);
  elf_ = elf_begin(fd_, ELF_C_READ_MMAP, nullptr);
  return elf_ != nullptr;
}

ElfFile::~ElfFile() {
  if (elf_ != nullptr) elf_end(elf_);
  if (fd_ >= 0) ::close(fd_);
}

void ElfFile::read_headers() {
  const void* id = nullptr;
  ssize_t id_len = dwelf_elf_gnu_build_id(elf_, &id);
  if (id_len > 0) build_id_ = to_hex(id, static_cast<size_t>(id_len));

  GElf_Word crc = 0;
  if (const char* link = dwelf_elf_gnu_debuglink(elf_, &crc)) {
    debuglink_ = link;
    debuglink_crc_ = crc;
  }

  size_t phnum = 0;
  if (elf_getphdrnum(elf_, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf_, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_LOAD) continue;
      loads_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, (ph.p_flags & PF_X) != 0});
    }
  }

  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf_, &shstrndx) != 0) return;
  for (Elf_Scn* scn = elf_nextscn(elf_, nullptr); scn; scn = elf_nextscn(elf_, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) continue;
    // A stripped file keeps section headers of type NOBITS for what was
    // removed: those hold nothing.
    if (sh.sh_type == SHT_NOBITS) continue;
    if (sh.sh_type == SHT_SYMTAB && sh.sh_size > 0) has_symtab_ = true;
    if (sh.sh_type == SHT_DYNSYM && sh.sh_size > 0) has_dynsym_ = true;
    const char* name = elf_strptr(elf_, shstrndx, sh.sh_name);
    if (name && (std::strcmp(name, ".debug_info") == 0 || std::strcmp(name, ".zdebug_info") == 0))
      has_debug_info_ = true;
  }
}

bool vaddr_of_offset(const std::vector<LoadSegment>& loads, uint64_t file_offset, uint64_t* vaddr) {
  for (const auto& seg : loads) {
    if (file_offset >= seg.offset && file_offset < seg.offset + seg.filesz) {
      *vaddr = seg.vaddr + (file_offset - seg.offset);
      return true;
    }
  }
  return false;
}

}  // namespace sonde::symbolize
