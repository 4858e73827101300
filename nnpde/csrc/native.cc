// nnpde._native: fused CPU kernels for the two-layer tanh network of seed 000, called from JAX
// through the XLA FFI (nnpde/native.py): the θ-gradient of Σ_p F_p with
// F = α N + β·∇N + h:∇²N + λ ΔN (operator_vjp and the named VJPs), its rows ∂F_p/∂θ
// (operator_rows, laplacian_x_theta), the rows ∂N_p/∂θ (grad_theta), and N, ∇xN, ΔN, ∇²xN per
// point (value, grad_x, laplacian_x, hessian_x).
//
// One pass over blocks of 64 points does the forward pass, the x-derivatives and their reverse
// pass with every intermediate in cache; XLA's fused version writes (P, S, M) intermediates to
// memory between its products (issue 17). The points are split into a fixed number of chunks
// (it depends on P only, so the result does not depend on the number of threads) that the
// calling thread and the module's helper threads claim; the per-chunk gradients are summed in
// chunk order. The kernel is compiled for AVX-512, AVX2 and the baseline instruction set and
// the best one the CPU supports is chosen when the module loads.
//
// The XLA FFI headers under csrc/xla are copied from jaxlib 0.10.2 (Apache-2.0); the FFI's C
// API is versioned, so a handler built against them runs with later jaxlib releases.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#ifdef __linux__
#include <sched.h>
#endif

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int64_t NB = 64;  // points per block

// NT = M1(1 + D + M2) + 2 M2, the length of θ (seed 000 eq. 7).
int64_t num_params(int64_t d, int64_t m1, int64_t m2) { return m1 * (1 + d + m2) + 2 * m2; }

struct Net {  // θ unpacked, hidden widths padded to multiples of 4 with zero weights
  int64_t d, m1, m2, m1p, m2p, s;  // s = D + 2 stacked column groups (1: the value alone)
  bool has_beta = false, has_h = false;  // which operator weights the VJP has

  // S for a VJP: D + 2 with second derivatives (h or λ), 2 with β alone, 1 with α alone.
  void set_weights(bool beta, bool h, bool lap) {
    has_beta = beta;
    has_h = h;
    s = (h || lap) ? d + 2 : beta ? 2 : 1;
  }
  int64_t dp;  // D padded to a multiple of 4: the rows of vt
  // w (m2p x m1p), wt its transpose, v (m1p x d), vt its transpose (dp x m1p)
  std::vector<double> w, wt, v, vt, b, a, c, lam;
};

// θ (seed 000 eq. 7) unpacked and padded, with S = D + 2 stacked column groups (set for a
// VJP by set_weights).
Net make_net(const double* th, int64_t d, int64_t m1, int64_t m2) {
  Net n;
  n.d = d; n.m1 = m1; n.m2 = m2; n.s = d + 2;
  n.m1p = (m1 + 3) / 4 * 4; n.m2p = (m2 + 3) / 4 * 4;
  n.w.assign(n.m2p * n.m1p, 0.0); n.wt.assign(n.m1p * n.m2p, 0.0);
  n.dp = (d + 3) / 4 * 4;
  n.v.assign(n.m1p * d, 0.0); n.vt.assign(n.dp * n.m1p, 0.0);
  n.b.assign(n.m1p, 0.0); n.lam.assign(n.m1p, 0.0);
  n.a.assign(n.m2p, 0.0); n.c.assign(n.m2p, 0.0);
  const double *a = th, *w = th + m2, *c = w + m1 * m2, *v = c + m2, *b = v + m1 * d;
  for (int64_t j = 0; j < m2; ++j) {
    n.a[j] = a[j]; n.c[j] = c[j];
    for (int64_t k = 0; k < m1; ++k) n.w[j * n.m1p + k] = n.wt[k * n.m2p + j] = w[j * m1 + k];
  }
  for (int64_t k = 0; k < m1; ++k) {
    n.b[k] = b[k];
    for (int64_t i = 0; i < d; ++i) {
      n.v[k * d + i] = n.vt[i * n.m1p + k] = v[k * d + i];
      n.lam[k] += v[k * d + i] * v[k * d + i];
    }
  }
  return n;
}

