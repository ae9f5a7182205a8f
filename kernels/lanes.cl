// lanes.cl: how every kernel finds its lane. No kernels. First file of every
// program.
//
// One launch serves the L lanes of a backend (device.Backend): grid
// dimension 2 is the lane (global size L, local size 1), as the batch index
// of CLBlast's XgemmStridedBatched. A buffer argument is three kernel
// arguments (BUF): the cl_mem, the element offset of the buffer within each
// lane's part (a view's offset; 0 for a whole buffer), and the lane stride
// in elements (0 for a shared buffer, which every lane reads). LANE_PTR
// moves the pointer to the lane's part, once, at the top of a kernel.
//
// The lanes' hyper-parameters (device.LaneParams, written by SetLanes) are
// two small buffers, read by lane: lane_u (LANE_U uints a lane: the dropout
// key, threshold and switch) and lane_f (LANE_F floats a lane: dropout
// scale, L1, L2, learning rate); the slots are kernels.Constants, rendered
// as -D options.
//
// The argument lists are declared once more, for the host, in
// kernels/contract.go (Signatures); a test compares the two through
// clGetKernelArgInfo.

#define BUF(T, name) __global T name, const long name##_off, const long name##_ls
#define LANE_ID ((long)get_global_id(2))
#define LANE_PTR(name) (name += name##_off + LANE_ID * name##_ls)
// LANE_PTR_OPT is LANE_PTR for an optional buffer (NULL stays NULL).
#define LANE_PTR_OPT(name) if (name) LANE_PTR(name)

#if !defined(LANE_U) || !defined(LANE_F) || !defined(LANE_SEED_LO) || !defined(LANE_SCALE)
#error "build with the options of kernels/contract.go (LANE_*)"
#endif
// LU(lane_u, slot) and LF(lane_f, slot): the lane's value of a slot.
#define LU(p, slot) ((p)[LANE_ID * LANE_U + (slot)])
#define LF(p, slot) ((p)[LANE_ID * LANE_F + (slot)])
