/* An LSTM layer's loops over time, forward and backward: per step one matrix product (a small
   register-blocked kernel) and one elementwise pass. Written once for a type REAL (float or double),
   with EXP its exp and _SUF its suffix (_f32 or _f64): rnn_lit fills these in before compiling,
   after lstm_common.h and gemm.c (whose gemm_SUF it calls).
   Gates are in PyTorch's order i, f, g, o; tanh(x) is computed as 2 sigmoid(2x) - 1. */

static inline REAL sig_SUF(REAL x) { return (REAL)1 / ((REAL)1 + EXP(-x)); }

/* One step forward. G (N, 4H) holds the pre-activations and is overwritten with the gates. Writes
   c_t, h_t and tanh(c_t) (each (N, H)), h_t into the next step's product input hx (row stride ldx)
   and, transposed, into hT (row stride ldT); hx and hT may be NULL. The threads share the rows. */
static void forward_step_SUF(REAL* G, const REAL* c_prev, REAL* c, REAL* h, REAL* tc, REAL* hx,
                             ptrdiff_t ldx, REAL* hT, ptrdiff_t ldT, ptrdiff_t N, ptrdiff_t H) {
  _Pragma("omp for schedule(static)")
  for (ptrdiff_t n = 0; n < N; n++) {
    REAL *g = G + n * 4 * H, *cn = c + n * H, *hn = h + n * H, *t = tc + n * H;
    const REAL* cp = c_prev + n * H;
    _Pragma("omp simd")
    for (ptrdiff_t k = 0; k < H; k++) {
      REAL i = sig_SUF(g[k]), f = sig_SUF(g[H + k]);
      REAL gg = 2 * sig_SUF(2 * g[2 * H + k]) - 1, o = sig_SUF(g[3 * H + k]);
      g[k] = i; g[H + k] = f; g[2 * H + k] = gg; g[3 * H + k] = o;
      REAL cc = f * cp[k] + i * gg, th = 2 * sig_SUF(2 * cc) - 1;
      cn[k] = cc; t[k] = th; hn[k] = o * th;
    }
    if (hx) memcpy(hx + n * ldx, hn, H * sizeof(REAL));
  }
  if (hT) {  /* after the rows (the loop above ends when every thread is done), by columns */
    _Pragma("omp for schedule(static) nowait")
    for (ptrdiff_t k = 0; k < H; k++)
      for (ptrdiff_t n = 0; n < N; n++) hT[k * ldT + n] = h[n * H + k];
  }
}

/* One step backward. From the gates G, c_{t-1}, tanh(c_t), the gradient reaching h_t through W_hh
   (d_h) and from the output (d_out), and d_c (that of c_t, overwritten with that of c_{t-1}): the
   pre-activation gradients dA (N, 4H), also written transposed into dAT (row stride ldT). */
static void backward_step_SUF(const REAL* G, const REAL* c_prev, const REAL* tc, const REAL* d_h,
                              const REAL* d_out, REAL* d_c, REAL* dA, REAL* dAT, ptrdiff_t ldT,
                              ptrdiff_t N, ptrdiff_t H) {
  _Pragma("omp for schedule(static)")
  for (ptrdiff_t n = 0; n < N; n++) {
    const REAL *g = G + n * 4 * H, *cp = c_prev + n * H, *t = tc + n * H;
    const REAL *dr = d_h + n * H, *dout = d_out + n * H;
    REAL *da = dA + n * 4 * H, *dc = d_c + n * H;
    _Pragma("omp simd")
    for (ptrdiff_t k = 0; k < H; k++) {
      REAL i = g[k], f = g[H + k], gg = g[2 * H + k], o = g[3 * H + k], th = t[k];
      REAL dh = dr[k] + dout[k], dcc = dc[k] + dh * o * (1 - th * th);
      da[k] = dcc * gg * i * (1 - i);
      da[H + k] = dcc * cp[k] * f * (1 - f);
      da[2 * H + k] = dcc * i * (1 - gg * gg);
      da[3 * H + k] = dh * th * o * (1 - o);
      dc[k] = dcc * f;
    }
  }
  _Pragma("omp for schedule(static) nowait")
  for (ptrdiff_t k = 0; k < 4 * H; k++)
    for (ptrdiff_t n = 0; n < N; n++) dAT[k * ldT + n] = dA[n * 4 * H + k];
}

