"""What a trained model is made of: the feature encoders of the scikit-learn pipeline.

These classes are pickled inside every registered model, so they live in the installed
package and keep their import path stable.
"""
