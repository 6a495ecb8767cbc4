// Reading a kernel's resources from a fatbin, as the driver does before a launch.
//
// A fatbin is a 16-byte header (magic 0xBA55ED50, version, header size, body size) and a body
// of entries, each with its own header: kind (1 PTX, 2 ELF), header size, payload size, the
// architecture at byte 28 and flags at byte 40 (0x2000: payload compressed). nvcc compresses
// the PTX and leaves the cubins as they are. A cubin is a 64-bit little-endian ELF whose
// `.nv.info` section holds, per function, attributes as (format, attribute) byte pairs:
// format 1 takes no value, 2 one byte and a pad, 3 a 16-bit value, 4 a 16-bit size and that
// many bytes. The global `.nv.info` gives each function's register count and stack as
// (symbol index, value) pairs; `.nv.info.<kernel>` gives the kernel's launch bound.
// `cuobjdump -res-usage` reads the same fields: scripts/cuda-emulator-selftest.sh checks that
// the two agree on every kernel we build.
#include "cubin.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace spice_emulator {

namespace {

constexpr uint32_t kFatbinMagic = 0xBA55ED50u;
constexpr uint16_t kEntryElf = 2;
constexpr uint64_t kEntryCompressed = 0x2000;

constexpr uint32_t kSectionNobits = 8;
constexpr uint32_t kSectionSymtab = 2;

constexpr uint8_t kFormatNone = 1, kFormatByte = 2, kFormatHalf = 3, kFormatSized = 4;
constexpr uint8_t kAttrMaxThreads = 0x05;
constexpr uint8_t kAttrMinStackSize = 0x12;
constexpr uint8_t kAttrRegisterCount = 0x2f;

// Bounds-checked little-endian reads from one buffer; a read outside it marks the view bad
// and yields zero, so a malformed image fails once, at the end, with a reason.
struct View {
    const unsigned char* data;
    size_t size;
    bool bad = false;

    template <class T>
    T at(size_t offset) {
        T v{};
        if (offset > size || sizeof(T) > size - offset) {
            bad = true;
            return v;
        }
        std::memcpy(&v, data + offset, sizeof(T));
        return v;
    }

    View sub(size_t offset, size_t bytes) {
        if (offset > size || bytes > size - offset) {
            bad = true;
            return View{data, 0, true};
        }
        return View{data + offset, bytes};
    }

