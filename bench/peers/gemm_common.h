/*
 * gemm_common.h: what the two SGEMM peers (sgemm_clblast.c, sgemm_openblas.c) share:
 * the study's GEMM shapes, the timing method, a spot check of the result and the JSON line.
 *
 * Shapes: the GEMMs of one training step of the 784-256-128-10 network at batch 128, with
 * the transposes regcl uses (row-major, C = op(A) * op(B), alpha 1, beta 0), plus a
 * 1024^3 cube. M, N, K are those of C (M x N) = op(A) (M x K) * op(B) (K x N).
 *   forward       NN  X(128x784) * W1(784x256) ...
 *   weight grads  TN  dW (in x out) = X^T * dY, X stored batch x in
 *   input grads   NT  dX (batch x in) = dY * W^T, W stored in x out
 * The names are shared with the Go side (`regcl bench`) and bench/peers/ratios.py.
 *
 * Timing: one warm-up call, timed on its own (first_call_s: for CLBlast it includes
 * compiling its OpenCL kernels). Then the number of calls per batch is raised until one
 * batch takes at least MIN_SECONDS (0.2 s); 5 batches of that many calls are timed and the
 * median time per call gives GFLOP/s = 2*M*N*K / t / 1e9.
 */
#ifndef REGCL_GEMM_COMMON_H
#define REGCL_GEMM_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gemm_shape {
    const char *name;
    char ta, tb; /* 'N' or 'T' */
    int m, n, k;
};

static const struct gemm_shape gemm_shapes[] = {
    {"fwd1", 'N', 'N', 128, 256, 784},
    {"fwd2", 'N', 'N', 128, 128, 256},
    {"fwd3", 'N', 'N', 128, 10, 128},
    {"dW1", 'T', 'N', 784, 256, 128},
    {"dW2", 'T', 'N', 256, 128, 128},
    {"dW3", 'T', 'N', 128, 10, 128},
    {"dX2", 'N', 'T', 128, 256, 128},
    {"dX3", 'N', 'T', 128, 128, 10},
    {"1024cube", 'N', 'N', 1024, 1024, 1024},
};
#define GEMM_NSHAPES ((int)(sizeof gemm_shapes / sizeof gemm_shapes[0]))

struct gemm_opts {
    double min_seconds; /* a timed batch lasts at least this long */
    int batches;        /* timed batches; the median counts */
    int platform, device;
    const char **only;  /* shape names given on the command line, or none */
    int nonly;
};

static double gemm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Storage sizes and leading dimensions of row-major A, B, C. */
static int gemm_lda(const struct gemm_shape *s) { return s->ta == 'N' ? s->k : s->m; }
static int gemm_ldb(const struct gemm_shape *s) { return s->tb == 'N' ? s->n : s->k; }
static size_t gemm_size_a(const struct gemm_shape *s) { return (size_t)s->m * s->k; }
static size_t gemm_size_b(const struct gemm_shape *s) { return (size_t)s->k * s->n; }
static size_t gemm_size_c(const struct gemm_shape *s) { return (size_t)s->m * s->n; }

