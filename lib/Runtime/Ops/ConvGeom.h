//===- ConvGeom.h - Convolution geometry and reference loops ----*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// What Conv.cpp and PointwiseDepthwise.cpp share: one conv's sizes, the
// load-time check of one spatial axis, and the portable loops that compute
// one output channel.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_LIB_RUNTIME_OPS_CONVGEOM_H
#define SPARSELOOM_LIB_RUNTIME_OPS_CONVGEOM_H

#include "sparseloom/Runtime/OpRegistry.h"

#include <cstdint>

namespace sparseloom {
namespace runtime {
namespace ops {

/// One NCHW convolution's sizes (a 1-D conv has h = oh = kh = 1).
struct ConvGeom {
  int64_t n, c, h, w, m, oh, ow;
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group;
  /// Floats from one input (output) channel plane to the next: h * w
  /// (oh * ow), or the padded plane of a PaddedPlanes tensor.
  int64_t inPlane, outPlane;
  int64_t cg() const { return c / group; }     // input channels per group
  int64_t mg() const { return m / group; }     // output channels per group
  int64_t k() const { return cg() * kh * kw; } // reduction length
  int64_t spatial() const { return oh * ow; }
  bool direct() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 &&
           pb == 0 && pr == 0;
  }
};

/// Checks one spatial axis at load: window, stride, dilation and pads are
/// valid and give the output size `out`; `axis` ("H" or "W") names it in
/// the error.
sl_status checkConvAxis(PrepareContext &ctx, const char *axis, int64_t in,
                        int64_t out, int64_t k, int64_t s, int64_t d,
                        int64_t p0, int64_t p1);

/// The reference loops for one output channel of one image: `out` (OH x OW)
/// = bias + the sum over the group's g.cg() input channels (`x`, the
/// first of them, H x W each, g.inPlane floats apart) and the taps of
/// weight row `wrow`, input channel by channel, tap by tap, row by row. No
/// residual, no activation.
void referenceConvChannel(const ConvGeom &g, const float *x, const float *wrow,
                          float bias, float *out);

/// Adds Opcode::PointwiseDepthwise (PointwiseDepthwise.cpp); registerConvOps
/// calls it, so the Conv family includes the fused pair.
void registerPointwiseDepthwise(OpResolver &resolver);

} // namespace ops
} // namespace runtime
} // namespace sparseloom

#endif // SPARSELOOM_LIB_RUNTIME_OPS_CONVGEOM_H
