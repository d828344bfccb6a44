// Deterministic random sampling for the synthetic feed generator. Internal
// to pipeline/gen.
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the
// std:: distributions are not (each library implements them its own way),
// so every distribution here is written out by hand. Together with the
// seed derivation below, a scenario and seed give the same bytes with any
// standard library (given the same libm for log, exp and pow, which glibc
// rounds correctly). An Rng is not thread-safe; use one per stream.
#ifndef VIGIA_PIPELINE_GEN_RANDOM_H_
#define VIGIA_PIPELINE_GEN_RANDOM_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace vigia::gen::internal {

// The SplitMix64 finalizer applied to x + golden ratio: a bijection on
// 64-bit values with good mixing, used to derive seeds and opaque ids.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Derives an independent seed for a named purpose and index.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t purpose, uint64_t index) {
  return Mix64(Mix64(seed ^ Mix64(purpose)) ^ Mix64(index + 0x51ed2701ULL));
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Uniform in [0, n). REQUIRES: n > 0. Rejection sampling, so unbiased.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
      x = engine_();
    } while (x >= limit);
    return x % n;
  }
  // Exponential with the given rate (> 0).
  double Exponential(double rate) { return -std::log1p(-Uniform()) / rate; }
  // Pareto with scale xm and shape alpha: heavy-tailed, >= xm.
  double Pareto(double xm, double alpha) {
    return xm / std::pow(1.0 - Uniform(), 1.0 / alpha);
  }
  // Standard normal (Box-Muller, one of the pair).
  double Normal() {
    const double u = 1.0 - Uniform();  // (0, 1]
    return std::sqrt(-2.0 * std::log(u)) *
           std::cos(6.283185307179586 * Uniform());
  }
  // Poisson with the given mean (>= 0): Knuth's product of uniforms below
  // 30, a rounded normal above (the counts drawn here are small).
  int64_t Poisson(double mean) {
    if (mean <= 0) return 0;
    if (mean >= 30) {
      return std::max<int64_t>(0,
                               std::llround(mean + std::sqrt(mean) * Normal()));
    }
    const double limit = std::exp(-mean);
    int64_t k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  // exp(uniform(log lo, log hi)): every order of magnitude equally likely.
  double LogUniform(double lo, double hi) {
    return std::exp(Uniform(std::log(lo), std::log(hi)));
  }

 private:
  std::mt19937_64 engine_;
};

// Samples an index with probability proportional to fixed weights, by binary
// search over the cumulative sums.
class WeightedTable {
 public:
  WeightedTable() = default;
  // REQUIRES: weights are >= 0 with a positive sum.
  explicit WeightedTable(const std::vector<double>& weights) {
    cumulative_.reserve(weights.size());
    double sum = 0;
    for (double w : weights) {
      sum += w;
      cumulative_.push_back(sum);
    }
  }
  bool empty() const { return cumulative_.empty(); }
  size_t size() const { return cumulative_.size(); }
  size_t Sample(Rng& rng) const {
    const double u = rng.Uniform() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    return std::min<size_t>(it - cumulative_.begin(), cumulative_.size() - 1);
  }

 private:
  std::vector<double> cumulative_;
};

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_RANDOM_H_
