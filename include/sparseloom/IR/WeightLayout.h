//===- WeightLayout.h - Linear-op weights as channel matrices ---*- C++ -*-===//
//
// Part of SparseLoom.
//
//===----------------------------------------------------------------------===//
//
// Every consumer of weight sparsity (the sparsity analysis, the pruner, later
// the encoder) must agree on what a "row", a "block" or an "N:M group" of a
// weight is, or a weight pruned as 4x1 blocks would be reported as something
// else. This header is that one definition: the weight operand of a linear
// op viewed as a matrix [output channels, reduction], whatever the op stores:
//
//   Conv           [M, C/g, k...]  -> rows M, columns C/g*k... (row-major);
//   ConvTranspose  [C, M/g, k...]  -> rows M (group g's block of output
//                                     channels), columns C/g*k...;
//   Gemm transB=1  [N, K]          -> as is;  Gemm transB=0 [K, N] and
//   MatMul         [..., K, N]     -> transposed: rows N (per batch), cols K;
//   anything else (unknown linear ops, or a weight viewed without its op):
//   [dim0, rest], and a scalar or a vector is one row.
//
// The view maps (row, column) to the row-major index of the element in the
// tensor; it never copies data. The weight layout is part of each op's
// semantics, which the op registry does not describe, so the few linear ops
// are named here.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSELOOM_IR_WEIGHTLAYOUT_H
#define SPARSELOOM_IR_WEIGHTLAYOUT_H

#include "sparseloom/IR/Module.h"

#include "llvm/ADT/ArrayRef.h"

#include <algorithm>
#include <cstdint>

namespace sparseloom {

class WeightMatrixView {
public:
  enum class Kind {
    OutFirst,   // [rows, rest...]
    InFirst,    // [..., K, N]: rows (batch, N), columns K
    Transposed, // ConvTranspose [C, M/g, spatial...]
  };

  /// The [dim0, rest] view; a scalar or a vector is one row.
  static WeightMatrixView outFirst(llvm::ArrayRef<int64_t> dims) {
    WeightMatrixView v;
    int64_t n = numElements(dims);
    v.rows_ = dims.size() >= 2 ? dims[0] : 1;
    v.cols_ = v.rows_ > 0 ? n / v.rows_ : 0;
    return v;
  }

  /// The view of a weight of shape `dims` read as the weight operand of
  /// `node`. Shapes that do not fit the op's layout (a rank-1 MatMul weight,
  /// a ConvTranspose whose groups do not divide C) get the [dim0, rest] view.
  static WeightMatrixView forNode(const Node &node,
                                  llvm::ArrayRef<int64_t> dims) {
    const size_t rank = dims.size();
    const int64_t n = numElements(dims);
    if (rank >= 2 &&
        (node.opType == "MatMul" ||
         (node.opType == "Gemm" && node.getIntAttr("transB", 0) == 0))) {
      WeightMatrixView v;
      v.kind_ = Kind::InFirst;
      v.k_ = dims[rank - 2];
      v.n_ = dims[rank - 1];
      int64_t batch = n / std::max<int64_t>(1, v.k_ * v.n_);
      v.rows_ = batch * v.n_;
      v.cols_ = v.k_;
      return v;
    }
    if (rank >= 2 && node.opType == "ConvTranspose") {
      int64_t group = std::max<int64_t>(1, node.getIntAttr("group", 1));
      if (dims[0] % group == 0) {
        WeightMatrixView v;
        v.kind_ = Kind::Transposed;
        v.inPerGroup_ = dims[0] / group;
        v.outPerGroup_ = dims[1];
        v.spatial_ = n / std::max<int64_t>(1, dims[0] * dims[1]);
        v.rows_ = group * v.outPerGroup_;
        v.cols_ = v.inPerGroup_ * v.spatial_;
        return v;
      }
    }
    return outFirst(dims);
  }

  Kind kind() const { return kind_; }
  /// Output channels (per batch, for a batched MatMul weight).
  int64_t rows() const { return rows_; }
  /// Reduction length of one output channel.
  int64_t cols() const { return cols_; }

  /// Row-major index into the weight tensor of matrix element (row, col).
  int64_t index(int64_t row, int64_t col) const {
    switch (kind_) {
    case Kind::OutFirst:
      return row * cols_ + col;
    case Kind::InFirst: {
      int64_t b = row / n_, j = row % n_;
      return (b * k_ + col) * n_ + j;
    }
    case Kind::Transposed: {
      int64_t g = row / outPerGroup_, j = row % outPerGroup_;
      int64_t c = col / spatial_, s = col % spatial_;
      return ((g * inPerGroup_ + c) * outPerGroup_ + j) * spatial_ + s;
    }
    }
    return 0;
  }

private:
  static int64_t numElements(llvm::ArrayRef<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }

  Kind kind_ = Kind::OutFirst;
  int64_t rows_ = 1, cols_ = 1;
  int64_t k_ = 1, n_ = 1;                                  // InFirst
  int64_t inPerGroup_ = 1, outPerGroup_ = 1, spatial_ = 1; // Transposed
};

} // namespace sparseloom

#endif // SPARSELOOM_IR_WEIGHTLAYOUT_H
