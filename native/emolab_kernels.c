/*
 * emolab native kernels: an N-API addon that computes on the tfjs wasm backend's heap in place.
 *
 * Every entry point receives the wasm heap as a Float32Array (backend.wasm.HEAPF32, read after the
 * output was allocated: memory growth replaces the view) and element offsets into it; nothing is
 * copied. lib/accel/tfjsInternals.ts is the only caller-side file that knows about the heap.
 *
 *   sgemm(heap, aOff, bOff, cOff, batch, m, n, k, transA, transB, strideA, strideB)
 *       C[i] = op(A[i]) @ op(B[i]) for i < batch, A/B row-major; strideA/B = elements between batch
 *       entries (0 broadcasts one matrix over the batch). C is dense [batch, m, n].
 *   adamw(heap, pOff, gOff, mOff, vOff, size, beta1, 1-beta1, beta2, 1-beta2, sqrt(1-beta2^t), eps, lr/(1-beta1^t), lr*wd)
 *       one fused AdamW update of a parameter and its moments in place, with lib/train/adamw.ts's
 *       operation order and float32 rounding (no FMA contraction: built with -ffp-contract=off).
 *   reduceSum(heap, xOff, outOff, outer, r, inner)
 *       out[o, i] = sum_j x[o, j, i]: a Sum over a contiguous run of axes without tfjs's transpose.
 *   sumsq(heap, spans) sum of squares over several tensors (the global gradient norm), in double.
 *   setThreads(n) / threads() / config(): OpenBLAS's thread count and build string.
 */
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

/* OpenBLAS's own API (declared in its cblas.h; repeated so another cblas.h still compiles). */
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "emolab_kernels: N-API call failed: " #call); return NULL; } } while (0)

static int heap_arg(napi_env env, napi_value v, float **data, size_t *len) {
  napi_typedarray_type type; size_t length; void *ptr; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &off) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "emolab_kernels: the heap must be a Float32Array");
    return 0;
  }
  *data = (float *)ptr; *len = length;
  return 1;
}

static int num_arg(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) { napi_throw_type_error(env, NULL, "emolab_kernels: expected a number"); return 0; }
  return 1;
}

static int in_heap(napi_env env, double off, double count, size_t len, const char *what) {
  if (off < 0 || count < 0 || off + count > (double)len) {
    char msg[160];
    snprintf(msg, sizeof msg, "emolab_kernels: %s [%.0f, +%.0f) lies outside the heap (%zu floats)", what, off, count, len);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 12; napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) { napi_throw_type_error(env, NULL, "emolab_kernels.sgemm: 12 arguments"); return NULL; }
  float *heap; size_t len; double d[11];
  if (!heap_arg(env, argv[0], &heap, &len)) return NULL;
  for (int i = 0; i < 11; i++) if (!num_arg(env, argv[i + 1], &d[i])) return NULL;
  const double aOff = d[0], bOff = d[1], cOff = d[2], batch = d[3], m = d[4], n = d[5], k = d[6];
  const int ta = d[7] != 0, tb = d[8] != 0;
  const double sa = d[9], sb = d[10];
  if (batch < 1 || m < 0 || n < 0 || k < 0) { napi_throw_range_error(env, NULL, "emolab_kernels.sgemm: bad sizes"); return NULL; }
  if (!in_heap(env, aOff, (batch - 1) * sa + m * k, len, "A") || !in_heap(env, bOff, (batch - 1) * sb + k * n, len, "B") ||
      !in_heap(env, cOff, batch * m * n, len, "C")) return NULL;
  const int M = (int)m, N = (int)n, K = (int)k;
  const int lda = ta ? M : K, ldb = tb ? K : N;
  for (int64_t i = 0; i < (int64_t)batch; i++) {
    const float *A = heap + (size_t)aOff + (size_t)(i * (int64_t)sa);
    const float *B = heap + (size_t)bOff + (size_t)(i * (int64_t)sb);
    float *C = heap + (size_t)cOff + (size_t)(i * (int64_t)M * N);
    if (K == 0) { for (int64_t j = 0; j < (int64_t)M * N; j++) C[j] = 0.f; continue; }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
  }
  return NULL;
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  size_t argc = 14; napi_value argv[14];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 14) { napi_throw_type_error(env, NULL, "emolab_kernels.adamw: 14 arguments"); return NULL; }
  float *heap; size_t len; double d[13];
  if (!heap_arg(env, argv[0], &heap, &len)) return NULL;
  for (int i = 0; i < 13; i++) if (!num_arg(env, argv[i + 1], &d[i])) return NULL;
  const double pOff = d[0], gOff = d[1], mOff = d[2], vOff = d[3], size = d[4];
  if (!in_heap(env, pOff, size, len, "param") || !in_heap(env, gOff, size, len, "grad") || !in_heap(env, mOff, size, len, "m") ||
      !in_heap(env, vOff, size, len, "v")) return NULL;
  /* The constants as float32, in the order lib/train/adamw.ts's tf ops apply them (same rounding). */
  const float b1 = (float)d[5], omb1 = (float)d[6], b2 = (float)d[7], omb2 = (float)d[8], sbc2 = (float)d[9], eps = (float)d[10],
              lrbc1 = (float)d[11], lrwd = (float)d[12];
  float *p = heap + (size_t)pOff, *mm = heap + (size_t)mOff, *vv = heap + (size_t)vOff;
  const float *g = heap + (size_t)gOff;
  const size_t count = (size_t)size;
  for (size_t i = 0; i < count; i++) {
    const float gi = g[i];
    const float mi = mm[i] * b1 + gi * omb1;
    const float vi = vv[i] * b2 + (gi * gi) * omb2;
    const float denom = sqrtf(vi) / sbc2 + eps;
    float next = p[i] - (mi / denom) * lrbc1;
    if (lrwd != 0.f) next = next - p[i] * lrwd;
    mm[i] = mi; vv[i] = vi; p[i] = next;
  }
  return NULL;
}

