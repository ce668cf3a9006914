// Compiled with -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl (see
// src/CMakeLists.txt); the header says how it works. Compiled a second time
// on SIMDe's portable intrinsics (winograd_avx512_emulated.cpp), so the
// algorithm is checked on machines without AVX-512 too; the one masked load
// (SIMDe 0.7.4 has none) goes through memory there.
#include "kernels/x86/avx512_build.h"  // first: it selects the intrinsics

#include <algorithm>
#include <cstdint>

#include "kernels/x86/conv_layout.h"
#include "kernels/x86/winograd_avx512.h"

namespace tinyq::kernels::x86::TINYQ_AVX512_NAMESPACE {
namespace {

constexpr int kLanes = 16;   // tiles per vector
constexpr int kPoints = 16;  // transformed points per tile (4 x 4), k = 4 * row + column

// How one image's tiles are blocked; V lives in the per-thread scratch.
struct WinogradLayout {
  std::int64_t tiles_w, tiles_h, tiles;
  std::int64_t block;  // tiles per GEMM block: 32, or 16 for small images
  // From one point's V to the next: its channels' rows (block floats each)
  // and one cache line more. (Without it the 16 stores of a transform went to
  // addresses a power of two apart, all in one L1 set: the transform took
  // 57% of a layer.)
  std::int64_t point_stride;
  // Narrow images (4 or 8 tiles a row) are read from a zero-bordered copy:
  // its rows are pitch floats apart, its channels plane_stride.
  std::int64_t pitch, plane_stride;
  explicit WinogradLayout(const Conv2DParams& p)
      : tiles_w(p.out_w / 2),
        tiles_h(p.out_h / 2),
        tiles(tiles_w * tiles_h),
        block(tiles > kLanes ? 2 * kLanes : kLanes),
        point_stride(p.in_channels * block + kLanes),
        pitch(p.out_w + 2),
        plane_stride((p.out_h + 2) * pitch) {}
  bool narrow() const { return tiles_w % kLanes != 0; }
  // The copy's floats: the planes, then room for the windows of a last
  // group's lanes past the last tile row (read, never used).
  // (A whole number of vectors: copy_padded clears it a vector at a time.)
  std::int64_t copy_floats(std::int64_t channels) const {
    return narrow() ? round_up(channels * plane_stride + 8 * pitch + 4 * kLanes, kLanes) : 0;
  }
};

// 16 consecutive columns of an input row from column `col` (which may start
// left of the image or run past it): the lanes in the image, as a mask; the
// others read as the zero padding.
struct RowWindow {
  std::int64_t col;
  unsigned lanes;
};

inline RowWindow window_at(std::int64_t col, std::int64_t width) {
  const auto lo = static_cast<unsigned>(std::clamp<std::int64_t>(-col, 0, kLanes));
  const auto hi = static_cast<unsigned>(std::clamp<std::int64_t>(width - col, 0, kLanes));
  return {col, hi <= lo ? 0u : ((1u << hi) - 1u) & ~((1u << lo) - 1u)};
}

// Always a masked load, never a branch on the window: which loads are
// partial changes from row to row and group to group, and the mispredicted
// branches once took half the transform's time. Masked-off lanes are never
// read, so the window may hang over the image's ends.
inline __m512 load_window(const float* row, std::int64_t col, unsigned lanes) {
#ifdef TINYQ_EMULATE_AVX512  // SIMDe 0.7.4 has no masked loads: the same lanes through memory
  alignas(64) float values[kLanes] = {};
  for (int i = 0; i < kLanes; ++i)
    if (lanes >> i & 1u) values[i] = row[col + i];
  return _mm512_load_ps(values);
#else
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>(lanes), row + col);
#endif
}

// B^T d B for 16 tiles of one channel, from d[i][j]: input row i, column j
// of each lane's tile. Stored at out[k * point_stride].
inline void transform_and_store(const __m512 (&d)[4][4], float* out, std::int64_t point_stride) {
  __m512 h[4][4];  // h[input row][transformed column]
  for (int i = 0; i < 4; ++i) {
    h[i][0] = _mm512_sub_ps(d[i][0], d[i][2]);
    h[i][1] = _mm512_add_ps(d[i][1], d[i][2]);
    h[i][2] = _mm512_sub_ps(d[i][2], d[i][1]);
    h[i][3] = _mm512_sub_ps(d[i][1], d[i][3]);
  }
  for (int j = 0; j < 4; ++j) {
    _mm512_storeu_ps(out + (0 * 4 + j) * point_stride, _mm512_sub_ps(h[0][j], h[2][j]));
    _mm512_storeu_ps(out + (1 * 4 + j) * point_stride, _mm512_add_ps(h[1][j], h[2][j]));
    _mm512_storeu_ps(out + (2 * 4 + j) * point_stride, _mm512_sub_ps(h[2][j], h[1][j]));
    _mm512_storeu_ps(out + (3 * 4 + j) * point_stride, _mm512_sub_ps(h[1][j], h[3][j]));
  }
}

// 16 tiles of tile row th from tile tw0, one channel, read from the image
// itself (a padded copy cost a sixth of the layer): the even and odd columns
// of 34 values of an input row are each tile's 4 columns.
inline void transform_wide(const Conv2DParams& p, const float* channel, std::int64_t th, const RowWindow (&windows)[4], float* out,
                           std::int64_t point_stride) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512 d[4][4];
  for (int i = 0; i < 4; ++i) {
    const std::int64_t ih = 2 * th + i - p.pad_top;
    const bool inside = ih >= 0 && ih < p.in_h;
    const float* row = channel + (inside ? ih : 0) * p.in_w;
    auto load = [&](const RowWindow& w) { return load_window(row, w.col, inside ? w.lanes : 0u); };
    const __m512 a = load(windows[0]), b = load(windows[1]), a2 = load(windows[2]), b2 = load(windows[3]);
    d[i][0] = _mm512_permutex2var_ps(a, evens, b);
    d[i][1] = _mm512_permutex2var_ps(a, odds, b);
    d[i][2] = _mm512_permutex2var_ps(a2, evens, b2);
    d[i][3] = _mm512_permutex2var_ps(a2, odds, b2);
  }
  transform_and_store(d, out, point_stride);
}