    std::string string(size_t offset) {
        if (offset >= size) {
            bad = true;
            return {};
        }
        const unsigned char* end = static_cast<const unsigned char*>(std::memchr(data + offset, 0, size - offset));
        if (end == nullptr) {
            bad = true;
            return {};
        }
        return std::string(reinterpret_cast<const char*>(data + offset), size_t(end - (data + offset)));
    }
};

struct Section {
    std::string name;
    uint32_t type;
    uint64_t offset;
    uint64_t size;
};

// Calls f(attribute, value view) for each attribute of an .nv.info section.
template <class F>
void for_each_attribute(View& info, F f) {
    size_t p = 0;
    while (p + 4 <= info.size && !info.bad) {
        uint8_t format = info.at<uint8_t>(p);
        uint8_t attribute = info.at<uint8_t>(p + 1);
        if (format == kFormatSized) {
            uint16_t bytes = info.at<uint16_t>(p + 2);
            f(attribute, info.sub(p + 4, bytes));
            p += 4 + size_t(bytes);
        } else if (format == kFormatNone || format == kFormatByte || format == kFormatHalf) {
            f(attribute, info.sub(p + 2, 2));
            p += 4;
        } else {
            info.bad = true;
        }
    }
    if (p != info.size) info.bad = true;
}

bool read_cubin(View elf, std::map<std::string, KernelResources>& kernels, std::string& why) {
    if (elf.size < 64 || std::memcmp(elf.data, "\x7f" "ELF", 4) != 0 || elf.data[4] != 2 || elf.data[5] != 1) {
        why = "the cubin is not a 64-bit little-endian ELF";
        return false;
    }
    uint64_t shoff = elf.at<uint64_t>(0x28);
    uint16_t shentsize = elf.at<uint16_t>(0x3a);
    uint16_t shnum = elf.at<uint16_t>(0x3c);
    uint16_t shstrndx = elf.at<uint16_t>(0x3e);
    if (shentsize != 64 || shstrndx >= shnum) {
        why = "the cubin's section headers are malformed";
        return false;
    }
    std::vector<Section> sections(shnum);
    auto header = [&](size_t i) { return shoff + uint64_t(i) * 64; };
    View names = elf.sub(elf.at<uint64_t>(header(shstrndx) + 0x18), elf.at<uint64_t>(header(shstrndx) + 0x20));
    for (size_t i = 0; i < shnum; i++) {
        sections[i].name = names.string(elf.at<uint32_t>(header(i)));
        sections[i].type = elf.at<uint32_t>(header(i) + 4);
        sections[i].offset = elf.at<uint64_t>(header(i) + 0x18);
        sections[i].size = elf.at<uint64_t>(header(i) + 0x20);
    }
    auto section = [&](const Section& s) {
        return s.type == kSectionNobits ? View{elf.data, 0} : elf.sub(s.offset, s.size);
    };
    // Symbol names, by index: the global .nv.info names functions by symbol.
    std::vector<std::string> symbols;
    for (size_t i = 0; i < shnum; i++) {
        if (sections[i].type != kSectionSymtab) continue;
        View symtab = section(sections[i]);
        uint32_t link = elf.at<uint32_t>(header(i) + 0x28);
        if (link >= shnum) {
            why = "the cubin's symbol table names no string table";
            return false;
        }
        View strtab = section(sections[link]);
        for (size_t s = 0; s + 24 <= symtab.size; s += 24) symbols.push_back(strtab.string(symtab.at<uint32_t>(s)));
        if (strtab.bad || symtab.bad) elf.bad = true;
    }
    // Kernels are the functions with a .nv.info.<name> section.
    const std::string info_prefix = ".nv.info.", shared_prefix = ".nv.shared.";
    for (const Section& s : sections) {
        if (s.name.compare(0, info_prefix.size(), info_prefix) != 0) continue;
        KernelResources& k = kernels[s.name.substr(info_prefix.size())];
        View info = section(s);
        for_each_attribute(info, [&](uint8_t attribute, View value) {
            if (attribute == kAttrMaxThreads) k.launch_bound = value.at<uint32_t>(0) * value.at<uint32_t>(4) * value.at<uint32_t>(8);
            if (value.bad) info.bad = true;
        });
        if (info.bad) {
            why = "the cubin's " + s.name + " is malformed";
            return false;
        }
    }
    for (const Section& s : sections) {
        if (s.name.compare(0, shared_prefix.size(), shared_prefix) != 0) continue;
        auto it = kernels.find(s.name.substr(shared_prefix.size()));
        if (it != kernels.end()) it->second.static_shared = s.size;
    }
    for (const Section& s : sections) {
        if (s.name != ".nv.info") continue;
        View info = section(s);
        for_each_attribute(info, [&](uint8_t attribute, View value) {
            if (attribute != kAttrRegisterCount && attribute != kAttrMinStackSize) return;
            uint32_t symbol = value.at<uint32_t>(0);
            if (value.bad || symbol >= symbols.size()) {
                info.bad = true;
                return;
            }
            auto it = kernels.find(symbols[symbol]);
            if (it == kernels.end()) return;  // a device function's own frame
            if (attribute == kAttrRegisterCount) {
                it->second.registers = value.at<uint32_t>(4);
            } else {
                it->second.stack_bytes = value.at<uint32_t>(4);
            }
        });
        if (info.bad) {
            why = "the cubin's .nv.info is malformed";
            return false;
        }
    }
    if (elf.bad || names.bad) {
        why = "the cubin is truncated";
        return false;
    }
    if (kernels.empty()) {
        why = "the cubin names no kernel";
        return false;
    }
    for (const auto& kv : kernels) {
        // A thread has at most 255 registers on every GPU since Kepler.
        if (kv.second.registers == 0 || kv.second.registers > 255) {
            why = "the cubin gives no register count of 1..255 for " + kv.first;
            return false;
        }
    }
    return true;
}

}  // namespace

bool read_kernel_resources(const unsigned char* fatbin, size_t size, uint32_t arch,
                           std::map<std::string, KernelResources>& kernels, std::string& why) {
    View image{fatbin, size};
    if (image.at<uint32_t>(0) != kFatbinMagic) {
        why = "the image is not a fatbin";
        return false;
    }
    uint16_t header = image.at<uint16_t>(6);
    uint64_t body = image.at<uint64_t>(8);
    View entries = image.sub(header, body);
    if (image.bad) {
        why = "the fatbin is truncated";
        return false;
    }
    bool compressed = false;
    for (size_t p = 0; p + 16 <= entries.size;) {
        uint16_t kind = entries.at<uint16_t>(p);
        uint32_t entry_header = entries.at<uint32_t>(p + 4);
        uint64_t payload = entries.at<uint64_t>(p + 8);
        uint32_t entry_arch = entries.at<uint32_t>(p + 28);
        uint64_t flags = entries.at<uint64_t>(p + 40);
        View code = entries.sub(p + entry_header, payload);
        if (entries.bad || entry_header < 48) {
            why = "a fatbin entry is truncated";
            return false;
        }
        if (kind == kEntryElf && entry_arch == arch) {
            if (flags & kEntryCompressed) {
                compressed = true;
            } else {
                return read_cubin(code, kernels, why);
            }
        }
        p += entry_header + payload;
    }
    why = "the fatbin has no " + std::string(compressed ? "uncompressed " : "") + "cubin for sm_" + std::to_string(arch);
    return false;
}

uint32_t max_threads_per_block(const KernelResources& k) {
    uint32_t per_warp = (k.registers * 32 + kRegisterAllocationUnit - 1) / kRegisterAllocationUnit * kRegisterAllocationUnit;
    uint32_t most = std::min(kMaxThreadsPerBlock, kRegistersPerSubPartition / per_warp * kSubPartitions * 32);
    if (k.launch_bound != 0) most = std::min(most, k.launch_bound);
    return most;
}

}  // namespace spice_emulator
