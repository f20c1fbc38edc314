"""neuromorph.sim"""
