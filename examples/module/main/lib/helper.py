# A file in a sub-directory, to show that the tree is kept.
def twice(x):
    return 2 * x