// The zero-bordered copy of the image for narrow tile rows.
void copy_padded(const Conv2DParams& p, const WinogradLayout& l, const float* image, float* copy) {
  const std::int64_t floats = l.copy_floats(p.in_channels);
  for (std::int64_t i = 0; i < floats; i += kLanes) _mm512_storeu_ps(copy + i, _mm512_setzero_ps());
  for (std::int64_t c = 0; c < p.in_channels; ++c)
    for (std::int64_t ih = 0; ih < p.in_h; ++ih) {
      const float* src = image + (c * p.in_h + ih) * p.in_w;
      float* dst = copy + c * l.plane_stride + (ih + p.pad_top) * l.pitch + p.pad_left;
      for (std::int64_t j = 0; j < p.in_w; ++j) dst[j] = src[j];
    }
}

// 16 tiles of 16 / tiles_w whole tile rows from th0, one channel, from the
// padded copy. Lanes 0-7 (and 8-15) are 8 / tiles_w tile rows, whose 4 input
// rows each lie within 32 consecutive floats of the copy: one two-source
// permute per column j picks them; a blend joins the two halves.
inline void transform_narrow(const WinogradLayout& l, const float* plane, std::int64_t th0, const __m512i (&picks)[4], float* out,
                             std::int64_t point_stride) {
  const std::int64_t second = 2 * (th0 + 8 / l.tiles_w) * l.pitch;  // the second half's first input row
  __m512 d[4][4];
  for (int i = 0; i < 4; ++i) {
    const float* lo = plane + (2 * th0 + i) * l.pitch;
    const float* hi = plane + second + i * l.pitch;
    const __m512 lo_a = _mm512_loadu_ps(lo), lo_b = _mm512_loadu_ps(lo + kLanes);
    const __m512 hi_a = _mm512_loadu_ps(hi), hi_b = _mm512_loadu_ps(hi + kLanes);
    for (int j = 0; j < 4; ++j)
      d[i][j] = _mm512_mask_blend_ps(static_cast<__mmask16>(0xFF00), _mm512_permutex2var_ps(lo_a, picks[j], lo_b),
                                     _mm512_permutex2var_ps(hi_a, picks[j], hi_b));
  }
  transform_and_store(d, out, point_stride);
}

