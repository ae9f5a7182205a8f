/*
 * sgemm_clblast: CLBlast's SGEMM (row-major, C API of clblast_c.h: CLBlastSgemm) on the
 * study's GEMM shapes, on an OpenCL device (platform 0, device 0 unless -p/-d say
 * otherwise; PoCL on the development machine).
 *
 *   gcc -O2 -o sgemm_clblast bench/peers/sgemm_clblast.c -lclblast -lOpenCL -lm
 *   ./sgemm_clblast [-t 0.2] [-b 5] [-p 0] [-d 0] [SHAPE...]
 *
 * One JSON line per shape; see gemm_common.h for the shapes and the timing method. Each
 * call is enqueued on one in-order queue with no event; a timed batch ends with clFinish,
 * so the time per call includes CLBlast's host-side work and any helper kernels it runs
 * (padding/transposing copies on its indirect path), as an application would see it.
 * first_call_s is the first call of a shape, completion included: the first shape pays
 * for compiling CLBlast's GEMM kernels (CLBlast caches the programs within the process,
 * and PoCL may also keep compiled kernels in its own cache between runs), later shapes
 * pay only for kernels (or kernel parameters) not compiled yet.
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <clblast_c.h>

#include "gemm_common.h"

struct call_ctx {
    const struct gemm_shape *s;
    cl_command_queue queue;
    cl_mem a, b, c;
    const char *failed; /* set once a call fails */
};

static void call(void *p) {
    struct call_ctx *x = p;
    const struct gemm_shape *s = x->s;
    if (x->failed) return;
    CLBlastStatusCode st = CLBlastSgemm(
        CLBlastLayoutRowMajor, s->ta == 'N' ? CLBlastTransposeNo : CLBlastTransposeYes,
        s->tb == 'N' ? CLBlastTransposeNo : CLBlastTransposeYes, (size_t)s->m, (size_t)s->n,
        (size_t)s->k, 1.0f, x->a, 0, (size_t)gemm_lda(s), x->b, 0, (size_t)gemm_ldb(s), 0.0f,
        x->c, 0, (size_t)s->n, &x->queue, NULL);
    if (st != CLBlastSuccess) {
        static char msg[64];
        snprintf(msg, sizeof msg, "CLBlastSgemm returned status %d", (int)st);
        x->failed = msg;
    }
}

static void finish(void *p) {
    struct call_ctx *x = p;
    cl_int err = clFinish(x->queue);
    if (err != CL_SUCCESS && !x->failed) x->failed = "clFinish failed";
}

static void die(const char *what, cl_int err) {
    fprintf(stderr, "sgemm_clblast: %s: OpenCL error %d\n", what, (int)err);
    exit(1);
}

int main(int argc, char **argv) {
    struct gemm_opts o = gemm_parse(argc, argv);

    cl_uint nplat = 0, ndev = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &nplat);
    if (err != CL_SUCCESS || nplat == 0) {
        fprintf(stderr, "sgemm_clblast: no OpenCL platform (error %d); install an ICD such as pocl-opencl-icd\n",
                (int)err);
        return 1;
    }
    cl_platform_id plats[16];
    clGetPlatformIDs(nplat < 16 ? nplat : 16, plats, NULL);
    if ((cl_uint)o.platform >= nplat) {
        fprintf(stderr, "sgemm_clblast: platform %d of %u does not exist\n", o.platform, nplat);
        return 1;
    }
    cl_platform_id plat = plats[o.platform];
    err = clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
    if (err != CL_SUCCESS || (cl_uint)o.device >= ndev) {
        fprintf(stderr, "sgemm_clblast: platform %d has no device %d\n", o.platform, o.device);
        return 1;
    }
    cl_device_id devs[16];
    clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, ndev < 16 ? ndev : 16, devs, NULL);
    cl_device_id dev = devs[o.device];

    char pname[128] = "", dname[256] = "", device[400];
    clGetPlatformInfo(plat, CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof dname, dname, NULL);
    snprintf(device, sizeof device, "opencl:%d:%d %s / %s", o.platform, o.device, pname, dname);

    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    if (err != CL_SUCCESS) die("clCreateContext", err);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    if (err != CL_SUCCESS) die("clCreateCommandQueue", err);

    int bad = 0;
    for (int i = 0; i < GEMM_NSHAPES; i++) {
        const struct gemm_shape *s = &gemm_shapes[i];
        if (!gemm_wanted(&o, s)) continue;
        size_t sa = gemm_size_a(s) * sizeof(float), sb = gemm_size_b(s) * sizeof(float),
               sc = gemm_size_c(s) * sizeof(float);
        float *ha = malloc(sa), *hb = malloc(sb), *hc = malloc(sc);
        if (!ha || !hb || !hc) {
            fprintf(stderr, "sgemm_clblast: out of memory\n");
            return 1;
        }
        gemm_fill(ha, gemm_size_a(s), 1);
        gemm_fill(hb, gemm_size_b(s), 2);
        struct call_ctx x = {s, q, NULL, NULL, NULL, NULL};
        x.a = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sa, ha, &err);
        if (err != CL_SUCCESS) die("clCreateBuffer A", err);
        x.b = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sb, hb, &err);
        if (err != CL_SUCCESS) die("clCreateBuffer B", err);
        x.c = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sc, NULL, &err);
        if (err != CL_SUCCESS) die("clCreateBuffer C", err);

        struct gemm_timing t = gemm_time(call, finish, &x, &o);
        if (x.failed) {
            fprintf(stderr, "sgemm_clblast: %s: %s\n", s->name, x.failed);
            bad = 1;
        } else {
            err = clEnqueueReadBuffer(q, x.c, CL_TRUE, 0, sc, hc, 0, NULL, NULL);
            if (err != CL_SUCCESS) die("clEnqueueReadBuffer C", err);
            double check = gemm_check(s, ha, hb, hc);
            if (!(check < 1e-4)) {
                fprintf(stderr, "sgemm_clblast: %s: result off by %.2e (relative)\n", s->name, check);
                bad = 1;
            }
            gemm_print("clblast", device, 0, s, &t, check);
        }
        clReleaseMemObject(x.a);
        clReleaseMemObject(x.b);
        clReleaseMemObject(x.c);
        free(ha);
        free(hb);
        free(hc);
    }
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    return bad;
}