/* The forward loop. XH (L, N, K = H_in + H) holds [x_t, h_{t-1}], with x and h_0 filled in; P the
   packed [W_ih, W_hh]^T under the summed biases; cs (L+1, N, H) holds c_0. Fills G (L, N, 4H) with
   the gates, cs, tanh(c_t) into tcs (L, N, H), h_t into hs (L, N, H) and into XH, and XHT (K, L*N),
   XH transposed, beyond its first H_in rows and N columns (unless XHT is NULL). Every thread of a
   parallel region runs it, sharing the work of each step. */
static void forward_loop_SUF(ptrdiff_t L, ptrdiff_t N, ptrdiff_t H_in, ptrdiff_t H, REAL* XH,
                             const REAL* P, REAL* G, REAL* cs, REAL* tcs, REAL* hs, REAL* XHT) {
  const ptrdiff_t K = H_in + H, LN = L * N;
  for (ptrdiff_t t = 0; t < L; t++) {
    REAL* g = G + t * N * 4 * H;
    gemm_SUF(N, K, 4 * H, XH + t * N * K, K, P, g, 4 * H);  /* a_t = [x_t, h_{t-1}] [W_ih, W_hh]^T + b */
    int last = t == L - 1;
    forward_step_SUF(g, cs + t * N * H, cs + (t + 1) * N * H, hs + t * N * H, tcs + t * N * H,
                     last ? NULL : XH + (t + 1) * N * K + H_in, K,
                     last || !XHT ? NULL : XHT + H_in * LN + (t + 1) * N, LN, N, H);
  }
}

/* The backward loop, from the saved G, cs and tcs, the output's gradient d_out (L, N, H), P, the
   packed W_hh (4H, H) under zeros, and Px, the packed W_ih (4H, H_in) under zeros. d_h (N, H) holds
   the gradient of h_L and d_c (N, H) that of c_L; they end as those of h_0 and c_0. Fills dAT
   (4H, L*N) with every step's pre-activation gradient and, unless it is NULL, d_x (L, N, H_in) with
   the input's; dA (N, 4H) is scratch. Run by every thread of a parallel region, as the forward. */
static void backward_loop_SUF(ptrdiff_t L, ptrdiff_t N, ptrdiff_t H_in, ptrdiff_t H, const REAL* G,
                              const REAL* cs, const REAL* tcs, const REAL* d_out, const REAL* P,
                              const REAL* Px, REAL* d_h, REAL* d_c, REAL* dA, REAL* dAT, REAL* d_x) {
  for (ptrdiff_t t = L - 1; t >= 0; t--) {
    backward_step_SUF(G + t * N * 4 * H, cs + t * N * H, tcs + t * N * H, d_h, d_out + t * N * H,
                      d_c, dA, dAT + t * N, L * N, N, H);
    gemm_SUF(N, 4 * H, H, dA, 4 * H, P, d_h, H);  /* the gradient reaching h_{t-1}: dA_t W_hh */
    if (d_x) gemm_SUF(N, 4 * H, H_in, dA, 4 * H, Px, d_x + t * N * H_in, H_in);  /* dA_t W_ih */
  }
}

/* The two loops as the library calls them: on this thread, or with threads > 1 on that many. */
void lstm_forward_SUF(ptrdiff_t L, ptrdiff_t N, ptrdiff_t H_in, ptrdiff_t H, REAL* XH, const REAL* P,
                      REAL* G, REAL* cs, REAL* tcs, REAL* hs, REAL* XHT, int threads) {
  if (threads > 1) {
    _Pragma("omp parallel num_threads(threads)")
    forward_loop_SUF(L, N, H_in, H, XH, P, G, cs, tcs, hs, XHT);
  } else forward_loop_SUF(L, N, H_in, H, XH, P, G, cs, tcs, hs, XHT);
}

void lstm_backward_SUF(ptrdiff_t L, ptrdiff_t N, ptrdiff_t H_in, ptrdiff_t H, const REAL* G,
                       const REAL* cs, const REAL* tcs, const REAL* d_out, const REAL* P,
                       const REAL* Px, REAL* d_h, REAL* d_c, REAL* dA, REAL* dAT, REAL* d_x,
                       int threads) {
  if (threads > 1) {
    _Pragma("omp parallel num_threads(threads)")
    backward_loop_SUF(L, N, H_in, H, G, cs, tcs, d_out, P, Px, d_h, d_c, dA, dAT, d_x);
  } else backward_loop_SUF(L, N, H_in, H, G, cs, tcs, d_out, P, Px, d_h, d_c, dA, dAT, d_x);
}
