// q4's group size: elements sharing one scale and zero point (shaders/weight_q4.wgsl). The format
// q4g128, swapped in for weight_q4_group32 by weightIncludes.
const q4_group_size = 128u;