/* reduce_sum(heap, xOff, outOff, outer, r, inner): out[o, i] = sum_j x[o, j, i] (x dense [outer, r, inner]), float32
 * accumulation in j order, as tfjs's own Sum after its transpose. */
static napi_value reduce_sum(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) { napi_throw_type_error(env, NULL, "emolab_kernels.reduceSum: 6 arguments"); return NULL; }
  float *heap; size_t len; double d[5];
  if (!heap_arg(env, argv[0], &heap, &len)) return NULL;
  for (int i = 0; i < 5; i++) if (!num_arg(env, argv[i + 1], &d[i])) return NULL;
  const double xOff = d[0], oOff = d[1], outer = d[2], r = d[3], inner = d[4];
  if (!in_heap(env, xOff, outer * r * inner, len, "x") || !in_heap(env, oOff, outer * inner, len, "out")) return NULL;
  const size_t no = (size_t)outer, nr = (size_t)r, ni = (size_t)inner;
  const float *x = heap + (size_t)xOff;
  float *out = heap + (size_t)oOff;
  for (size_t o = 0; o < no; o++) {
    float *dst = out + o * ni;
    const float *src = x + o * nr * ni;
    if (ni == 1) { float acc = 0.f; for (size_t j = 0; j < nr; j++) acc += src[j]; dst[0] = acc; continue; }
    for (size_t i = 0; i < ni; i++) dst[i] = 0.f;
    for (size_t j = 0; j < nr; j++) { const float *row = src + j * ni; for (size_t i = 0; i < ni; i++) dst[i] += row[i]; }
  }
  return NULL;
}

/* sumsq(heap, spans): sum of squares over the float spans [off0, n0, off1, n1, ...] (a Float64Array), in double. */
static napi_value sumsq(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2) { napi_throw_type_error(env, NULL, "emolab_kernels.sumsq: 2 arguments"); return NULL; }
  float *heap; size_t len;
  if (!heap_arg(env, argv[0], &heap, &len)) return NULL;
  napi_typedarray_type type; size_t n; void *ptr; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, argv[1], &type, &n, &ptr, &ab, &off) != napi_ok || type != napi_float64_array || n % 2) {
    napi_throw_type_error(env, NULL, "emolab_kernels.sumsq: spans must be a Float64Array of (offset, count) pairs");
    return NULL;
  }
  const double *spans = (const double *)ptr;
  double total = 0;
  for (size_t s = 0; s < n; s += 2) {
    if (!in_heap(env, spans[s], spans[s + 1], len, "span")) return NULL;
    const float *x = heap + (size_t)spans[s];
    const size_t c = (size_t)spans[s + 1];
    double acc = 0;
    for (size_t i = 0; i < c; i++) acc += (double)x[i] * x[i];
    total += acc;
  }
  napi_value out;
  CHECK(napi_create_double(env, total, &out));
  return out;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; double n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !num_arg(env, argv[0], &n)) return NULL;
  if (n < 1) { napi_throw_range_error(env, NULL, "emolab_kernels.setThreads: at least 1"); return NULL; }
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value get_threads(napi_env env, napi_callback_info info) {
  napi_value out; (void)info;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value get_config(napi_env env, napi_callback_info info) {
  napi_value out; (void)info;
  const char *c = openblas_get_config();
  CHECK(napi_create_string_utf8(env, c ? c : "unknown", NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL },
    { "adamw", NULL, adamw, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sumsq", NULL, sumsq, NULL, NULL, NULL, napi_enumerable, NULL },
    { "reduceSum", NULL, reduce_sum, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL },
    { "threads", NULL, get_threads, NULL, NULL, NULL, napi_enumerable, NULL },
    { "config", NULL, get_config, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_value version;
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (napi_create_int32(env, 3, &version) == napi_ok) napi_set_named_property(env, exports, "abiVersion", version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