struct Shared {  // one call's work, owned jointly by the caller and the helpers' tasks
  Net net;
  const double *x = nullptr, *alpha = nullptr, *r = nullptr, *beta = nullptr, *h = nullptr;
  int64_t p = 0, chunk = 0, nchunks = 0;
  std::vector<std::vector<double>> parts;  // per-chunk gradients (NT each), for the VJP
  double* rows = nullptr;                  // per-point output: grad_theta, value, grad_x, ...
  int64_t order = 0;  // run_forward: 0 value, 1 grad_x, 2 laplacian_x, 3 hessian_x
  bool columns = false;  // run_operator_rows: write Jᵀ (NT, P) instead of J (P, NT)
  std::atomic<int64_t> next{0}, done{0};
};

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NNPDE_X86_CLONES 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx2,fma")
namespace isa_avx512 {
#define NNPDE_W 8
#define NNPDE_TC 4
#define NNPDE_TK 4
#include "kernels.inc"
#undef NNPDE_W
#undef NNPDE_TC
#undef NNPDE_TK
}  // namespace isa_avx512
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace isa_avx2 {
#define NNPDE_W 4
// Tiles of 4 x 3 vectors (12 accumulators of the 16 registers): on one Zen 3 thread the
// headline VJP (D = 2, P = 16384) took 21.5-21.8 ms against 24.1-24.7 with 4 x 2.
#define NNPDE_TC 3
#define NNPDE_TK 3
#include "kernels.inc"
#undef NNPDE_W
#undef NNPDE_TC
#undef NNPDE_TK
}  // namespace isa_avx2
#pragma GCC pop_options
#endif

namespace isa_base {
#define NNPDE_W 2
#define NNPDE_TC 2
#define NNPDE_TK 2
#include "kernels.inc"
#undef NNPDE_W
#undef NNPDE_TC
#undef NNPDE_TK
}  // namespace isa_base