// V[k][c][t - first] for the block's tiles [first, first + block) and every
// channel: a block at a time, so that V is still in cache when its GEMMs
// read it (the whole image's V was not: the transform's stores were as slow
// as the GEMMs). Lanes past the last tile are computed from zeros or from
// other rows of the padded copy; their outputs are never stored.
void input_transform(const Conv2DParams& p, const WinogradLayout& l, const float* image, const float* copy, std::int64_t first,
                     float* v) {
  const std::int64_t plane = p.in_h * p.in_w;
  const std::int64_t valid = std::min(l.block, l.tiles - first);
  if (!l.narrow()) {  // each group of 16 tiles lies in one tile row
    for (std::int64_t g = 0; g < valid; g += kLanes) {
      const std::int64_t th = (first + g) / l.tiles_w, col = 2 * ((first + g) % l.tiles_w) - p.pad_left;
      const RowWindow windows[4] = {window_at(col, p.in_w), window_at(col + kLanes, p.in_w), window_at(col + 2, p.in_w),
                                    window_at(col + 2 + kLanes, p.in_w)};
      for (std::int64_t c = 0; c < p.in_channels; ++c)
        transform_wide(p, image + c * plane, th, windows, v + c * l.block + g, l.point_stride);
    }
    // A last block half full (an odd number of 16-tile groups): zeros in the
    // other half, not what the scratch held (a denormal would slow the FMAs).
    for (std::int64_t g = valid; g < l.block; g += kLanes)
      for (int k = 0; k < kPoints; ++k)
        for (std::int64_t c = 0; c < p.in_channels; ++c) _mm512_storeu_ps(v + k * l.point_stride + c * l.block + g, _mm512_setzero_ps());
    return;
  }
  alignas(64) std::int32_t pick[4][kLanes];  // lane -> offset of its tile's column j in its half's 32 floats
  for (int j = 0; j < 4; ++j)
    for (int lane = 0; lane < kLanes; ++lane) {
      const int half_lane = lane % 8, row = half_lane / static_cast<int>(l.tiles_w), tw = half_lane % static_cast<int>(l.tiles_w);
      pick[j][lane] = static_cast<std::int32_t>(row * 2 * l.pitch + 2 * tw + j);
    }
  const __m512i picks[4] = {_mm512_load_si512(pick[0]), _mm512_load_si512(pick[1]), _mm512_load_si512(pick[2]), _mm512_load_si512(pick[3])};
  for (std::int64_t g = 0; g < l.block; g += kLanes)
    for (std::int64_t c = 0; c < p.in_channels; ++c)
      transform_narrow(l, copy + c * l.plane_stride, (first + g) / l.tiles_w, picks, v + c * l.block + g, l.point_stride);
}

