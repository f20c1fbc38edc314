"""neuromorph.hardware_models"""
