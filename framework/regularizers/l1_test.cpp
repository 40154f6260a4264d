// Tests of the l1 and none regularizers: value and prox against hand-computed soft thresholds.
#include <gtest/gtest.h>

#include "framework/builtins.hpp"
#include "framework/core/errors.hpp"

namespace nmlab {
namespace {

constexpr double kF64Tol = 1e-15;

TEST(L1Regularizer, ValueAndSoftThreshold) {
  const auto reg = builtins().regularizers.make("l1", Params());
  Weights Z(1, 4);
  Z << 1.5, -0.2, -3.0, 0.5;
  EXPECT_NEAR(reg->value(Z, NMPattern{2, 4}), 5.2, kF64Tol);
  reg->prox(Z, 0.5, NMPattern{2, 4});  // sign(z) max(|z| − 0.5, 0)
  EXPECT_NEAR(Z(0, 0), 1.0, kF64Tol);
  EXPECT_EQ(Z(0, 1), 0.0);
  EXPECT_NEAR(Z(0, 2), -2.5, kF64Tol);
  EXPECT_EQ(Z(0, 3), 0.0);
  Z(0, 0) = std::nan("");
  EXPECT_THROW(reg->prox(Z, 0.5, NMPattern{2, 4}), TensorError);
}

TEST(NoneRegularizer, ZeroValueIdentityProx) {
  const auto reg = builtins().regularizers.make("none", Params());
  Weights Z(1, 4);
  Z << 1.5, -0.2, -3.0, 0.5;
  const Weights before = Z;
  EXPECT_EQ(reg->value(Z, NMPattern{2, 4}), 0.0);
  reg->prox(Z, 10.0, NMPattern{2, 4});
  EXPECT_EQ(Z, before);
}

}  // namespace
}  // namespace nmlab