// One point's GEMM for NP panels (8 channels each) x NV vectors of 16 tiles:
// m[r][t] = sum over c of u[c][r] v[c][t], one chain of fused multiply-adds
// per output from zero; NP * NV = 2 keeps 16 accumulators in registers.
// Always inlined into the loop over the 16 points: as a call (GCC's choice)
// it cost 10-30% of a layer with few input channels.
template <int NP, int NV>
__attribute__((always_inline)) inline void point_gemm(const float* v, std::int64_t tile_stride, const float* u,
                                                      std::int64_t panel_stride, std::int64_t channels, float* m) {
  constexpr int R = NP * static_cast<int>(kWinogradPanel);
  __m512 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_setzero_ps();
  for (std::int64_t c = 0; c < channels; ++c) {
    __m512 x[NV];
    for (int j = 0; j < NV; ++j) x[j] = _mm512_loadu_ps(v + c * tile_stride + j * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 w = _mm512_set1_ps(u[(r / kWinogradPanel) * panel_stride + c * kWinogradPanel + r % kWinogradPanel]);
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_fmadd_ps(w, x[j], acc[r][j]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NV; ++j) _mm512_storeu_ps(m + r * NV * kLanes + j * kLanes, acc[r][j]);
}

inline __m512 activate(__m512 v, const Activation& act) {
  if (act.kind == Activation::Kind::relu) return _mm512_max_ps(v, _mm512_setzero_ps());
  if (act.kind == Activation::Kind::clip) return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(act.min)), _mm512_set1_ps(act.max));
  return v;
}

// One output row (2 * tiles_w floats, tiles_w = 8 or 4) of tile row k of a
// 16-lane group, from the group's 32 interleaved values (lo, hi).
inline void store_segment(float* dst, __m512 lo, __m512 hi, std::int64_t k, std::int64_t tiles_w) {
  if (tiles_w == 8) return _mm512_storeu_ps(dst, k == 0 ? lo : hi);
  const __m512 half = k < 2 ? lo : hi;
  _mm256_storeu_ps(dst, k % 2 == 0 ? _mm512_castps512_ps256(half)
                                   : _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(half), 1)));
}

// Y = A^T M A for channels [oc, oc + R) and the block's tiles from `first`,
// M as point_gemm left it (m[k][r][t]); then the bias, the sum input (a
// residual block's other branch; may be null), the activation and the
// stores.
template <int R, int NV>
void output_transform(const Conv2DParams& p, const WinogradLayout& l, const float* m, std::int64_t oc, std::int64_t first,
                      const float* bias, const float* sum, const Activation& act, float* y) {
  const __m512i lo_pairs = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi_pairs = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const std::int64_t plane = p.out_h * p.out_w;
  for (int r = 0; r < R && oc + r < p.out_channels; ++r)
    for (int j = 0; j < NV; ++j) {
      const std::int64_t t0 = first + j * kLanes;
      if (t0 >= l.tiles) break;
      __m512 s[2][4];  // A^T applied to the rows
      for (int col = 0; col < 4; ++col) {
        auto point = [&](int row) { return _mm512_loadu_ps(m + ((row * 4 + col) * R + r) * NV * kLanes + j * kLanes); };
        const __m512 m0 = point(0), m1 = point(1), m2 = point(2), m3 = point(3);
        s[0][col] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s[1][col] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
      }
      const std::int64_t offset = (oc + r) * plane;
      const __m512 b = _mm512_set1_ps(bias[r]);
      for (int i = 0; i < 2; ++i) {  // the tiles' top outputs, then their bottom ones
        const __m512 left = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]), b);
        const __m512 right = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]), b);
        // The 32 outputs of the 16 tiles' row i, in order.
        __m512 lo = _mm512_permutex2var_ps(left, lo_pairs, right), hi = _mm512_permutex2var_ps(left, hi_pairs, right);
        if (!l.narrow()) {  // the 16 tiles lie in one tile row
          const std::int64_t at = offset + (2 * (t0 / l.tiles_w) + i) * p.out_w + 2 * (t0 % l.tiles_w);
          if (sum) lo = _mm512_add_ps(lo, _mm512_loadu_ps(sum + at)), hi = _mm512_add_ps(hi, _mm512_loadu_ps(sum + at + kLanes));
          _mm512_storeu_ps(y + at, activate(lo, act));
          _mm512_storeu_ps(y + at + kLanes, activate(hi, act));
          continue;
        }
        const std::int64_t rows = std::min<std::int64_t>(kLanes / l.tiles_w, l.tiles_h - t0 / l.tiles_w);  // whole tile rows
        auto at = [&](std::int64_t k) { return offset + (2 * (t0 / l.tiles_w + k) + i) * p.out_w; };
        if (sum) {  // the sum input laid out as lo and hi: one output row of each tile row
          auto segment = [&](std::int64_t k) { return k < rows ? _mm256_loadu_ps(sum + at(k)) : _mm256_setzero_ps(); };
          auto pair = [&](__m256 a, __m256 c) {
            return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(a)), _mm256_castps_pd(c), 1));
          };
          if (l.tiles_w == 8) {
            lo = _mm512_add_ps(lo, _mm512_loadu_ps(sum + at(0)));
            if (rows > 1) hi = _mm512_add_ps(hi, _mm512_loadu_ps(sum + at(1)));
          } else {
            lo = _mm512_add_ps(lo, pair(segment(0), segment(1)));
            hi = _mm512_add_ps(hi, pair(segment(2), segment(3)));
          }
        }
        lo = activate(lo, act), hi = activate(hi, act);
        for (std::int64_t k = 0; k < rows; ++k) store_segment(y + at(k), lo, hi, k, l.tiles_w);
      }
    }
}

