"""neuromorph.sim.kernels"""
