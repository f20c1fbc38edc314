"""neuromorph.learning_rules"""
