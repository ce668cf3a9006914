#pragma once
// What the processor can run, read once from CPUID (and XGETBV, which says
// whether the operating system saves the wide registers). Fast kernels are
// chosen from this at prepare time, the way ONNX Runtime's MLAS fills its
// dispatch table: the build never assumes the machine it runs on.
#include <string>

namespace tinyq::kernels {

struct CpuFeatures {
  bool avx2 = false;        // with FMA3: the x86-avx2 kernels
  bool fma = false;
  bool avx512f = false;     // AVX-512 Foundation + BW + VL, OS-enabled
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
  bool amx_int8 = false;    // reported by CPUID; the kernel may still refuse the permission
  std::string model;        // brand string, e.g. "AMD EPYC 7B13"
};

const CpuFeatures& cpu_features();

// Which kernels may run: every fast kernel also checks that the CPU has its
// ISA. avx2_only: the x86-avx2 kernels even where AVX-512 is there (to
// compare). avx512_emulated: the AVX-512 kernels' code on SIMDe's portable
// intrinsics (AVX2 underneath), to check their algorithm and their use by the
// runtime on any AVX2 machine; slow, for tests.
enum class KernelPolicy { auto_select, avx2_only, avx512_emulated, reference };

// "auto", "avx2", "avx512-emulated" or "reference"; throws Error naming the
// option otherwise.
KernelPolicy parse_kernel_policy(const std::string& text);

// True when the x86-avx2 kernels may run under this policy on this CPU.
bool use_avx2(KernelPolicy policy);

// True when the x86-avx512 kernels may run (AVX-512 F/BW/VL besides AVX2).
bool use_avx512(KernelPolicy policy);

// True when the x86-avx512-vnni kernels may run (the above and VNNI).
bool use_avx512_vnni(KernelPolicy policy);

// True when the emulated AVX-512 kernels are asked for (and AVX2 is there).
bool use_avx512_emulated(KernelPolicy policy);

}  // namespace tinyq::kernels
