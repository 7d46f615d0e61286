"""The programs containers run, one per image family (see README.md); each is a script."""
