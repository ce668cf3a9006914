#include "kernels/cpu_features.h"

#include <cstdint>
#include <cstring>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TINYQ_X86 1
#endif

namespace tinyq::kernels {
namespace {

#ifdef TINYQ_X86
// XCR0: which register states the OS saves on a context switch. Without
// YMM (bits 1-2) AVX code faults; without opmask/ZMM (bits 5-7) AVX-512 does.
std::uint64_t xgetbv0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12);
  const std::uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm_saved = (xcr0 & 0x6) == 0x6, zmm_saved = (xcr0 & 0xE6) == 0xE6;
  unsigned b7 = 0, c7 = 0, d7 = 0, a7 = 0;
  __cpuid_count(7, 0, a7, b7, c7, d7);
  unsigned a71 = 0, b71 = 0, c71 = 0, d71 = 0;
  __cpuid_count(7, 1, a71, b71, c71, d71);
  f.fma = fma && ymm_saved;
  f.avx2 = ymm_saved && (b7 & (1u << 5)) && f.fma;
  f.avx512f = zmm_saved && (b7 & (1u << 16));
  f.avx512bw = f.avx512f && (b7 & (1u << 30));
  f.avx512vl = f.avx512f && (b7 & (1u << 31));
  f.avx512_vnni = f.avx512f && (c7 & (1u << 11));
  f.avx_vnni = ymm_saved && (a71 & (1u << 4));
  f.amx_int8 = (d7 & (1u << 25)) != 0;
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext >= 0x80000004) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4];
      __cpuid(0x80000002 + i, r[0], r[1], r[2], r[3]);
      std::memcpy(brand + 16 * i, r, 16);
    }
    f.model = brand;
    while (!f.model.empty() && f.model.back() == ' ') f.model.pop_back();
    while (!f.model.empty() && f.model.front() == ' ') f.model.erase(f.model.begin());
  }
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

KernelPolicy parse_kernel_policy(const std::string& text) {
  if (text == "auto") return KernelPolicy::auto_select;
  if (text == "avx2") return KernelPolicy::avx2_only;
  if (text == "avx512-emulated") {
    if (!cpu_features().avx2) throw Error("--kernels avx512-emulated: needs a CPU with AVX2 (the emulation runs on it)");
    return KernelPolicy::avx512_emulated;
  }
  if (text == "reference") return KernelPolicy::reference;
  throw Error("--kernels '" + text + "': expected auto, avx2, avx512-emulated or reference");
}

bool use_avx2(KernelPolicy policy) { return policy != KernelPolicy::reference && cpu_features().avx2; }

bool use_avx512(KernelPolicy policy) {
  const CpuFeatures& f = cpu_features();
  return policy == KernelPolicy::auto_select && use_avx2(policy) && f.avx512f && f.avx512bw && f.avx512vl;
}

bool use_avx512_vnni(KernelPolicy policy) { return use_avx512(policy) && cpu_features().avx512_vnni; }

bool use_avx512_emulated(KernelPolicy policy) { return policy == KernelPolicy::avx512_emulated && cpu_features().avx2; }

}  // namespace tinyq::kernels
