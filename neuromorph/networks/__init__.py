"""neuromorph.networks"""