/* Deterministic values in [-1, 1). */
static void gemm_fill(float *x, size_t n, unsigned seed) {
    unsigned long long st = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(st >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
}

/*
 * Checks 64 entries of C against a double-precision dot product of op(A) and op(B);
 * returns the largest |c - ref| / sum|a*b| (about 1e-7 for a correct float GEMM).
 */
static double gemm_check(const struct gemm_shape *s, const float *a, const float *b, const float *c) {
    int lda = gemm_lda(s), ldb = gemm_ldb(s);
    double worst = 0;
    unsigned long long st = 12345;
    for (int t = 0; t < 64; t++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((st >> 33) % (unsigned long long)s->m);
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((st >> 33) % (unsigned long long)s->n);
        double ref = 0, mag = 0;
        for (int p = 0; p < s->k; p++) {
            double av = s->ta == 'N' ? a[(size_t)i * lda + p] : a[(size_t)p * lda + i];
            double bv = s->tb == 'N' ? b[(size_t)p * ldb + j] : b[(size_t)j * ldb + p];
            ref += av * bv;
            mag += fabs(av * bv);
        }
        double err = fabs((double)c[(size_t)i * s->n + j] - ref) / (mag + 1e-30);
        if (err > worst) worst = err;
    }
    return worst;
}

static int gemm_cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

struct gemm_timing {
    double first_call_s;  /* the warm-up call alone, completion included */
    double s_per_call;    /* median over the batches */
    double spread;        /* (slowest - fastest) / median of the batches' per-call times */
    long reps;            /* calls per timed batch */
};

/*
 * Times call(ctx) as described at the top; finish(ctx) waits until every call issued so
 * far has completed (clFinish for OpenCL; nothing for a synchronous library).
 */
static struct gemm_timing gemm_time(void (*call)(void *), void (*finish)(void *), void *ctx,
                                    const struct gemm_opts *o) {
    struct gemm_timing r;
    double t0 = gemm_now();
    call(ctx);
    finish(ctx);
    r.first_call_s = gemm_now() - t0;

    long reps = 1;
    for (;;) {
        t0 = gemm_now();
        for (long i = 0; i < reps; i++) call(ctx);
        finish(ctx);
        double t = gemm_now() - t0;
        if (t >= o->min_seconds) break;
        long next = t > 0 ? (long)(reps * o->min_seconds / t * 1.2) + 1 : reps * 10;
        reps = next > 2 * reps ? next : 2 * reps;
    }
    double per[64];
    int nb = o->batches < 64 ? o->batches : 64;
    for (int b = 0; b < nb; b++) {
        t0 = gemm_now();
        for (long i = 0; i < reps; i++) call(ctx);
        finish(ctx);
        per[b] = (gemm_now() - t0) / (double)reps;
    }
    qsort(per, (size_t)nb, sizeof per[0], gemm_cmp_double);
    r.s_per_call = nb % 2 ? per[nb / 2] : 0.5 * (per[nb / 2 - 1] + per[nb / 2]);
    r.spread = (per[nb - 1] - per[0]) / r.s_per_call;
    r.reps = reps;
    return r;
}

/* Writes s as a JSON string (the device names we meet are plain, but be safe). */
static void gemm_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void gemm_print(const char *peer, const char *device, int threads,
                       const struct gemm_shape *s, const struct gemm_timing *t, double check) {
    double gflops = 2.0 * s->m * s->n * s->k / t->s_per_call / 1e9;
    printf("{\"peer\":\"%s\",\"shape\":\"%s\",\"trans\":\"%c%c\",\"m\":%d,\"n\":%d,\"k\":%d,"
           "\"gflops\":%.3f,\"first_call_s\":%.6f,\"s_per_call\":%.4e,\"reps\":%ld,"
           "\"spread\":%.3f,\"check_rel_err\":%.2e,",
           peer, s->name, s->ta, s->tb, s->m, s->n, s->k, gflops, t->first_call_s,
           t->s_per_call, t->reps, t->spread, check);
    if (threads > 0) printf("\"threads\":%d,", threads);
    printf("\"device\":");
    gemm_json_string(stdout, device);
    printf("}\n");
    fflush(stdout);
}

static void gemm_usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [-t MIN_SECONDS] [-b BATCHES] [-p PLATFORM] [-d DEVICE] [SHAPE...]\n"
            "  times SGEMM (row-major, alpha 1, beta 0) for the study's shapes and prints one\n"
            "  JSON line per shape. -t: shortest timed batch (0.2 s); -b: timed batches whose\n"
            "  median counts (5); -p/-d: OpenCL platform and device index (sgemm_clblast, 0 0).\n"
            "  SHAPE: any of",
            prog);
    for (int i = 0; i < GEMM_NSHAPES; i++) fprintf(stderr, " %s", gemm_shapes[i].name);
    fprintf(stderr, " (default: all)\n");
}

/* Parses the command line; exits with the usage on an error. */
static struct gemm_opts gemm_parse(int argc, char **argv) {
    struct gemm_opts o = {0.2, 5, 0, 0, NULL, 0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            gemm_usage(argv[0]);
            exit(0);
        }
        if (a[0] != '-') break;
        if (i + 1 >= argc) {
            gemm_usage(argv[0]);
            exit(2);
        }
        const char *v = argv[++i];
        if (!strcmp(a, "-t")) o.min_seconds = atof(v);
        else if (!strcmp(a, "-b")) o.batches = atoi(v);
        else if (!strcmp(a, "-p")) o.platform = atoi(v);
        else if (!strcmp(a, "-d")) o.device = atoi(v);
        else {
            gemm_usage(argv[0]);
            exit(2);
        }
    }
    if (o.min_seconds <= 0 || o.batches < 1) {
        gemm_usage(argv[0]);
        exit(2);
    }
    o.only = (const char **)(argv + i);
    o.nonly = argc - i;
    for (int j = 0; j < o.nonly; j++) {
        int found = 0;
        for (int s = 0; s < GEMM_NSHAPES; s++) found |= !strcmp(o.only[j], gemm_shapes[s].name);
        if (!found) {
            fprintf(stderr, "%s: unknown shape %s\n", argv[0], o.only[j]);
            gemm_usage(argv[0]);
            exit(2);
        }
    }
    return o;
}

static int gemm_wanted(const struct gemm_opts *o, const struct gemm_shape *s) {
    if (o->nonly == 0) return 1;
    for (int j = 0; j < o->nonly; j++)
        if (!strcmp(o->only[j], s->name)) return 1;
    return 0;
}

#endif