namespace {

using RunFn = void (*)(Shared&);

struct Isa {
  RunFn vjp, rows, forward, operator_rows;
  const char* name;
};

#define NNPDE_ISA(ns, name) \
  Isa { ns::run_vjp, ns::run_rows, ns::run_forward, ns::run_operator_rows, name }

// The best variant the CPU supports; NNPDE_NATIVE_ISA=avx2 or baseline caps it (tests).
Isa choose_isa() {
  const char* cap = std::getenv("NNPDE_NATIVE_ISA");
  const std::string want = cap ? cap : "";
#ifdef NNPDE_X86_CLONES
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (want != "avx2" && want != "baseline" && avx2 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512dq"))
    return NNPDE_ISA(isa_avx512, "avx512");
  if (want != "baseline" && avx2) return NNPDE_ISA(isa_avx2, "avx2");
#endif
  return NNPDE_ISA(isa_base, "baseline");
}

const Isa kIsa = choose_isa();

// The helper threads: a fixed set started at the first call, one fewer than the CPUs this
// process may run on (NNPDE_NATIVE_THREADS caps the total), idle on a condition variable.
// They are our own rather than XLA's intra-op pool (the FFI's ThreadPool): with that pool,
// calls took one or two times their time at random, as if the helper's task often started
// only after the caller had done all the chunks itself (docs/kernels.md).
class Helpers {
 public:
  static Helpers& get() {
    static Helpers* helpers = new Helpers();  // never destroyed: detached threads at exit
    return *helpers;
  }
  int64_t size() const { return static_cast<int64_t>(count_); }
  void schedule(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  Helpers() {
    int64_t cpus = std::max<unsigned>(1, std::thread::hardware_concurrency());
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
#endif
    if (const char* cap = std::getenv("NNPDE_NATIVE_THREADS"))
      cpus = std::max<int64_t>(1, std::min<int64_t>(cpus, std::atoll(cap)));
    count_ = static_cast<size_t>(cpus - 1);
    for (size_t t = 0; t < count_; ++t) std::thread([this] { loop(); }).detach();
  }
  void loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  size_t count_ = 0;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
};

template <class B>
int64_t count(const B& buffer) {
  return static_cast<int64_t>(buffer.element_count());
}

// A call's shared state: θ unpacked, the points, and P cut into at most 64 chunks of whole
// blocks (a function of P alone, so sums do not depend on the number of threads).
std::shared_ptr<Shared> new_call(const ffi::Buffer<ffi::F64>& theta, const ffi::Buffer<ffi::F64>& x,
                                 int64_t m1, int64_t m2) {
  auto st = std::make_shared<Shared>();
  st->p = x.dimensions()[0];
  st->net = make_net(theta.typed_data(), x.dimensions()[1], m1, m2);
  st->x = x.typed_data();
  const int64_t blocks = (st->p + NB - 1) / NB;
  st->chunk = std::max<int64_t>(1, (blocks + 63) / 64) * NB;
  st->nchunks = (st->p + st->chunk - 1) / st->chunk;
  return st;
}

// Runs `run` on the helper threads and the caller's until every chunk of st is done.
void parallel(const std::shared_ptr<Shared>& st, RunFn run) {
  Helpers& helpers = Helpers::get();
  const int64_t n = std::min<int64_t>(helpers.size(), st->nchunks - 1);
  for (int64_t t = 0; t < n; ++t) helpers.schedule([st, run] { run(*st); });
  run(*st);  // the caller works too; late helpers find no chunk and touch only st
  while (st->done.load(std::memory_order_acquire) < st->nchunks) std::this_thread::yield();
}

// The operator F = α N + β·∇N + h:∇²N + λ ΔN of a call: its input buffers and which weights
// are present; β (P, D) and h (P, D, D, symmetric) may be empty (has_beta / has_h false); λ is
// zeros where has_lap is false.
struct OperatorInputs {
  const ffi::Buffer<ffi::F64> &theta, &x, &alpha, &lap, &beta, &h;
  bool has_lap, has_beta, has_h;
};

// A call's shared state for the operator; `out` is the output's element count: P NT for the
// rows, NT for the VJP. Null when a size is wrong.
std::shared_ptr<Shared> operator_call(const OperatorInputs& in, int64_t out, int64_t m1,
                                      int64_t m2, bool rows) {
  const auto dims = in.x.dimensions();
  if (dims.size() != 2) return nullptr;
  const int64_t p = dims[0], d = dims[1], nt = num_params(d, m1, m2);
  if (count(in.theta) != nt || count(in.alpha) != p || count(in.lap) != p ||
      count(in.beta) != (in.has_beta ? p * d : 0) || count(in.h) != (in.has_h ? p * d * d : 0) ||
      out != (rows ? p * nt : nt))
    return nullptr;
  auto st = new_call(in.theta, in.x, m1, m2);
  st->net.set_weights(in.has_beta, in.has_h, in.has_lap);
  st->alpha = in.alpha.typed_data();
  st->r = in.lap.typed_data();
  st->beta = in.beta.typed_data();
  st->h = in.h.typed_data();
  return st;
}

const char kOperatorSizes[] = "nnpde: x, theta, an operator weight or the output has a wrong size";

// Σ_p ∂F_p/∂θ (NT,).
ffi::Error OperatorVjpImpl(ffi::Buffer<ffi::F64> theta, ffi::Buffer<ffi::F64> x,
                           ffi::Buffer<ffi::F64> alpha, ffi::Buffer<ffi::F64> lap,
                           ffi::Buffer<ffi::F64> beta, ffi::Buffer<ffi::F64> h,
                           ffi::ResultBuffer<ffi::F64> g, int64_t m1, int64_t m2, bool has_lap,
                           bool has_beta, bool has_h) {
  auto st = operator_call({theta, x, alpha, lap, beta, h, has_lap, has_beta, has_h}, count(*g),
                          m1, m2, false);
  if (!st) return ffi::Error::InvalidArgument(kOperatorSizes);
  const int64_t nt = count(*g);
  st->parts.assign(st->nchunks, std::vector<double>(nt, 0.0));
  parallel(st, kIsa.vjp);
  double* out = g->typed_data();
  std::fill(out, out + nt, 0.0);
  for (int64_t c = 0; c < st->nchunks; ++c)
    for (int64_t i = 0; i < nt; ++i) out[i] += st->parts[c][i];
  return ffi::Error::Success();
}

// ∂F_p/∂θ per point: J (P, NT), or Jᵀ (NT, P) with `columns`.
ffi::Error OperatorRowsImpl(ffi::Buffer<ffi::F64> theta, ffi::Buffer<ffi::F64> x,
                            ffi::Buffer<ffi::F64> alpha, ffi::Buffer<ffi::F64> lap,
                            ffi::Buffer<ffi::F64> beta, ffi::Buffer<ffi::F64> h,
                            ffi::ResultBuffer<ffi::F64> rows, int64_t m1, int64_t m2,
                            bool has_lap, bool has_beta, bool has_h, bool columns) {
  auto st = operator_call({theta, x, alpha, lap, beta, h, has_lap, has_beta, has_h},
                          count(*rows), m1, m2, true);
  if (!st) return ffi::Error::InvalidArgument(kOperatorSizes);
  st->net.s = std::max<int64_t>(st->net.s, 2);  // the per-point passes stack e (zero for α alone)
  st->rows = rows->typed_data();
  st->columns = columns;
  parallel(st, kIsa.operator_rows);
  return ffi::Error::Success();
}

ffi::Error GradThetaImpl(ffi::Buffer<ffi::F64> theta,
                         ffi::Buffer<ffi::F64> x, ffi::ResultBuffer<ffi::F64> rows, int64_t m1,
                         int64_t m2) {
  const auto dims = x.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("nnpde: x must be (P, D)");
  const int64_t p = dims[0], d = dims[1], nt = num_params(d, m1, m2);
  if (count(theta) != nt || count(*rows) != p * nt)
    return ffi::Error::InvalidArgument("nnpde: theta or the output has a wrong size");
  auto st = new_call(theta, x, m1, m2);
  st->rows = rows->typed_data();
  parallel(st, kIsa.rows);
  return ffi::Error::Success();
}

// N (P,), ∇xN (P, D), ΔN (P,) or ∇²xN (P, D, D) per point: order 0, 1, 2 or 3.
ffi::Error ForwardImpl(ffi::Buffer<ffi::F64> theta, ffi::Buffer<ffi::F64> x,
                       ffi::ResultBuffer<ffi::F64> out, int64_t m1, int64_t m2, int64_t order) {
  const auto dims = x.dimensions();
  if (dims.size() != 2) return ffi::Error::InvalidArgument("nnpde: x must be (P, D)");
  const int64_t p = dims[0], d = dims[1];
  if (order < 0 || order > 3) return ffi::Error::InvalidArgument("nnpde: order must be 0 ... 3");
  const int64_t width = order == 1 ? d : order == 3 ? d * d : 1;
  if (count(theta) != num_params(d, m1, m2) || count(*out) != p * width)
    return ffi::Error::InvalidArgument("nnpde: theta or the output has a wrong size");
  auto st = new_call(theta, x, m1, m2);
  st->net.set_weights(false, false, order == 2);  // S = D + 2 for ΔN, else 1
  if (order == 3) st->net.s = 1 + d;  // [O1 | f1' v_:i]
  st->rows = out->typed_data();
  st->order = order;
  parallel(st, kIsa.forward);
  return ffi::Error::Success();
}

}  // namespace

// The operator's arguments: θ (NT,), x (P, D), α (P,), λ (P,), β (P, D) or (0,), h (P, D, D)
// or (0,); the output; the widths and which weights are present.
#define NNPDE_OPERATOR_BINDING                     \
  ffi::Ffi::Bind()                                 \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Arg<ffi::Buffer<ffi::F64>>()                \
      .Ret<ffi::Buffer<ffi::F64>>()                \
      .Attr<int64_t>("m1")                         \
      .Attr<int64_t>("m2")                         \
      .Attr<bool>("has_lap")                       \
      .Attr<bool>("has_beta")                      \
      .Attr<bool>("has_h")

XLA_FFI_DEFINE_HANDLER_SYMBOL(NnpdeOperatorVjpF64, OperatorVjpImpl, NNPDE_OPERATOR_BINDING);
XLA_FFI_DEFINE_HANDLER_SYMBOL(NnpdeOperatorRowsF64, OperatorRowsImpl,
                              NNPDE_OPERATOR_BINDING.Attr<bool>("columns"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(NnpdeForwardF64, ForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()  // theta (NT,)
                                  .Arg<ffi::Buffer<ffi::F64>>()  // x (P, D)
                                  .Ret<ffi::Buffer<ffi::F64>>()  // (P,) or (P, D)
                                  .Attr<int64_t>("m1")
                                  .Attr<int64_t>("m2")
                                  .Attr<int64_t>("order"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(NnpdeGradThetaF64, GradThetaImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F64>>()  // theta (NT,)
                                  .Arg<ffi::Buffer<ffi::F64>>()  // x (P, D)
                                  .Ret<ffi::Buffer<ffi::F64>>()  // rows (P, NT)
                                  .Attr<int64_t>("m1")
                                  .Attr<int64_t>("m2"));

static PyModuleDef native_module = {PyModuleDef_HEAD_INIT, "_native",
                                    "nnpde's fused CPU kernels (XLA FFI handlers).", -1};

PyMODINIT_FUNC PyInit__native(void) {
  PyObject* m = PyModule_Create(&native_module);
  if (m == nullptr) return nullptr;
  const struct {
    const char* name;
    void* fn;
  } handlers[] = {{"vjp_f64", reinterpret_cast<void*>(NnpdeOperatorVjpF64)},
                  {"rows_f64", reinterpret_cast<void*>(NnpdeGradThetaF64)},
                  {"forward_f64", reinterpret_cast<void*>(NnpdeForwardF64)},
                  {"operator_rows_f64", reinterpret_cast<void*>(NnpdeOperatorRowsF64)}};
  for (const auto& h : handlers) {
    PyObject* cap = PyCapsule_New(h.fn, nullptr, nullptr);
    if (cap == nullptr || PyModule_AddObject(m, h.name, cap) < 0) {
      Py_XDECREF(cap);
      Py_DECREF(m);
      return nullptr;
    }
  }
  if (PyModule_AddStringConstant(m, "isa", kIsa.name) < 0) {
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
