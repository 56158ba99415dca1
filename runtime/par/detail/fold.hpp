#pragma once
// How one piece of a reduction over scalar values folds its range (par::iter's reduce, sum,
// count): four independent chains, and on x86-64 the same loop compiled a second time for AVX2,
// chosen at run time.
//
// Four chains. The piece [lo, hi) is cut into four quarters, each folded into its own
// accumulator, and the four are combined in order: the operation need only be associative, as
// reduce documents. One accumulator makes every step wait for the previous one; four let the
// processor overlap them (about 20% on cheap items where the compiler does not vectorise).
//
// Two compilations. A library compiled for baseline x86-64 (SSE2) gets no vector code from
// g++ for 64-bit integer multiplies, and little from either compiler for wider types. The same
// loop compiled with `target("avx2")` does vectorise where the compiler can prove the result
// exact: integer arithmetic is reassociated, floating-point is not. `fold_chains` asks once per
// process whether the processor and the kernel support AVX2 (`__builtin_cpu_supports`, which
// also checks that the OS saves the vector registers) and calls that copy, once per piece, not
// per item. The user's functions are inlined into whichever copy runs; one the compiler does
// not inline is called as compiled. The cost is code size: two copies of the loop for every
// reduce over a scalar type.
//
// Why not AVX-512 too (it multiplies 64-bit integers natively, 4x faster again on this
// machine): in both g++ and LLVM, AVX-512F brings fused multiply-add with it, and the
// compilers contract `a * b + c` in the user's inlined code into one FMA (g++ by default in
// C++, clang within one expression), which rounds once instead of twice. A result would then
// depend on the processor the program runs on. AVX2 does not include FMA, so both copies
// compute every floating-point value exactly as the baseline does (tested in
// tests/par/iter_test.cpp with terms that cancel exactly only without contraction). A program
// compiled with -ffast-math (or -fassociative-math) allows the compilers to reorder a
// floating-point sum, and then the copies may round differently; that is what it asked for.
//
// Measured (100M items, (x ^ z) * (x ^ z) summed, one thread, this machine): g++-12 -O3
// baseline 0.039 s, AVX2 0.018 s; clang++-19 -O2 0.033 and 0.018 s. g++ at -O2 vectorises
// neither (its cheap cost model), so there both run alike.

#include <cstddef>
#include <utility>

namespace corio::par::detail {

/// The loop of both copies. `fo` provides identity(), step(acc, i) and combine(l, r).
template <class Folder, class T>
[[gnu::always_inline]] inline T fold_chains_loop(const Folder& fo, T acc, std::size_t lo, std::size_t hi) {
  const std::size_t q = (hi - lo) / 4;
  if (q < 16) {  // not worth four accumulators
    for (std::size_t i = lo; i < hi; ++i) fo.step(acc, i);
    return acc;
  }
  T a1 = fo.identity(), a2 = fo.identity(), a3 = fo.identity();
  const std::size_t l1 = lo + q, l2 = l1 + q, l3 = l2 + q;
  for (std::size_t k = 0; k < q; ++k) {
    fo.step(acc, lo + k);
    fo.step(a1, l1 + k);
    fo.step(a2, l2 + k);
    fo.step(a3, l3 + k);
  }
  for (std::size_t i = l3 + q; i < hi; ++i) fo.step(a3, i);
  return fo.combine(fo.combine(std::move(acc), std::move(a1)), fo.combine(std::move(a2), std::move(a3)));
}

/// The baseline copy.
template <class Folder, class T>
T fold_chains_baseline(const Folder& fo, T acc, std::size_t lo, std::size_t hi) {
  return fold_chains_loop(fo, std::move(acc), lo, hi);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define CORIO_PAR_FOLD_AVX2 1
/// The AVX2 copy: call it only where cpu_has_avx2().
template <class Folder, class T>
[[gnu::target("avx2")]] T fold_chains_avx2(const Folder& fo, T acc, std::size_t lo, std::size_t hi) {
  return fold_chains_loop(fo, std::move(acc), lo, hi);
}

/// True where the processor has AVX2 and the kernel saves its registers. Asked once.
inline bool cpu_has_avx2() noexcept {
  static const bool yes = [] {
    __builtin_cpu_init();  // idempotent; makes the check valid even before main
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}
#else
#define CORIO_PAR_FOLD_AVX2 0
#endif

/// Folds [lo, hi) onto `acc` with the AVX2 copy where the processor has it (see the top).
template <class Folder, class T>
T fold_chains(const Folder& fo, T acc, std::size_t lo, std::size_t hi) {
#if CORIO_PAR_FOLD_AVX2
  if (cpu_has_avx2()) return fold_chains_avx2(fo, std::move(acc), lo, hi);
#endif
  return fold_chains_baseline(fo, std::move(acc), lo, hi);
}

}  // namespace corio::par::detail
