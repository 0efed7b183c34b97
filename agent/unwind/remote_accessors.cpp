#include "unwind/remote_accessors.h"

#include <cstring>

// Exported by libunwind-x86_64 but not declared in its public headers: the
// .eh_frame_hdr binary search + FDE parse, driven through our access_mem.
#define sonde_dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)
extern "C" int sonde_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t* di,
                                               unw_proc_info_t* pi, int need_unwind_info, void* arg);

namespace sonde::unwind {

namespace {

UnwindSession& session(void* arg) { return *static_cast<UnwindSession*>(arg); }

int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need_unwind_info,
                   void* arg) {
  auto& s = session(arg);
  const ProcessView::Place* p = s.view->place(ip);
  if (!p || !p->module || !p->module->eh_frame_hdr()) return -UNW_ENOINFO;
  const auto& eh = *p->module->eh_frame_hdr();
  unw_dyn_info_t di;
  std::memset(&di, 0, sizeof di);
  // The table is read in the node's address space (through access_mem), so
  // its addresses are link-time addresses moved by the module's bias.
  di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
  di.start_ip = p->mapping->start;
  di.end_ip = p->mapping->end;
  di.u.rti.segbase = eh.hdr_vaddr + p->bias;  // table entries are relative to the header
  di.u.rti.table_data = eh.table_vaddr + p->bias;
  di.u.rti.table_len = eh.fde_count * 8 / sizeof(unw_word_t);  // 8-byte entries, counted in words
  return sonde_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

// dwarf_search_unwind_table allocates unwind info that libunwind frees
// itself (UNW_INFO_FORMAT_TABLE); this hook is only for dynamic info.
void put_unwind_info(unw_addr_space_t, unw_proc_info_t*, void*) {}

int get_dyn_info_list_addr(unw_addr_space_t, unw_word_t*, void*) {
  return -UNW_ENOINFO;  // no JIT registration list: we cannot read the node's heap
}

int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write, void* arg) {
  if (write) return -UNW_EREADONLYREG;  // the node is never written
  auto& s = session(arg);
  const auto& snap = *s.snap;
  uint64_t off = addr - snap.stack_start;
  if (addr >= snap.stack_start && off < snap.stack.size()) {
    if (snap.stack.size() - off >= sizeof *val) {
      std::memcpy(val, snap.stack.data() + off, sizeof *val);
      return 0;
    }
    return -UNW_EINVAL;  // straddles the end of the copy
  }
  if (s.view->read_file_backed(addr, val, sizeof *val)) return 0;
  return -UNW_EINVAL;
}

int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
  if (write) return -UNW_EREADONLYREG;
  // libunwind's x86_64 register numbers are the DWARF ones (RAX=0 .. RIP=16).
  if (reg < 0 || reg > UNW_X86_64_RIP) return -UNW_EBADREG;
  *val = session(arg).snap->regs.dwarf[reg];
  return 0;
}

int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EBADREG; }

int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }

int get_proc_name(unw_addr_space_t, unw_word_t, char*, size_t, unw_word_t*, void*) {
  return -UNW_ENOINFO;  // names are the symbolizer's job
}

}  // namespace

unw_accessors_t* snapshot_accessors() {
  static unw_accessors_t table = {find_proc_info, put_unwind_info, get_dyn_info_list_addr, access_mem,
                                  access_reg,     access_fpreg,    resume,                 get_proc_name};
  return &table;
}

}  // namespace sonde::unwind
