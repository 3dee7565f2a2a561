# An example module: the updater installs this file as <module>/main/app.py.
def start():
    print("example module is running")
