/* rnn_lit's compiled LSTM loop (rnn_lit/compiled.py): what the float and the double code share.
   rnn_lit compiles this file, then gemm.c and lstm.c filled in for float, then the same two filled in
   for double, as one source (see _lstm_source). */
#include <math.h>
#include <stddef.h>
#include <string.h>
#pragma omp declare simd notinbranch
extern float expf(float);
#pragma omp declare simd notinbranch
extern double exp(double);
#if defined(__AVX512F__)
enum { VBYTES = 64, ROWS = 12 };  /* 32 vector registers: 12 rows x 2 sums, 2 for B, 1 for A */
#elif defined(__AVX__)
enum { VBYTES = 32, ROWS = 6 };   /* 16 vector registers */
#else
enum { VBYTES = 16, ROWS = 6 };   /* SSE, NEON */
#endif
