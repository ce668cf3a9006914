// Per-kernel speed (Google Benchmark): each convolution of ResNet8, fp32 and
// int8, reference, x86-avx2, x86-avx512 and x86-avx512-vnni kernels, in MAC/s
// (a kernel the CPU cannot run reports "skipped"), and the Winograd fp32
// kernel on the layers it takes (MAC/s counts the direct MACs); and the machine's peak
// multiply-accumulate rate for the instructions the kernels use (a tight loop
// of independent FMAs / vpmaddwd / vpdpbusd), so a kernel's figure reads as a
// share of peak. Run: build/bench/tinyq_kernel_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_avx512.h"
#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/winograd_avx512.h"

namespace {

using tinyq::kernels::Conv2DParams;

// ResNet8's convolutions (one image): name, in channels, size, out channels, kernel, stride, pads (top/left).
struct Layer {
  const char* name;
  std::int64_t cin, size, cout, k, stride, pad;
};
const Layer kLayers[] = {
    {"conv2d 3->16 3x3 32x32", 3, 32, 16, 3, 1, 1},
    {"conv2d_1 16->16 3x3 32x32", 16, 32, 16, 3, 1, 1},
    {"conv2d_3 16->32 3x3 s2", 16, 32, 32, 3, 2, 0},
    {"conv2d_5 16->32 1x1 s2", 16, 32, 32, 1, 2, 0},
    {"conv2d_4 32->32 3x3 16x16", 32, 16, 32, 3, 1, 1},
    {"conv2d_6 32->64 3x3 s2", 32, 16, 64, 3, 2, 0},
    {"conv2d_7 64->64 3x3 8x8", 64, 8, 64, 3, 1, 1},
};

Conv2DParams params_of(const Layer& l) {
  Conv2DParams p;
  p.in_channels = l.cin, p.in_h = p.in_w = l.size, p.out_channels = l.cout;
  p.kernel_h = p.kernel_w = l.k, p.stride_h = p.stride_w = l.stride, p.pad_top = p.pad_left = l.pad;
  // TensorFlow 'same': stride 1 pads 1 on each side; stride 2 pads 0 before and 1 after (output size/2).
  p.out_h = p.out_w = l.stride == 1 ? l.size : l.size / 2;
  return p;
}

void set_macs(benchmark::State& state, const Conv2DParams& p) {
  const double macs = static_cast<double>(p.out_channels * p.out_h * p.out_w * p.in_channels * p.kernel_h * p.kernel_w);
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
}

enum class Kernel { reference, avx2, avx512, winograd };  // avx512: x86-avx512 (float) or x86-avx512-vnni (int8)

// Empty when this CPU runs `kernel`, else why not.
const char* unavailable(Kernel kernel, bool vnni) {
  using namespace tinyq::kernels;
  if (kernel == Kernel::avx2 && !use_avx2(KernelPolicy::auto_select)) return "no AVX2 on this CPU";
  if (kernel == Kernel::winograd && !use_avx512(KernelPolicy::auto_select)) return "no AVX-512 on this CPU";
  if (kernel == Kernel::avx512 && !(vnni ? use_avx512_vnni(KernelPolicy::auto_select) : use_avx512(KernelPolicy::auto_select)))
    return vnni ? "no AVX-512 VNNI on this CPU" : "no AVX-512 on this CPU";
  return nullptr;
}

void conv_f32(benchmark::State& state, const Layer& layer, Kernel kernel) {
  if (const char* why = unavailable(kernel, false)) return state.SkipWithError(why);
  const Conv2DParams p = params_of(layer);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(static_cast<std::size_t>(p.in_channels * p.in_h * p.in_w)), w(static_cast<std::size_t>(p.out_channels * p.in_channels * p.kernel_h * p.kernel_w)),
      b(static_cast<std::size_t>(p.out_channels)), y(static_cast<std::size_t>(p.out_channels * p.out_h * p.out_w));
  for (auto* v : {&x, &w, &b})
    for (float& e : *v) e = u(rng);
  if (kernel == Kernel::winograd && !tinyq::kernels::x86::winograd_applies(p)) return state.SkipWithError("not a Winograd layer");
  const auto packed = tinyq::kernels::x86::pack_conv_f32(p, w, b, {});
  const auto winograd = tinyq::kernels::x86::pack_winograd_f32(p, w, b, {});
  for (auto _ : state) {
    if (kernel == Kernel::winograd) tinyq::kernels::x86::avx512::winograd_conv3x3_f32(p, winograd, x.data(), nullptr, y.data());
    else if (kernel == Kernel::avx2) tinyq::kernels::x86::conv2d_f32_avx2(p, packed, x.data(), y.data());
    else if (kernel == Kernel::avx512) tinyq::kernels::x86::avx512::conv2d_f32(p, packed, x.data(), y.data());
    else tinyq::kernels::conv2d_f32(p, x, w, b, y);
    benchmark::DoNotOptimize(y.data());
  }
  set_macs(state, p);
}

void conv_u8s8(benchmark::State& state, const Layer& layer, Kernel kernel) {
  if (const char* why = unavailable(kernel, true)) return state.SkipWithError(why);
  const Conv2DParams p = params_of(layer);
  std::mt19937 rng(2);
  std::vector<std::uint8_t> x(static_cast<std::size_t>(p.in_channels * p.in_h * p.in_w)), y(static_cast<std::size_t>(p.out_channels * p.out_h * p.out_w));
  std::vector<std::int8_t> w(static_cast<std::size_t>(p.out_channels * p.in_channels * p.kernel_h * p.kernel_w));
  std::vector<std::int32_t> bias(static_cast<std::size_t>(p.out_channels), 100), w_zp{0}, acc(y.size());
  for (auto& v : x) v = static_cast<std::uint8_t>(rng());
  for (auto& v : w) v = static_cast<std::int8_t>(rng());
  tinyq::kernels::Requantizer r;
  r.multipliers = {0.001f};
  r.fixed = {tinyq::kernels::to_fixed_multiplier(0.001)};
  const std::span<const std::int8_t> weights(w);
  const auto packed = tinyq::kernels::x86::pack_conv_q<std::int8_t>(p, weights, w_zp, bias, 3, r);
  std::optional<tinyq::kernels::x86::PackedConvVnni> packed_vnni;
  if (kernel == Kernel::avx512)
    packed_vnni = tinyq::kernels::x86::pack_conv_q_vnni<std::uint8_t, std::int8_t>(p, weights, w_zp, bias, 3, r);
  for (auto _ : state) {
    if (kernel == Kernel::avx2) {
      tinyq::kernels::x86::qlinear_conv_avx2<std::uint8_t, std::uint8_t>(p, packed, x.data(), y.data());
    } else if (kernel == Kernel::avx512) {
      tinyq::kernels::x86::avx512_vnni::qlinear_conv<std::uint8_t, std::uint8_t>(p, *packed_vnni, x.data(), y.data());
    } else {
      tinyq::kernels::qlinear_conv_accumulate<std::uint8_t, std::int8_t>(p, x, 3, w, w_zp, bias, acc);
      tinyq::kernels::requantize_channels<std::uint8_t>(1, p.out_channels, p.out_h * p.out_w, acc, r, y);
    }
    benchmark::DoNotOptimize(y.data());
  }
  set_macs(state, p);
}

// Peak rates: 12 independent accumulators hide the latency; MACs per
// instruction: 8 for vfmadd231ps ymm, 16 for vpmaddwd ymm (+ vpaddd).
__attribute__((target("avx2,fma"))) void peak_fma_f32(benchmark::State& state) {
  if (!tinyq::kernels::cpu_features().avx2) return state.SkipWithError("no AVX2 on this CPU");
  constexpr int kInner = 1000;
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_setzero_ps();
  const __m256 x = _mm256_set1_ps(1.0001f), w = _mm256_set1_ps(0.9999f);
  for (auto _ : state) {
    for (int i = 0; i < kInner; ++i)
      for (auto& a : acc) a = _mm256_fmadd_ps(x, w, a);
    for (auto& a : acc) benchmark::DoNotOptimize(a);
  }
  state.counters["MAC/s"] = benchmark::Counter(12.0 * kInner * 8, benchmark::Counter::kIsIterationInvariantRate);
}

__attribute__((target("avx2"))) void peak_madd_s16(benchmark::State& state) {
  if (!tinyq::kernels::cpu_features().avx2) return state.SkipWithError("no AVX2 on this CPU");
  constexpr int kInner = 1000;
  __m256i acc[10];
  for (auto& a : acc) a = _mm256_setzero_si256();
  const __m256i w = _mm256_set1_epi16(-2);
  for (auto _ : state) {
    // Each product reads its own accumulator: a product of loop constants
    // would be computed once (and the loop would time vpaddd alone). The
    // chains (vpmaddwd + vpaddd latency) are 10 deep: enough to fill the units.
    for (int i = 0; i < kInner; ++i)
      for (auto& a : acc) a = _mm256_add_epi32(a, _mm256_madd_epi16(a, w));
    for (auto& a : acc) benchmark::DoNotOptimize(a);
  }
  state.counters["MAC/s"] = benchmark::Counter(10.0 * kInner * 16, benchmark::Counter::kIsIterationInvariantRate);
}

// 16 MACs per vfmadd231ps zmm, 64 per vpdpbusd zmm.
__attribute__((target("avx512f"))) void peak_fma_f32_zmm(benchmark::State& state) {
  if (const char* why = unavailable(Kernel::avx512, false)) return state.SkipWithError(why);
  constexpr int kInner = 1000;
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512 x = _mm512_set1_ps(1.0001f), w = _mm512_set1_ps(0.9999f);
  for (auto _ : state) {
    for (int i = 0; i < kInner; ++i)
      for (auto& a : acc) a = _mm512_fmadd_ps(x, w, a);
    for (auto& a : acc) benchmark::DoNotOptimize(a);
  }
  state.counters["MAC/s"] = benchmark::Counter(12.0 * kInner * 16, benchmark::Counter::kIsIterationInvariantRate);
}

__attribute__((target("avx512f,avx512vnni"))) void peak_dpbusd_u8s8(benchmark::State& state) {
  if (const char* why = unavailable(Kernel::avx512, true)) return state.SkipWithError(why);
  constexpr int kInner = 1000;
  __m512i acc[12];
  for (auto& a : acc) a = _mm512_setzero_si512();
  const __m512i x = _mm512_set1_epi8(3), w = _mm512_set1_epi8(-2);
  for (auto _ : state) {
    for (int i = 0; i < kInner; ++i)
      for (auto& a : acc) a = _mm512_dpbusd_epi32(a, x, w);
    for (auto& a : acc) benchmark::DoNotOptimize(a);
  }
  state.counters["MAC/s"] = benchmark::Counter(12.0 * kInner * 64, benchmark::Counter::kIsIterationInvariantRate);
}

const int registered = [] {
  benchmark::RegisterBenchmark("peak/fma_f32 (vfmadd231ps ymm)", peak_fma_f32);
  benchmark::RegisterBenchmark("peak/madd_s16 (vpmaddwd+vpaddd ymm)", peak_madd_s16);
  benchmark::RegisterBenchmark("peak/fma_f32 (vfmadd231ps zmm)", peak_fma_f32_zmm);
  benchmark::RegisterBenchmark("peak/dpbusd_u8s8 (vpdpbusd zmm)", peak_dpbusd_u8s8);
  const std::pair<const char*, Kernel> f32_kernels[] = {{"x86-avx512-winograd", Kernel::winograd}, {"x86-avx512", Kernel::avx512},
                                                        {"x86-avx2", Kernel::avx2}, {"reference", Kernel::reference}};
  const std::pair<const char*, Kernel> int8_kernels[] = {{"x86-avx512-vnni", Kernel::avx512}, {"x86-avx2", Kernel::avx2}, {"reference", Kernel::reference}};
  for (const Layer& l : kLayers) {
    for (const auto& [name, kernel] : f32_kernels)
      benchmark::RegisterBenchmark((std::string("f32/") + name + "/" + l.name).c_str(), conv_f32, l, kernel);
    for (const auto& [name, kernel] : int8_kernels)
      benchmark::RegisterBenchmark((std::string("u8s8/") + name + "/" + l.name).c_str(), conv_u8s8, l, kernel);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