// All 16 points' GEMMs for NP panels from panel q and the block's tiles from
// `first`, into m, then their output transform.
template <int NP, int NV>
void block_panels(const Conv2DParams& p, const WinogradLayout& l, const PackedWinogradF32& packed, const float* v,
                  std::int64_t first, std::int64_t q, float* m, const float* sum, float* y) {
  constexpr int R = NP * static_cast<int>(kWinogradPanel);
  const std::int64_t cin = p.in_channels, panel_stride = cin * kWinogradPanel;
  for (int k = 0; k < kPoints; ++k) {
    const float* u = packed.transformed_weights.data() + (k * packed.panels + q) * panel_stride;
    point_gemm<NP, NV>(v + k * l.point_stride, l.block, u, panel_stride, cin, m + k * R * NV * kLanes);
  }
  output_transform<R, NV>(p, l, m, q * kWinogradPanel, first, packed.bias.data() + q * kWinogradPanel, sum, packed.activation, y);
}

}  // namespace

void winograd_conv3x3_f32(const Conv2DParams& p, const PackedWinogradF32& packed, const float* x, const float* sum, float* y) {
  const WinogradLayout l(p);
  // 64-byte aligned: a vector store across two cache lines costs two.
  const std::int64_t v_floats = kPoints * l.point_stride, m_floats = kPoints * 2 * kWinogradPanel * 2 * kLanes;
  float* base = scratch<float>(static_cast<std::size_t>(v_floats + m_floats + l.copy_floats(p.in_channels) + kLanes));
  float* v = base + (kLanes - reinterpret_cast<std::uintptr_t>(base) / sizeof(float) % kLanes) % kLanes;
  float* m = v + v_floats;  // one block's M: 16 points x 16 channels x 16 tiles, or x 8 x 32
  float* copy = m + m_floats;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const float* image = x + n * p.in_channels * p.in_h * p.in_w;
    float* out = y + n * packed.out_channels * p.out_h * p.out_w;
    const float* image_sum = sum ? sum + n * packed.out_channels * p.out_h * p.out_w : nullptr;
    if (l.narrow()) copy_padded(p, l, image, copy);
    for (std::int64_t first = 0; first < l.tiles; first += l.block) {
      input_transform(p, l, image, copy, first, v);
      if (l.block == 2 * kLanes) {
        for (std::int64_t q = 0; q < packed.panels; ++q) block_panels<1, 2>(p, l, packed, v, first, q, m, image_sum, out);
        continue;
      }
      std::int64_t q = 0;
      for (; q + 2 <= packed.panels; q += 2) block_panels<2, 1>(p, l, packed, v, first, q, m, image_sum, out);
      if (q < packed.panels) block_panels<1, 1>(p, l, packed, v, first, q, m, image_sum, out);
    }
  }
}

}  // namespace tinyq::kernels::x86::TINYQ_AVX512_NAMESPACE
