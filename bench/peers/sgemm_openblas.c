/*
 * sgemm_openblas: OpenBLAS's cblas_sgemm (row-major) on the study's GEMM shapes, the
 * practical ceiling of this CPU. Threads: OPENBLAS_NUM_THREADS (bench/compare.sh sets 2);
 * the count OpenBLAS reports is in each line's "threads".
 *
 *   gcc -O2 -o sgemm_openblas bench/peers/sgemm_openblas.c -lopenblas -lm
 *   OPENBLAS_NUM_THREADS=2 ./sgemm_openblas [-t 0.2] [-b 5] [SHAPE...]
 *
 * One JSON line per shape; see gemm_common.h for the shapes and the timing method.
 */
#include <cblas.h>

#include "gemm_common.h"

struct call_ctx {
    const struct gemm_shape *s;
    const float *a, *b;
    float *c;
};

static void call(void *p) {
    struct call_ctx *x = p;
    const struct gemm_shape *s = x->s;
    cblas_sgemm(CblasRowMajor, s->ta == 'N' ? CblasNoTrans : CblasTrans,
                s->tb == 'N' ? CblasNoTrans : CblasTrans, s->m, s->n, s->k, 1.0f, x->a,
                gemm_lda(s), x->b, gemm_ldb(s), 0.0f, x->c, s->n);
}

static void finish(void *p) { (void)p; } /* cblas_sgemm returns when C is done */

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--config") == 0) { /* the kernels OpenBLAS chose for this CPU */
        printf("%s\n", openblas_get_config());
        return 0;
    }
    struct gemm_opts o = gemm_parse(argc, argv);
    int threads = openblas_get_num_threads();
    char device[256];
    snprintf(device, sizeof device, "CPU, %s", openblas_get_config());
    size_t len = strlen(device);
    while (len > 0 && device[len - 1] == ' ') device[--len] = 0;

    int bad = 0;
    for (int i = 0; i < GEMM_NSHAPES; i++) {
        const struct gemm_shape *s = &gemm_shapes[i];
        if (!gemm_wanted(&o, s)) continue;
        float *a = malloc(gemm_size_a(s) * sizeof(float));
        float *b = malloc(gemm_size_b(s) * sizeof(float));
        float *c = malloc(gemm_size_c(s) * sizeof(float));
        if (!a || !b || !c) {
            fprintf(stderr, "sgemm_openblas: out of memory\n");
            return 1;
        }
        gemm_fill(a, gemm_size_a(s), 1);
        gemm_fill(b, gemm_size_b(s), 2);
        struct call_ctx ctx = {s, a, b, c};
        struct gemm_timing t = gemm_time(call, finish, &ctx, &o);
        double err = gemm_check(s, a, b, c);
        if (!(err < 1e-4)) {
            fprintf(stderr, "sgemm_openblas: %s: result off by %.2e (relative)\n", s->name, err);
            bad = 1;
        }
        gemm_print("openblas", device, threads, s, &t, err);
        free(a);
        free(b);
        free(c);
    }
    return bad;
}
