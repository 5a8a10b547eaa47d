/* The product kernel of rnn_lit's compiled LSTM loop: C = init + A @ B, with B packed once.
   Written once for a type REAL (float or double), with _SUF its suffix (_f32 or _f64): rnn_lit fills
   these in before compiling, after lstm_common.h. */

/* B (K, M) packed: panels of PW columns, each K+1 rows of PW numbers, the first row the initial value
   of the result (a bias, or zeros). */
enum { VW_SUF = VBYTES / sizeof(REAL), PW_SUF = 2 * VW_SUF };  /* a panel: two vectors wide */
typedef REAL V_SUF __attribute__((vector_size(VBYTES)));
typedef REAL U_SUF __attribute__((vector_size(VBYTES), aligned(sizeof(REAL))));  /* unaligned */

/* The length of the packed form of a (K, M) matrix. */
ptrdiff_t packed_size_SUF(ptrdiff_t K, ptrdiff_t M) {
  return (M + PW_SUF - 1) / PW_SUF * (K + 1) * PW_SUF;
}

/* Packs rows k0 .. k0+K-1 of B (K_all, M), whose element (k, m) is B[(k-k0)*rs + m*cs], into P;
   when k0 == 0 also the first row, init (M,) or zeros where init is NULL. */
void pack_SUF(const REAL* B, ptrdiff_t rs, ptrdiff_t cs, const REAL* init, ptrdiff_t k0, ptrdiff_t K,
              ptrdiff_t K_all, ptrdiff_t M, REAL* P) {
  const ptrdiff_t W = PW_SUF;
  for (ptrdiff_t p = 0; p < M; p += W) {
    REAL* q = P + (p / W) * (K_all + 1) * W;
    ptrdiff_t cols = M - p < W ? M - p : W;
    if (k0 == 0) for (ptrdiff_t j = 0; j < W; j++) q[j] = init && j < cols ? init[p + j] : 0;
    q += (k0 + 1) * W;
    if (cs == 1)  /* read along B's rows */
      for (ptrdiff_t k = 0; k < K; k++)
        for (ptrdiff_t j = 0; j < W; j++) q[k * W + j] = j < cols ? B[k * rs + p + j] : 0;
    else  /* read along B's columns */
      for (ptrdiff_t j = 0; j < W; j++)
        for (ptrdiff_t k = 0; k < K; k++) q[k * W + j] = j < cols ? B[k * rs + (p + j) * cs] : 0;
  }
}

/* R rows of C (.., cols <= PW) = the panel's first row + A (R, K) @ the panel, summed in vector
   registers. With one or two rows each sum is split in S = 4 partial sums over k, so that four
   multiply-adds are in flight at once. */
static inline __attribute__((always_inline))
void kernel_SUF(const int R, const REAL* A, ptrdiff_t lda, const REAL* P, ptrdiff_t K,
                REAL* C, ptrdiff_t ldc, ptrdiff_t cols) {
  const ptrdiff_t VW = VW_SUF;
  const int S = R <= 2 ? 4 : 1;
  V_SUF c0[4][12], c1[4][12];  /* c0: the panel's first vector of columns, c1: its second */
  _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
    c0[0][r] = *(const U_SUF*)P;
    c1[0][r] = *(const U_SUF*)(P + VW);
    _Pragma("GCC unroll 4") for (int s = 1; s < S; s++) c0[s][r] = c1[s][r] = (V_SUF){0};
  }
  ptrdiff_t k = 0;
  for (; k + S <= K; k += S)
    _Pragma("GCC unroll 4") for (int s = 0; s < S; s++) {
      const REAL* p = P + (k + s + 1) * 2 * VW;
      const V_SUF b0 = *(const U_SUF*)p, b1 = *(const U_SUF*)(p + VW);
      _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
        REAL a = A[r * lda + k + s];
        c0[s][r] += a * b0;
        c1[s][r] += a * b1;
      }
    }
  for (; k < K; k++) {  /* what is left when S does not divide K */
    const REAL* p = P + (k + 1) * 2 * VW;
    const V_SUF b0 = *(const U_SUF*)p, b1 = *(const U_SUF*)(p + VW);
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
      REAL a = A[r * lda + k];
      c0[0][r] += a * b0;
      c1[0][r] += a * b1;
    }
  }
  _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
    _Pragma("GCC unroll 4") for (int s = 1; s < S; s++) { c0[0][r] += c0[s][r]; c1[0][r] += c1[s][r]; }
  if (cols == 2 * VW)
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
      *(U_SUF*)(C + r * ldc) = c0[0][r];
      *(U_SUF*)(C + r * ldc + VW) = c1[0][r];
    }
  else for (int r = 0; r < R; r++) {  /* the last panel, part of which is padding */
    REAL row[PW_SUF];
    memcpy(row, &c0[0][r], VBYTES);
    memcpy(row + VW, &c1[0][r], VBYTES);
    memcpy(C + r * ldc, row, cols * sizeof(REAL));
  }
}

/* C (N, M) = init + A (N, K) @ B, with B and init packed by pack into P. Inside a parallel region the
   threads share the (panel, block of rows) pairs; outside one, the loop runs on this thread. */
void gemm_SUF(ptrdiff_t N, ptrdiff_t K, ptrdiff_t M, const REAL* A, ptrdiff_t lda, const REAL* P,
              REAL* C, ptrdiff_t ldc) {
  const ptrdiff_t W = PW_SUF, blocks = (N + ROWS - 1) / ROWS, tasks = (M + W - 1) / W * blocks;
  _Pragma("omp for schedule(static)")
  for (ptrdiff_t i = 0; i < tasks; i++) {
    ptrdiff_t p = i / blocks * W, n = i % blocks * ROWS, cols = M - p < W ? M - p : W;
    const REAL *q = P + (p / W) * (K + 1) * W, *a = A + n * lda;
    REAL* c = C + n * ldc + p;
    switch (N - n < ROWS ? N - n : ROWS) {  /* a constant R in each: the sums stay in registers */
      case 1: kernel_SUF(1, a, lda, q, K, c, ldc, cols); break;
      case 2: kernel_SUF(2, a, lda, q, K, c, ldc, cols); break;
      case 3: kernel_SUF(3, a, lda, q, K, c, ldc, cols); break;
      case 4: kernel_SUF(4, a, lda, q, K, c, ldc, cols); break;
      case 5: kernel_SUF(5, a, lda, q, K, c, ldc, cols); break;
      case 6: kernel_SUF(6, a, lda, q, K, c, ldc, cols); break;
      case 7: kernel_SUF(7, a, lda, q, K, c, ldc, cols); break;
      case 8: kernel_SUF(8, a, lda, q, K, c, ldc, cols); break;
      case 9: kernel_SUF(9, a, lda, q, K, c, ldc, cols); break;
      case 10: kernel_SUF(10, a, lda, q, K, c, ldc, cols); break;
      case 11: kernel_SUF(11, a, lda, q, K, c, ldc, cols); break;
      default: kernel_SUF(ROWS, a, lda, q, K, c, ldc, cols); break;
    }
  }
}
