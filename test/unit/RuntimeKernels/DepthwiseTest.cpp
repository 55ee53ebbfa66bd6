//===- DepthwiseTest.cpp - Depthwise convolution against a naive loop -----===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Kernel sizes with unrolled paths (3x3, 5x5) and without (1x1, 7x7, 3x5,
// 2x2), strides 1, 2 and 3, dilation, symmetric and asymmetric padding, and
// image widths from 1 to beyond a 32-column vector group, so the masked
// border groups, the unmasked interior, the scalar path (stride 3) and the
// whole-plane path for small "same"-padded planes all run, and with
// AVX-512 its flat-plane (stride 1, OW == W) and stride-2 paths; outputs are
// bit-identical for any thread count. Every case also writes its planes
// further apart (a PaddedPlanes output), leaving the floats between them
// untouched.
//
//===----------------------------------------------------------------------===//

#include "KernelTestUtils.h"
#include "ThreadPool.h"

#include <cstring>

using namespace sparseloom;
using namespace sparseloom::runtime;
using namespace sparseloom::runtime::testing;

namespace {

struct DwCase {
  uint32_t channels, h, w;
  int kh, kw, sh, sw, dh, dw;
  int pt, pl, pb, pr;
};

const DwCase kCases[] = {
    {3, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {4, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {5, 12, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 9, 71, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
    {3, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {2, 15, 67, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0},
    {3, 10, 40, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
    {2, 21, 83, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2},
    {2, 7, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
    {2, 13, 50, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},
    {2, 11, 37, 3, 5, 1, 2, 1, 1, 1, 2, 1, 2},
    {2, 16, 48, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
    {2, 17, 60, 3, 3, 2, 2, 2, 3, 1, 3, 2, 1},
    {2, 12, 40, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1},
    {3, 6, 35, 2, 2, 1, 1, 1, 1, 0, 1, 1, 0},
    // Small "same"-padded planes: the whole-plane path (dilated,
    // asymmetric padding, 5x5, and a partial last vector).
    {4, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
    {2, 6, 10, 3, 3, 1, 1, 1, 1, 0, 1, 2, 1},
    {3, 7, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
    {96, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {40, 56, 56, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2},
    // The AVX-512 paths: whole planes at stride 1 (MobileNetV2's 112x112,
    // a width whose column masks repeat only after 71 vectors, a 7x7
    // filter), and column stride 2 (MobileNetV2's, row stride 1, odd
    // widths, an even-width filter, pads that leave the last column out).
    {5, 112, 112, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {3, 9, 71, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 23, 20, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},
    {4, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {3, 19, 33, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},
    {2, 13, 41, 4, 4, 2, 2, 2, 1, 2, 1, 1, 2},
    {2, 30, 30, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},
};

/// The depthwise ConvParams of a case (one group per channel).
format::ConvParams paramsOf(const DwCase &dc) {
  format::ConvParams p{};
  p.kernel[0] = dc.kh;
  p.kernel[1] = dc.kw;
  p.strides[0] = dc.sh;
  p.strides[1] = dc.sw;
  p.pads[0] = dc.pt;
  p.pads[1] = dc.pl;
  p.pads[2] = dc.pb;
  p.pads[3] = dc.pr;
  p.dilations[0] = dc.dh;
  p.dilations[1] = dc.dw;
  p.group = int32_t(dc.channels);
  return p;
}

/// One case with its output planes `gap` floats further apart than OH * OW.
void runCase(const DwCase &dc, format::Activation act, bool bias,
             ThreadPool *pool, size_t gap = 0) {
  SCOPED_TRACE(::testing::Message()
               << "c=" << dc.channels << " " << dc.h << "x" << dc.w << " k="
               << dc.kh << "x" << dc.kw << " s=" << dc.sh << "," << dc.sw
               << " d=" << dc.dh << "," << dc.dw << " pads=" << dc.pt << ","
               << dc.pl << "," << dc.pb << "," << dc.pr << " act=" << int(act)
               << " threads=" << (pool ? pool->threads() : 1)
               << " gap=" << gap);
  const int oh =
      (int(dc.h) + dc.pt + dc.pb - ((dc.kh - 1) * dc.dh + 1)) / dc.sh + 1;
  const int ow =
      (int(dc.w) + dc.pl + dc.pr - ((dc.kw - 1) * dc.dw + 1)) / dc.sw + 1;
  ASSERT_GT(oh, 0);
  ASSERT_GT(ow, 0);
  std::vector<float> in =
      randomVector(size_t(dc.channels) * dc.h * dc.w, dc.h * 7 + dc.w);
  std::vector<float> wt =
      randomVector(size_t(dc.channels) * dc.kh * dc.kw, dc.kh + dc.kw);
  std::vector<float> biasV = randomVector(dc.channels, 4);
  const format::ConvParams p = paramsOf(dc);
  Epilogue e;
  e.bias = bias ? biasV.data() : nullptr;
  e.activation = act;
  e.actMin = -0.3f;
  e.actMax = 0.6f;
  // One guard plane after the output, and the gaps between planes.
  const size_t plane = size_t(oh) * ow, ld = plane + gap;
  std::vector<float> out(size_t(dc.channels + 1) * ld, kGuard);
  depthwiseConvAvx2(in.data(), dc.channels, dc.h, dc.w, wt.data(), p,
                    uint32_t(oh), uint32_t(ow), out.data(), ld, e, pool);

  std::vector<double> want(size_t(dc.channels) * plane);
  for (uint32_t c = 0; c < dc.channels; ++c)
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        double sum = 0;
        for (int i = 0; i < dc.kh; ++i)
          for (int j = 0; j < dc.kw; ++j) {
            int iy = y * dc.sh - dc.pt + i * dc.dh;
            int ix = x * dc.sw - dc.pl + j * dc.dw;
            if (iy < 0 || iy >= int(dc.h) || ix < 0 || ix >= int(dc.w))
              continue;
            sum += double(wt[(c * dc.kh + i) * dc.kw + j]) *
                   in[(c * dc.h + iy) * dc.w + ix];
          }
        want[c * plane + size_t(y) * ow + x] = applyEpilogue(sum, c, e);
      }
  EXPECT_TRUE(closeEnough(want, out.data(), dc.channels, plane, ld,
                          size_t(dc.kh) * dc.kw));
  EXPECT_TRUE(guardsIntact(out, dc.channels, plane, ld));
}

/// Every case's output bits with 1, 2 and 3 threads.
TEST(Depthwise, SameBitsForAnyThreadCount) {
  SKIP_WITHOUT_AVX2();
  ThreadPool two(2), three(3);
  for (const DwCase &dc : kCases) {
    const int oh =
        (int(dc.h) + dc.pt + dc.pb - ((dc.kh - 1) * dc.dh + 1)) / dc.sh + 1;
    const int ow =
        (int(dc.w) + dc.pl + dc.pr - ((dc.kw - 1) * dc.dw + 1)) / dc.sw + 1;
    std::vector<float> in =
        randomVector(size_t(dc.channels) * dc.h * dc.w, dc.h + 3 * dc.w);
    std::vector<float> wt =
        randomVector(size_t(dc.channels) * dc.kh * dc.kw, dc.kw);
    std::vector<float> biasV = randomVector(dc.channels, 5);
    const format::ConvParams p = paramsOf(dc);
    Epilogue e;
    e.bias = biasV.data();
    e.activation = format::Activation::Relu;
    const size_t size = size_t(dc.channels) * oh * ow;
    std::vector<float> one(size), other(size);
    depthwiseConvAvx2(in.data(), dc.channels, dc.h, dc.w, wt.data(), p,
                      uint32_t(oh), uint32_t(ow), one.data(), size_t(oh) * ow,
                      e, nullptr);
    for (ThreadPool *pool : {&two, &three}) {
      depthwiseConvAvx2(in.data(), dc.channels, dc.h, dc.w, wt.data(), p,
                        uint32_t(oh), uint32_t(ow), other.data(),
                        size_t(oh) * ow, e, pool);
      EXPECT_EQ(std::memcmp(one.data(), other.data(), sizeof(float) * size), 0)
          << "c=" << dc.channels << " " << dc.h << "x" << dc.w
          << " threads=" << pool->threads();
    }
  }
}

TEST(Depthwise, MatchesNaiveConvolution) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const DwCase &dc : kCases) {
    runCase(dc, format::Activation::None, false, nullptr);
    runCase(dc, format::Activation::Clip, true, nullptr);
    runCase(dc, format::Activation::Relu, true, &pool);
  }
}

/// Planes written further apart: to the next 16-float boundary (what a
/// PaddedPlanes tensor holds) and by an odd gap, on every path.
TEST(Depthwise, WritesPlanesApart) {
  SKIP_WITHOUT_AVX2();
  ThreadPool pool(2);
  for (const DwCase &dc : kCases) {
    const size_t oh = size_t(
        (int(dc.h) + dc.pt + dc.pb - ((dc.kh - 1) * dc.dh + 1)) / dc.sh + 1);
    const size_t ow = size_t(
        (int(dc.w) + dc.pl + dc.pr - ((dc.kw - 1) * dc.dw + 1)) / dc.sw + 1);
    const size_t toVector =
        size_t(format::paddedPlaneFloats(int64_t(oh * ow))) - oh * ow;
    runCase(dc, format::Activation::Clip, true, nullptr, toVector);
    runCase(dc, format::Activation::Relu, true, &pool, 5);
  }
}

} // namespace
