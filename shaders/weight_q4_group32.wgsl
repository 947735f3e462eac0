// q4's group size: elements sharing one scale and zero point (shaders/weight_q4.wgsl). The format q4.
const q4_group_size = 32u;
