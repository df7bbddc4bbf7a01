// Weighted scale searches shared by the K-quant and IQ4 reference quantizers (internal to ref/).
#pragma once
#include <cstdint>

namespace omni::kernels::ref::detail {

// x[i] ~ d * L[i] with integer L in [lo, hi] (lo < 0 < hi), minimising sum w (x - d L)^2.
// Tries scales mapping the largest-magnitude element to lo +- 0.1*k (k <= nsteps), refits d by
// least squares, then alternates assign/refit. Returns d (0 for an all-zero block; L = 0).
float fit_symmetric(int n, int lo, int hi, const float* x, const float* w, int8_t* L, int nsteps);

// x[i] ~ d * L[i] - m with L in [0, nmax], d > 0, m >= 0, minimising sum w (x - d L + m)^2.
// Candidate inverse scales (nmax + rmin + rdelta*k) / (max - min), k = 0..nstep, each with a
// joint least-squares fit of (d, m); then alternates assign/refit. Returns d, stores m.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* m, float rmin,
                    float rdelta, int nstep);

// x[i] ~ d * K[idx[i]] over the IQ4 non-linear codebook K, minimising sum w (x - d K)^2.
// Returns d (0 for an all-zero block; idx then points at the entry nearest zero).
float fit_codebook(int n, const float* x, const float* w, uint8_t* idx, int ntry);
// Index of the codebook entry nearest to v.
int nearest_codebook(float v);

}  // namespace omni::kernels::ref::detail
